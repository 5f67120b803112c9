"""Bad paths and configuration: a missing database is refused by every command that does not
create one (and nothing is created), near-URLs never become files, a named config file must
exist."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from patchdesk.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
INVENTORY = EXAMPLES / "inventory" / "harbour-dental.csv"
MISSING_PATCHES = EXAMPLES / "inventory" / "missing-patches.csv"


@pytest.fixture(autouse=True)
def no_terminal_ui(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> list[object]:
    """A UI that would open records itself instead of taking the terminal (and logs nowhere)."""
    from patchdesk.app import PatchdeskApp
    from patchdesk.cli import tui

    opened: list[object] = []
    log = tmp_path_factory.mktemp("log") / "tui.log"
    monkeypatch.setattr(PatchdeskApp, "run", lambda app, **_: opened.append(app))
    monkeypatch.setattr(tui, "_log_to_file", lambda: log)
    return opened


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


def tree(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


# Every command that reads, or acts on what a database already holds.
NEEDS_A_DATABASE = [
    pytest.param([], id="ui"),
    pytest.param(["--readonly"], id="ui-readonly"),
    pytest.param(["exceptions"], id="exceptions"),
    pytest.param(["exceptions", "show", "1"], id="exceptions-show"),
    pytest.param(["exceptions", "ack", "1"], id="exceptions-ack"),
    pytest.param(["exceptions", "export", "--format", "csv"], id="exceptions-export"),
    pytest.param(["remediate", "1", "--action", "note", "--note", "x"], id="remediate"),
    pytest.param(["handover"], id="handover"),
    pytest.param(["metrics"], id="metrics"),
    pytest.param(["report", "cycle", "--client", "c", "--format", "md"], id="report"),
    pytest.param(["windows"], id="windows"),
    pytest.param(["approvals"], id="approvals"),
    pytest.param(["approvals", "approve", "--client", "c", "KB1", "--reason", "r"], id="approve"),
    pytest.param(["approvals", "blocklist"], id="blocklist"),
    pytest.param(["approvals", "blocklist", "add", "KB1", "--reason", "r"], id="blocklist-add"),
    pytest.param(["audit", "verify"], id="audit-verify"),
    pytest.param(["exclusions"], id="exclusions"),
    pytest.param(["exclusions", "lift", "1"], id="exclusions-lift"),
    pytest.param(["policy", "export", "--client", "c"], id="policy-export"),
    pytest.param(["db", "backup", "{out}/copy.db"], id="db-backup"),
    pytest.param(["inventory", "import", str(INVENTORY)], id="inventory-import"),
    pytest.param(["inventory", "patches", str(MISSING_PATCHES)], id="inventory-patches"),
    pytest.param(["engine", "--once"], id="engine"),
]


@pytest.mark.parametrize("argv", NEEDS_A_DATABASE)
@pytest.mark.parametrize("directory", ["exists", "missing"])
def test_a_missing_database_is_refused_and_nothing_is_created(
    argv: list[str],
    directory: str,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path_factory.mktemp("out")
    workdir = tmp_path / "work"
    workdir.mkdir()
    path = workdir / "patchdesk.db" if directory == "exists" else workdir / "typo" / "pd.db"
    argv = [arg.replace("{out}", str(out)) for arg in argv]
    assert run(["--db", str(path), *argv]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"patchdesk: no patchdesk database at {path} (policy apply or db upgrade creates one)\n"
    )
    assert tree(workdir) == []
    assert tree(out) == []


def test_a_configured_database_that_is_missing_is_refused_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database named by the environment or the config file is a name that can be
    mistyped as well."""
    path = tmp_path / "srv" / "patchdesk.db"
    monkeypatch.setenv("PATCHDESK_DATABASE_URL", f"sqlite:///{path}")
    assert run(["exceptions"]) == 2
    assert f"no patchdesk database at {path}" in capsys.readouterr().err
    assert run([]) == 2  # the UI as well
    assert tree(tmp_path) == []


def _data_dir(home: Path) -> Path:
    return home / "data" / "patchdesk"


