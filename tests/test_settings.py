"""Settings: defaults, the TOML config file, PATCHDESK_* variables, CLI overrides."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from patchdesk.cli import main
from patchdesk.settings import load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("USER", "nocbob")
    monkeypatch.setenv("LOGNAME", "nocbob")
    settings = load_settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("patchdesk.db")
    assert settings.operator == "nocbob"
    assert settings.connector.kind == "simulator"
    assert settings.theme == "noc-dark"


def test_config_file_then_environment_then_overrides(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'database_url = "sqlite:////srv/pd.db"\noperator = "alice"\ntheme = "light"\n'
        '[connector]\nkind = "tactical"\n[connector.tactical]\nurl = "https://rmm.example"\n'
    )
    monkeypatch.setenv("PATCHDESK_CONFIG", str(config))
    settings = load_settings()
    assert settings.database_url == "sqlite:////srv/pd.db"
    assert settings.operator == "alice"
    assert settings.connector.kind == "tactical"
    assert settings.connector.tactical.url == "https://rmm.example"

    monkeypatch.setenv("PATCHDESK_OPERATOR", "carol")
    monkeypatch.setenv("PATCHDESK_CONNECTOR__TACTICAL__API_KEY", "s3cret")
    settings = load_settings()
    assert settings.operator == "carol"
    assert settings.connector.tactical.api_key is not None
    assert "s3cret" not in repr(settings)

    settings = load_settings(operator="dave", database_url=None)
    assert settings.operator == "dave"
    assert settings.database_url == "sqlite:////srv/pd.db"


def test_explicit_config_path(tmp_path: Path) -> None:
    config = tmp_path / "other.toml"
    config.write_text('operator = "erin"\n')
    assert load_settings(config).operator == "erin"


def test_bad_config_exits_2_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('operatr = "typo"\n[connector]\nkind = "ninja"\n')
    monkeypatch.setenv("PATCHDESK_CONFIG", str(config))
    with pytest.raises(SystemExit) as exit_info:
        main(["db", "upgrade"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "configuration: operatr:" in err
    assert "configuration: connector.kind:" in err
    assert "Traceback" not in err


def test_engine_settings_map_to_the_engine_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from patchdesk.cli.engine import engine_config

    config = tmp_path / "config.toml"
    config.write_text("[engine]\ninstall_retries = 0\nobservation_hours = 48\n")
    monkeypatch.setenv("PATCHDESK_CONFIG", str(config))
    monkeypatch.setenv("PATCHDESK_ENGINE__REBOOT_TIMEOUT_MINUTES", "45")
    engine = engine_config(load_settings().engine)
    assert engine.install_retries == 0
    assert engine.observation_period == timedelta(hours=48)
    assert engine.reboot_timeout == timedelta(minutes=45)
    assert engine.retry_min_remaining == timedelta(minutes=30)


def test_reports_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Unset or blank: None (the Reports screen writes to the current directory); ``~``
    expands; the config file and the environment both set it."""
    assert load_settings().reports_dir is None
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATCHDESK_REPORTS_DIR", "~/reports")
    assert load_settings().reports_dir == tmp_path / "reports"
    monkeypatch.setenv("PATCHDESK_REPORTS_DIR", "  ")
    assert load_settings().reports_dir is None
    monkeypatch.delenv("PATCHDESK_REPORTS_DIR")
    config = tmp_path / "config.toml"
    config.write_text('reports_dir = "/srv/noc/reports"\n')
    monkeypatch.setenv("PATCHDESK_CONFIG", str(config))
    assert load_settings().reports_dir == Path("/srv/noc/reports")


def test_stale_threshold_is_twice_the_checkin_interval_unless_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    assert load_settings().stale_after() == timedelta(minutes=30)
    monkeypatch.setenv("PATCHDESK_CHECKIN_INTERVAL_MINUTES", "60")
    assert load_settings().stale_after() == timedelta(hours=2)
    monkeypatch.setenv("PATCHDESK_STALE_AFTER_MINUTES", "45")
    assert load_settings().stale_after() == timedelta(minutes=45)


def test_report_settings_from_the_file_and_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert load_settings().report.msp_name == ""
    config = tmp_path / "config.toml"
    config.write_text(
        '[report]\nmsp_name = "Harbour IT"\ncontact = " noc@harbour.example "\n'
        'logo_text = "HARBOUR"\n'
    )
    monkeypatch.setenv("PATCHDESK_CONFIG", str(config))
    report = load_settings().report
    assert (report.msp_name, report.contact, report.logo_text) == (
        "Harbour IT",
        "noc@harbour.example",
        "HARBOUR",
    )
    monkeypatch.setenv("PATCHDESK_REPORT__MSP_NAME", "Kessler IT")
    assert load_settings().report.msp_name == "Kessler IT"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('msp_name = "Harbour\\nIT"', "report.msp_name"),
        ('contact = "call \\u001b[31m"', "report.contact"),
        ('logo_text = "\\u202eTI"', "report.logo_text"),
        ('msp_nme = "typo"', "report.msp_nme"),
    ],
)
def test_bad_report_settings_exit_2_naming_the_field(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    line: str,
    field: str,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[report]\n{line}\n")
    monkeypatch.setenv("PATCHDESK_CONFIG", str(config))
    with pytest.raises(SystemExit) as exit_info:
        main(["db", "upgrade"])
    assert exit_info.value.code == 2
    assert f"configuration: {field}:" in capsys.readouterr().err
