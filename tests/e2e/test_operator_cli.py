"""Who the CLI writes as: never a shared login (``root`` ...), and someone else's exception
only with ``--take-over``. Every test runs as the login ``root`` (tests/conftest.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from patchdesk.cli import main
from patchdesk.domain import FailureClass
from patchdesk.store import exception_ops as ops
from patchdesk.store.db import open_database
from patchdesk.store.models import RemediationRecord
from tests.conftest import NOW
from tests.exception_seed import add_exception, seed_fleet

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"
HOW = (
    'give your name with --operator NAME, PATCHDESK_OPERATOR=NAME or operator = "NAME" '
    "in the config file"
)


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert captured.out == ""
    return lines[0]


@pytest.fixture
def url(migrated_url: str) -> str:
    database = open_database(migrated_url)
    seeded = seed_fleet(database)
    add_exception(database, seeded.devices["DC01"], FailureClass.INSTALL, opened_at=NOW)
    database.dispose()
    return migrated_url


def records(url: str) -> int:
    database = open_database(url)
    with database.session() as session:
        count = session.scalar(select(func.count()).select_from(RemediationRecord)) or 0
    database.dispose()
    return count


WRITES = [
    pytest.param(["exceptions", "ack", "1"], id="ack"),
    pytest.param(["exceptions", "note", "1", "called"], id="note"),
    pytest.param(["exceptions", "escalate", "1", "--to", "tier 2"], id="escalate"),
    pytest.param(["exceptions", "resolve", "1", "--note", "ok"], id="resolve"),
    pytest.param(["exceptions", "assign", "1", "bob"], id="assign"),
    pytest.param(["remediate", "1", "--action", "free_disk"], id="remediate"),
    pytest.param(["approvals", "approve", "--client", "acme", "KB5044281"], id="approve"),
    pytest.param(["approvals", "blocklist", "add", "KB1", "--reason", "bad"], id="blocklist"),
    pytest.param(["policy", "apply", str(EXAMPLES)], id="policy-apply"),
    pytest.param(["exclusions", "lift", "1"], id="exclusions-lift"),
]


@pytest.mark.parametrize("argv", WRITES)
def test_a_write_as_the_root_login_is_refused_in_one_line(
    url: str, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    before = records(url)
    assert run(["--db", url, *argv]) == 2
    assert one_line_error(capsys) == (
        f"patchdesk: who is acting? 'root' is a shared login, not a person: {HOW}"
    )
    assert records(url) == before


@pytest.mark.parametrize("name", ["root", "Administrator", " ADMIN "])
def test_an_explicit_shared_login_is_refused_too(
    url: str, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """``--operator root``: root is not a person either (case and spaces ignored)."""
    assert run(["--db", url, "--operator", name, "exceptions", "ack", "1"]) == 2
    assert one_line_error(capsys) == (
        f"patchdesk: who is acting? {name.strip()!r} is a shared login, not a person: {HOW}"
    )
    assert records(url) == 0


def test_the_name_from_the_environment_or_the_config_file(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATCHDESK_OPERATOR", "carol")
    assert run(["--db", url, "exceptions", "ack", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["owner"] == "carol"
    monkeypatch.delenv("PATCHDESK_OPERATOR")
    config = tmp_path / "config.toml"
    config.write_text('operator = "dave"\n')
    monkeypatch.setenv("PATCHDESK_CONFIG", str(config))
    assert run(["--db", url, "exceptions", "note", "1", "looked at it"]) == 2
    assert one_line_error(capsys) == (
        "patchdesk: exception 1 is owned by carol: add --take-over to take it over "
        "(the take-over is logged)"
    )


def test_shared_logins_is_a_setting(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The list replaces the default one: here ``nocdesk`` is shared, root is not listed."""
    config = tmp_path / "config.toml"
    config.write_text('shared_logins = ["nocdesk", "Kiosk"]\n')
    monkeypatch.setenv("PATCHDESK_CONFIG", str(config))
    monkeypatch.setenv("LOGNAME", "nocdesk")
    assert run(["--db", url, "exceptions", "ack", "1"]) == 2
    assert "'nocdesk' is a shared login" in one_line_error(capsys)
    assert run(["--db", url, "--operator", "kiosk", "exceptions", "ack", "1"]) == 2
    assert "'kiosk' is a shared login" in one_line_error(capsys)
    monkeypatch.setenv("PATCHDESK_SHARED_LOGINS", '["nocdesk"]')
    assert run(["--db", url, "--operator", "kiosk", "exceptions", "ack", "1"]) == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["exceptions"],
        ["exceptions", "show", "1"],
        ["exceptions", "export"],
        ["audit", "verify"],
        ["handover"],
        ["approvals"],
    ],
)
def test_reading_needs_no_name(
    url: str, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert run(["--db", url, *argv]) == 0
    assert "who is acting" not in capsys.readouterr().err


def test_someone_elses_exception_needs_take_over(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused without ``--take-over`` (exit 2, one line, nothing written); with it, the
    take-over is a record of its own before the action's."""
    database = open_database(url)
    ops.acknowledge(database, 1, "alice", now=NOW)
    database.dispose()
    bob = ["--db", url, "--operator", "bob"]
    refusal = (
        "patchdesk: exception 1 is owned by alice: add --take-over to take it over "
        "(the take-over is logged)"
    )
    for argv in (
        ["remediate", "1", "--action", "free_disk"],
        ["exceptions", "resolve", "1", "--note", "ok"],
        ["exceptions", "escalate", "1"],
        ["exceptions", "note", "1", "x"],
    ):
        assert run([*bob, *argv]) == 2
        assert one_line_error(capsys) == refusal
    assert run([*bob, "exceptions", "ack", "1"]) == 2
    assert one_line_error(capsys) == "patchdesk: exception 1 is already acknowledged by alice"
    assert records(url) == 1
    argv = ["remediate", "1", "--action", "free_disk", "--note", "12 GB", "--take-over"]
    assert run([*bob, *argv]) == 0
    assert capsys.readouterr().out.strip() == (
        "exception 1: free_disk logged (done) (taken over from alice)"
    )
    assert run(["--db", url, "exceptions", "show", "1", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)["history"]
    assert [(h["action"], h["operator"], h["note"]) for h in history] == [
        ("acknowledge", "alice", ""),
        ("take_over", "bob", "from alice"),
        ("remediate:free_disk", "bob", "12 GB"),
    ]
    assert run(["--db", url, "--operator", "alice", "exceptions", "ack", "1", "--take-over"]) == 0
    assert capsys.readouterr().out.strip() == "exception 1 taken over from bob: yours now"


def test_escalate_names_its_target(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--db", url, "--operator", "alice", "exceptions", "escalate", "1"]
    assert run([*argv, "--to", "network team", "--note", "switch port dead"]) == 0
    assert capsys.readouterr().out.strip() == "exception 1 escalated to network team (yours now)"
    assert run(["--db", url, "exceptions", "show", "1", "--json"]) == 0
    detail = json.loads(capsys.readouterr().out)
    assert detail["history"][-1]["note"] == "to network team: switch port dead"
    assert detail["exception"]["owner"] == "alice"


def test_show_says_stale_for_an_online_device_not_seen_for_hours(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # DC01 checked in at NOW - 5 min: online then, stale 8 hours later.
    later = (NOW + timedelta(hours=8)).isoformat()
    assert run(["--db", url, "exceptions", "show", "1", "--json", "--now", later]) == 0
    assert json.loads(capsys.readouterr().out)["device"]["status"] == "stale"
    assert run(["--db", url, "exceptions", "show", "1", "--now", later]) == 0
    device_line = next(
        line for line in capsys.readouterr().out.splitlines() if "device" in line.split()[:1]
    )
    assert "; stale, last seen" in device_line
    assert run(["--db", url, "exceptions", "show", "1", "--json", "--now", NOW.isoformat()]) == 0
    assert json.loads(capsys.readouterr().out)["device"]["status"] == "online"
    # A longer threshold (the setting) keeps it online.
    monkeypatch.setenv("PATCHDESK_STALE_AFTER_MINUTES", str(9 * 60))
    assert run(["--db", url, "exceptions", "show", "1", "--json", "--now", later]) == 0
    assert json.loads(capsys.readouterr().out)["device"]["status"] == "online"