def test_the_default_database_is_created_by_the_ui_only(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_terminal_ui: list[object],
) -> None:
    """A first-time user: reading commands say there is no database yet (and create none);
    `patchdesk` (the UI) creates the default one in the user data directory."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    default = _data_dir(tmp_path) / "patchdesk.db"
    assert run(["exceptions"]) == 2
    assert f"no patchdesk database at {default}" in capsys.readouterr().err
    assert run(["--readonly"]) == 2  # a read-only UI writes nothing, a database included
    capsys.readouterr()
    assert not (tmp_path / "data").exists()

    assert run([]) == 0
    assert len(no_terminal_ui) == 1
    assert default.is_file()
    assert run(["exceptions", "--json"]) == 0
    assert capsys.readouterr().out == "[]\n"


def test_creating_commands_create_a_database_in_an_existing_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upgraded = tmp_path / "upgraded.db"
    assert run(["--db", str(upgraded), "db", "upgrade"]) == 0
    applied = tmp_path / "applied.db"
    argv = ["--db", str(applied), "--operator", "alice", "policy", "apply"]
    assert run([*argv, str(EXAMPLES / "policies")]) == 0
    simulated = tmp_path / "simulated.db"
    argv = ["simulate", "--clients", "1", "--devices", "4", "--days", "0.05"]
    argv += ["--start", "2026-11-10T00:00Z", "--db", str(simulated)]
    assert run(argv) == 0
    capsys.readouterr()
    assert [p.is_file() for p in (upgraded, applied, simulated)] == [True, True, True]
    assert run(["--db", str(applied), "exceptions", "--json"]) == 0


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--db", "{dir}/typo/x.db", "db", "upgrade"], id="db-upgrade"),
        pytest.param(
            ["--db", "{dir}/typo/x.db", "policy", "apply", str(EXAMPLES / "policies")],
            id="policy-apply",
        ),
        pytest.param(["simulate", "--days", "0.01", "--db", "{dir}/typo/x.db"], id="simulate"),
        pytest.param(["demo", "--db", "{dir}/typo/x.db"], id="demo"),
    ],
)
def test_creating_commands_make_no_directory_for_a_named_database(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([arg.replace("{dir}", str(tmp_path)) for arg in argv]) == 2
    path = tmp_path / "typo" / "x.db"
    assert capsys.readouterr().err == (
        f"patchdesk: no directory {path.parent} for the database {path}\n"
    )
    assert tree(tmp_path) == []


# --- --db values ----------------------------------------------------------------------------

NEAR_URLS = [
    "sqlite:/x.db",
    "sqlite:x.db",
    "sqlite//x.db",
    "sqlite:",
    "postgresql:/patchdesk",
    "Sqlite+pysqlite//x.db",
]


@pytest.mark.parametrize("value", NEAR_URLS)
@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--db", "{v}", "exceptions"], id="global-read"),
        pytest.param(["--db", "{v}", "db", "upgrade"], id="global-create"),
        pytest.param(["--db", "{v}"], id="global-ui"),
        pytest.param(["handover", "--db", "{v}"], id="after-subcommand"),
        pytest.param(["simulate", "--days", "0.01", "--db", "{v}"], id="simulate"),
        pytest.param(["demo", "--db", "{v}"], id="demo"),
        pytest.param(["--db", "{v}", "demo"], id="demo-global"),
    ],
)
def test_near_urls_are_refused_and_never_become_files(
    value: str,
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run([arg.replace("{v}", value) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"patchdesk: --db {value!r} is not a database URL: use sqlite:///PATH")
    assert err.count("\n") == 1
    assert tree(tmp_path) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "postgres://u:secret@db/pd",
            "unsupported database 'postgres' in 'postgres://u:***@db/pd'",
        ),
        ("mysql://x/y", "unsupported database 'mysql'"),
        ("sqlite://x.db", "'sqlite://x.db' names a host: a SQLite URL is sqlite:///PATH"),
        ("", "--db is empty"),
    ],
)
def test_bad_urls_are_bad_input_naming_the_value(
    value: str,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(["--db", value, "exceptions"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "secret" not in err
    assert err.count("\n") == 1
    assert tree(tmp_path) == []


@pytest.mark.parametrize(
    ("value", "url", "database"),
    [
        ("patchdesk.db", "sqlite:///patchdesk.db", "patchdesk.db"),
        ("/srv/noc/pd.db", "sqlite:////srv/noc/pd.db", "/srv/noc/pd.db"),
        ("sqlite/pd.db", "sqlite:///sqlite/pd.db", "sqlite/pd.db"),  # a directory "sqlite"
        ("./odd:name.db", "sqlite:///odd%3Aname.db", "odd:name.db"),
        ("/tmp/what?.db", "sqlite:////tmp/what%3F.db", "/tmp/what?.db"),
        ("sqlite:///pd.db", "sqlite:///pd.db", "pd.db"),
        ("postgresql+psycopg://u@db/pd", "postgresql+psycopg://u@db/pd", "pd"),
    ],
)
def test_db_values_are_a_url_or_else_a_path(value: str, url: str, database: str) -> None:
    """A path becomes the URL of that very file (SQLAlchemy reads the same path back)."""
    from patchdesk.store.db import database_url_from

    assert database_url_from(value) == url
    assert make_url(url).database == database


def test_the_parser_names_where_the_value_came_from() -> None:
    from patchdesk.store.db import BadDatabaseUrl, database_url_from

    with pytest.raises(BadDatabaseUrl, match=r"^simulate --db 'sqlite:x' is not a database URL"):
        database_url_from("sqlite:x", "simulate --db")


# --- config files ---------------------------------------------------------------------------


def test_a_missing_config_file_given_with_config_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.toml"
    assert run(["--config", str(missing), "--db", str(tmp_path / "x.db"), "db", "upgrade"]) == 2
    assert capsys.readouterr().err == f"patchdesk: --config: no config file at {missing}\n"
    assert tree(tmp_path) == []


def test_a_missing_config_file_named_by_the_environment_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.toml"
    monkeypatch.setenv("PATCHDESK_CONFIG", str(missing))
    assert run(["--db", str(tmp_path / "x.db"), "db", "upgrade"]) == 2
    assert capsys.readouterr().err == f"patchdesk: $PATCHDESK_CONFIG: no config file at {missing}\n"
    assert tree(tmp_path) == []
    present = tmp_path / "config.toml"
    present.write_text('operator = "erin"\n')
    monkeypatch.setenv("PATCHDESK_CONFIG", str(present))
    assert run(["--db", str(tmp_path / "x.db"), "db", "upgrade"]) == 0


def test_the_default_config_file_may_be_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PATCHDESK_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert run(["--db", str(tmp_path / "x.db"), "db", "upgrade"]) == 0
