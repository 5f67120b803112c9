"""``patchdesk exceptions`` and ``patchdesk remediate`` as a technician or a script runs them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from patchdesk.cli import main
from patchdesk.domain import Criticality, FailureClass, OsFamily, Role, Tier
from patchdesk.rules.response_paths import actions_for
from patchdesk.store.db import open_database
from patchdesk.store.models import Client, Device, Patch, PatchException
from patchdesk.text import is_hidden
from tests.conftest import NOW
from tests.exception_seed import DEVICES, add_exception, seed_fleet
from tests.triage_order import TriageItem, sort_queue

AT = "2026-11-27T14:00:00Z"  # NOW
HOSTILE = "[bold red]HOST[/]\x1b[2J"

KEYS = {
    "id",
    "tier",
    "tier_label",
    "class",
    "state",
    "client",
    "client_name",
    "device_id",
    "device",
    "role",
    "criticality",
    "patches",
    "summary",
    "owner",
    "opened_at",
    "age_seconds",
    "acknowledged_at",
    "escalated_at",
    "resolved_at",
    "reopened_count",
    "last_action",
    "last_action_at",
}


@dataclass
class Msp:
    url: str
    ids: dict[tuple[str, FailureClass], int]  # (hostname, class) -> exception id
    order: list[int]  # every unresolved exception in triage order
    patches: dict[str, int]


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


@pytest.fixture
def msp(migrated_url: str) -> Msp:
    """Two clients; every role and tier; every class on every device of acme; ages differ."""
    database = open_database(migrated_url)
    seeded = seed_fleet(database)
    with database.session() as session:
        session.add(
            Client(
                id="kessler",
                name="Kessler Engineering",
                timezone="Europe/Berlin",
                sla_tier="silver",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        session.flush()
        for hostname, role, criticality in (
            ("KE-DC01", Role.SERVER, Criticality.CRITICAL),
            (HOSTILE, Role.SINGLE_USER, Criticality.STANDARD),
        ):
            device = Device(
                client_id="kessler",
                hostname=hostname,
                role=role,
                criticality=criticality,
                os_family=OsFamily.WINDOWS,
                created_at=NOW,
                updated_at=NOW,
            )
            session.add(device)
            session.flush()
            seeded.devices[hostname] = device.id
    ids: dict[tuple[str, FailureClass], int] = {}
    kb = seeded.patches["KB5044281"]
    for n, hostname in enumerate(DEVICES):
        for m, failure_class in enumerate(FailureClass):
            ids[hostname, failure_class] = add_exception(
                database,
                seeded.devices[hostname],
                failure_class,
                opened_at=NOW - timedelta(hours=1 + n + m),
                patch_ids=[kb] if failure_class is not FailureClass.REGRESSION else [kb, kb + 1],
            )
    # older than DC01's offline exception: same tier and class, so it comes first
    ids["KE-DC01", FailureClass.OFFLINE] = add_exception(
        database,
        seeded.devices["KE-DC01"],
        FailureClass.OFFLINE,
        opened_at=NOW - timedelta(days=2),
        summary="no check-in since the window",
    )
    ids[HOSTILE, FailureClass.INSTALL] = add_exception(
        database,
        seeded.devices[HOSTILE],
        FailureClass.INSTALL,
        opened_at=NOW - timedelta(minutes=5),
        summary="error \x1b]0;pwned\x07 0x80070005",
    )
    with database.session() as session:
        rows = session.query(PatchException).all()
        order = [
            item.id
            for item in sort_queue(
                TriageItem(r.id, r.tier, r.failure_class, r.opened_at) for r in rows
            )
        ]
    database.dispose()
    return Msp(migrated_url, ids, order, seeded.patches)


def listing(msp: Msp, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict[str, Any]]:
    assert run(["--db", msp.url, "exceptions", "--json", "--now", AT, *extra]) == 0
    document = json.loads(capsys.readouterr().out)
    assert isinstance(document, list)
    return document


def act(msp: Msp, capsys: pytest.CaptureFixture[str], *argv: str, who: str = "alice") -> int:
    code = run(["--db", msp.url, "--operator", who, *argv])
    return code


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert captured.out == ""
    return lines[0]


# --- the listing ----------------------------------------------------------------------------


def test_queue_in_triage_order_as_json(msp: Msp, capsys: pytest.CaptureFixture[str]) -> None:
    rows = listing(msp, capsys)
    assert [row["id"] for row in rows] == msp.order
    assert all(set(row) == KEYS for row in rows)
    # tier, then class (offline, regression, reboot, install, missed), then oldest first
    assert [(row["tier"], row["class"], row["device"]) for row in rows[:7]] == [
        (1, "offline", "KE-DC01"),
        (1, "offline", "DC01"),
        (1, "regression", "DC01"),
        (1, "reboot", "DC01"),
        (1, "install", "DC01"),
        (1, "missed", "DC01"),
        (2, "offline", "APP02"),
    ]
    first = rows[1]
    assert first["tier_label"] == "critical server"
    assert (first["client"], first["client_name"], first["role"]) == (
        "acme",
        "Acme Dental",
        "server",
    )
    assert first["patches"] == ["KB5044281"]
    assert first["age_seconds"] == 4 * 3600
    assert first["opened_at"] == "2026-11-27T10:00:00+00:00"
    assert (first["owner"], first["state"], first["last_action"]) == (
        None,
        "open",
        "opened by engine",
    )
    hostile = next(row for row in rows if row["client"] == "kessler" and row["tier"] == 4)
    assert hostile["device"] == HOSTILE  # JSON carries the text as stored (escaped by JSON)


def test_table_columns_order_and_untrusted_text(
    msp: Msp, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--db", msp.url, "exceptions", "--now", AT]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\x07" not in out
    lines = out.splitlines()
    assert lines[0].split() == [
        "ID",
        "TIER",
        "CLIENT",
        "DEVICE",
        "ROLE",
        "CLASS",
        "PATCHES",
        "AGE",
        "OWNER",
        "STATE",
        "LAST",
        "ACTION",
    ]
    body = lines[1 : 1 + len(msp.order)]
    assert [int(line.split()[0]) for line in body] == msp.order
    hostile = next(line for line in body if "HOST" in line)
    assert "[bold red]HOST[/][2J" in hostile  # literal text, the ESC gone
    assert "KB5044281,KB5044999" in out  # a regression names both patches
    dc01_offline = body[1].split()
    assert dc01_offline[1:8] == ["1", "acme", "DC01", "server", "offline", "KB5044281", "4h00m"]
    assert dc01_offline[8:10] == ["-", "open"]
    assert lines[-1] == f"{len(msp.order)} exceptions"


def test_filters(msp: Msp, capsys: pytest.CaptureFixture[str]) -> None:
    assert {row["tier"] for row in listing(msp, capsys, "--tier", "2")} == {2}
    assert {row["class"] for row in listing(msp, capsys, "--class", "regression")} == {"regression"}
    assert {row["client"] for row in listing(msp, capsys, "--client", "kessler")} == {"kessler"}
    assert [row["device"] for row in listing(msp, capsys, "--search", "no check-in")] == ["KE-DC01"]
    limited = listing(msp, capsys, "--limit", "3")
    assert [row["id"] for row in limited] == msp.order[:3]
    assert run(["--db", msp.url, "exceptions", "--limit", "3", "--now", AT]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"3 of {len(msp.order)} exceptions (--limit)"

    target = msp.ids["FRONTDESK", FailureClass.REBOOT]
    assert act(msp, capsys, "exceptions", "ack", str(target), who="alice") == 0
    resolved = msp.ids["APP02", FailureClass.INSTALL]
    assert act(msp, capsys, "exceptions", "resolve", str(resolved), "--note", "ok") == 0
    capsys.readouterr()
    assert [row["id"] for row in listing(msp, capsys, "--owner", "alice")] == [target]
    assert [row["id"] for row in listing(msp, capsys, "--state", "acknowledged")] == [target]
    assert run(["--db", msp.url, "--operator", "alice", "exceptions", "--mine", "--json"]) == 0
    assert [row["id"] for row in json.loads(capsys.readouterr().out)] == [target]
    unassigned = [row["id"] for row in listing(msp, capsys, "--unassigned")]
    assert target not in unassigned
    assert resolved not in unassigned
    assert len(unassigned) == len(msp.order) - 2
    everything = listing(msp, capsys, "--all")
    assert resolved in [row["id"] for row in everything]
    assert [row["id"] for row in listing(msp, capsys, "--state", "resolved")] == [resolved]
    assert run(["--db", msp.url, "exceptions", "--state", "escalated"]) == 0
    assert capsys.readouterr().out.strip() == "no exceptions match"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--client", "nope"], "unknown client 'nope' (known: acme, kessler)"),
        (["--state", "open", "--all"], "give --state or --all, not both"),
        (["--owner", "a", "--unassigned"], "give one of --owner, --mine, --unassigned"),
    ],
)
def test_listing_bad_input(
    msp: Msp, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert run(["--db", msp.url, "exceptions", *argv]) == 2
    assert one_line_error(capsys) == f"patchdesk: {message}"


# --- one exception and the remediate flow ---------------------------------------------------


def test_remediate_flow(msp: Msp, capsys: pytest.CaptureFixture[str]) -> None:
    exception_id = msp.ids["DC01", FailureClass.INSTALL]
    eid = str(exception_id)

    assert act(msp, capsys, "exceptions", "ack", eid) == 0
    assert capsys.readouterr().out.strip() == f"exception {eid} acknowledged: alice owns it"
    assert act(msp, capsys, "exceptions", "ack", eid, who="bob") == 2
    assert one_line_error(capsys) == f"patchdesk: exception {eid} is already acknowledged by alice"

    # a wrong action for the class: exit 2, naming the actions that are offered
    assert act(msp, capsys, "remediate", eid, "--action", "force_reboot") == 2
    error = one_line_error(capsys)
    assert error.startswith(
        "patchdesk: 'force_reboot' is not an action for install exceptions; choose one of: "
    )
    assert all(action.id in error for action in actions_for(FailureClass.INSTALL))
    assert act(msp, capsys, "remediate", eid) == 2
    assert "--action: required; for this install exception one of: retry_install" in (
        one_line_error(capsys)
    )

    assert act(msp, capsys, "remediate", eid, "--action", "retry_install", "--json") == 0
    queued = json.loads(capsys.readouterr().out)
    assert (queued["state"], queued["owner"], queued["action"]) == (
        "in_progress",
        "alice",
        "remediate:retry_install",
    )
    assert isinstance(queued["command"], int)
    assert act(msp, capsys, "remediate", eid, "--action", "retry_install") == 2
    assert "retry_install is already queued" in one_line_error(capsys)

    assert act(msp, capsys, "remediate", eid, "--resolve") == 2
    assert one_line_error(capsys).startswith("patchdesk: note: required")
    assert act(msp, capsys, "exceptions", "resolve", eid, "--note", "   ") == 2
    assert one_line_error(capsys).startswith("patchdesk: note: required")

    note = "installed from the MSU by hand"
    assert (
        act(
            msp, capsys, "remediate", eid, "--action", "manual_install", "--note", note, "--resolve"
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == (
        f"exception {eid}: manual_install logged (done); exception resolved"
    )
    assert act(msp, capsys, "exceptions", "show", eid, "--json", "--now", AT) == 0
    detail = json.loads(capsys.readouterr().out)
    assert set(detail) == {
        "exception",
        "client",
        "device",
        "patches",
        "actions",
        "history",
        "commands",
    }
    assert set(detail["exception"]) == KEYS
    assert detail["exception"]["state"] == "resolved"
    assert [(h["action"], h["operator"]) for h in detail["history"]] == [
        ("acknowledge", "alice"),
        ("remediate:retry_install", "alice"),
        ("remediate:manual_install", "alice"),
        ("resolve", "alice"),
    ]
    assert detail["history"][-1]["note"] == note
    assert [(c["kind"], c["state"], c["requested_by"]) for c in detail["commands"]] == [
        ("retry_install", "queued", "alice")
    ]
    assert [a["id"] for a in detail["actions"]] == [a.id for a in actions_for(FailureClass.INSTALL)]
    engine = {a["id"]: a["engine_command"] for a in detail["actions"]}
    assert (engine["retry_install"], engine["free_disk"], engine["resolve"]) == (
        "retry_install",
        None,
        None,
    )
    assert detail["client"]["timezone"] == "America/New_York"

    assert act(msp, capsys, "exceptions", "reopen", eid, "--note", "failed again") == 0
    assert "reopened (once so far)" in capsys.readouterr().out
    assert run(["--db", msp.url, "audit", "verify"]) == 0
    assert "remediation log intact: 5 records verified" in capsys.readouterr().out


def test_engine_actions_with_a_patch(msp: Msp, capsys: pytest.CaptureFixture[str]) -> None:
    eid = str(msp.ids["DC01", FailureClass.REGRESSION])
    assert act(msp, capsys, "remediate", eid, "--action", "rollback_patch") == 2
    assert one_line_error(capsys) == (
        f"patchdesk: exception {eid} has 2 patches: choose the one for rollback_patch "
        "(KB5044281, KB5044999)"
    )
    assert act(msp, capsys, "remediate", eid, "--action", "rollback_patch", "--patch", "KB1") == 2
    assert one_line_error(capsys) == (
        f"patchdesk: --patch: 'KB1' is not one of exception {eid}'s patches (KB5044281, KB5044999)"
    )
    argv = ["remediate", eid, "--action", "block_patch_global", "--patch", "kb5044999"]
    assert act(msp, capsys, *argv) == 2
    assert "note: required for block_patch_global: it is the block's reason" in (
        one_line_error(capsys)
    )
    assert act(msp, capsys, *argv, "--note", "breaks the imaging software") == 0
    assert (
        act(msp, capsys, "remediate", eid, "--action", "rollback_patch", "--patch", "KB5044281")
        == 0
    )
    capsys.readouterr()
    assert act(msp, capsys, "exceptions", "show", eid, "--now", AT) == 0
    out = capsys.readouterr().out
    assert "block_patch KB5044999  queued  by alice" in out
    assert "rollback_patch KB5044281  queued  by alice" in out
    assert "rollback_patch       Roll back patch  [engine: rollback_patch]" in out


def test_show_text_and_untrusted_text(msp: Msp, capsys: pytest.CaptureFixture[str]) -> None:
    eid = str(msp.ids[HOSTILE, FailureClass.INSTALL])
    assert act(msp, capsys, "exceptions", "note", eid, "called [link]user[/link]\x1b[31m") == 0
    capsys.readouterr()
    assert act(msp, capsys, "exceptions", "show", eid, "--now", AT) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "[bold red]HOST[/][2J" in out
    assert "called [link]user[/link][31m" in out
    # the note made alice its owner (acting on an unowned exception takes it)
    assert f"exception {eid}: install, tier 4 (single-user endpoint), acknowledged" in out
    assert "opened    2026-11-27 13:55 UTC (5m ago)" in out


SPOOF_HOST = "srv\u202egpj.exe"  # reads "srvexe.jpg" on a terminal that honours bidi
SPOOF_TITLE = "Security\u200b Update\u2066 for\u00ad Windows"
SPOOF_NOTE = "called\u2028the\ufeff user\u200e"


def hidden(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in text if is_hidden(c)]


def test_spoofing_characters_are_shown_as_code_points(
    msp: Msp, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Bidi and zero-width characters in a hostname, a patch title, a summary and a note
    reach no output raw: the text listing and ``show`` name them ``<U+XXXX>``; JSON and the
    exported log keep the exact text, JSON-escaped."""
    eid = msp.ids["DC01", FailureClass.INSTALL]
    database = open_database(msp.url)
    with database.session() as session:
        exception = session.get(PatchException, eid)
        assert exception is not None
        exception.summary = "error\u202e 0x80070005"
        device = session.get(Device, exception.device_id)
        assert device is not None
        device.hostname = SPOOF_HOST
        patch = session.get(Patch, msp.patches["KB5044281"])
        assert patch is not None
        patch.title = SPOOF_TITLE
    database.dispose()
    assert act(msp, capsys, "exceptions", "note", str(eid), SPOOF_NOTE) == 0
    capsys.readouterr()

    assert run(["--db", msp.url, "exceptions", "--now", AT]) == 0
    out = capsys.readouterr().out
    assert hidden(out) == []
    assert "srv<U+202E>gpj.exe" in out

    assert act(msp, capsys, "exceptions", "show", str(eid), "--now", AT) == 0
    out = capsys.readouterr().out
    assert hidden(out) == []
    assert "  device    srv<U+202E>gpj.exe (server, critical" in out
    assert "  summary   error<U+202E> 0x80070005" in out
    assert "Security<U+200B> Update<U+2066> for<U+00AD> Windows" in out
    assert "called<U+2028>the<U+FEFF> user<U+200E>" in out

    assert act(msp, capsys, "exceptions", "show", str(eid), "--json", "--now", AT) == 0
    out = capsys.readouterr().out
    assert hidden(out) == []
    shown = json.loads(out)
    assert shown["device"]["hostname"] == SPOOF_HOST  # the data, exact
    assert shown["patches"][0]["title"] == SPOOF_TITLE
    assert shown["history"][-1]["note"] == SPOOF_NOTE

    for fmt in ("csv", "json"):
        target = tmp_path / f"log.{fmt}"
        argv = ["--db", msp.url, "exceptions", "export", "--format", fmt]
        assert run(argv) == 0
        out = capsys.readouterr().out
        assert hidden(out) == [], fmt
        assert run([*argv, "-o", str(target)]) == 0
        assert hidden(target.read_text(encoding="utf-8")) == [], fmt
    assert "srv<U+202E>gpj.exe" in (tmp_path / "log.csv").read_text(encoding="utf-8")
    exported = json.loads((tmp_path / "log.json").read_text(encoding="utf-8"))
    assert SPOOF_HOST in [entry["device"] for entry in exported["exceptions"]]


def test_unknown_ids_and_other_refusals(msp: Msp, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["exceptions", "show", "999"],
        ["exceptions", "ack", "999"],
        ["remediate", "999", "--action", "retry_install"],
        ["exceptions", "resolve", "999", "--note", "x"],
    ):
        assert act(msp, capsys, *argv) == 2
        assert one_line_error(capsys) == "patchdesk: no exception with id 999"
    eid = str(msp.ids["LAPTOP-ANNA", FailureClass.OFFLINE])
    assert act(msp, capsys, "exceptions", "release", eid) == 2
    assert one_line_error(capsys) == f"patchdesk: exception {eid} is not owned by anyone"
    assert act(msp, capsys, "exceptions", "assign", eid, "bob") == 0
    capsys.readouterr()
    assert act(msp, capsys, "exceptions", "escalate", eid, "--note", "site closed") == 2
    assert one_line_error(capsys) == (
        f"patchdesk: exception {eid} is owned by bob: add --take-over to take it over "
        "(the take-over is logged)"
    )
    argv = ["exceptions", "escalate", eid, "--note", "site closed", "--take-over"]
    assert act(msp, capsys, *argv) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"exception {eid} escalated (taken over from bob)",
    ]
    assert act(msp, capsys, "exceptions", "reopen", eid, "--note", "x") == 2
    assert one_line_error(capsys) == f"patchdesk: exception {eid} is not resolved (it is escalated)"
    rows = listing(msp, capsys, "--state", "escalated")
    assert [(row["id"], row["owner"]) for row in rows] == [(int(eid), "alice")]
    assert rows[0]["tier"] == int(Tier.SINGLE_USER.value)


# --- a simulated database (the demo) ------------------------------------------------------


def _record_simulated_runner(url: str, at: str, *, simulated: bool = True) -> None:
    """What the demo's live runner writes after each step."""
    from patchdesk.engine import state
    from patchdesk.engine.live import RUNNER_KEY

    database = open_database(url)
    with database.writer() as session:
        state.write(session, RUNNER_KEY, {"at": at, "simulated": simulated}, NOW)
    database.dispose()


def test_simulated_database_uses_its_own_clock(
    msp: Msp, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's clock runs ahead of the real one: the listing's ages and an action's
    timestamp follow the clock recorded in the database, and stderr says so."""
    _record_simulated_runner(msp.url, "2026-11-27T16:00:00+00:00")
    assert run(["--db", msp.url, "exceptions", "--json"]) == 0
    captured = capsys.readouterr()
    assert "simulated database" in captured.err
    assert "2026-11-27 16:00 UTC" in captured.err
    rows = json.loads(captured.out)
    first = next(row for row in rows if row["device"] == "DC01" and row["class"] == "offline")
    assert first["age_seconds"] == 6 * 3600  # opened 10:00, simulated clock 16:00

    exception_id = first["id"]
    assert act(msp, capsys, "exceptions", "ack", str(exception_id), "--json") == 0
    capsys.readouterr()
    assert run(["--db", msp.url, "exceptions", "show", str(exception_id), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["exception"]["acknowledged_at"] == "2026-11-27T16:00:00+00:00"
    assert shown["exception"]["age_seconds"] == 6 * 3600


def test_real_runner_leaves_the_real_clock(msp: Msp, capsys: pytest.CaptureFixture[str]) -> None:
    _record_simulated_runner(msp.url, "2026-11-27T16:00:00+00:00", simulated=False)
    assert run(["--db", msp.url, "exceptions", "--json"]) == 0
    captured = capsys.readouterr()
    assert "simulated" not in captured.err
    rows = json.loads(captured.out)
    first = next(row for row in rows if row["device"] == "DC01" and row["class"] == "offline")
    assert first["age_seconds"] > 6 * 3600  # today's real clock is past the seeded times


def test_global_db_option_takes_a_plain_sqlite_path(
    msp: Msp, capsys: pytest.CaptureFixture[str]
) -> None:
    """`patchdesk --db FILE exceptions`, as the help screen and the demo suggest."""
    if not msp.url.startswith("sqlite:///"):
        pytest.skip("a plain path names an SQLite file")
    path = msp.url.removeprefix("sqlite:///")
    assert run(["--db", path, "exceptions", "--json", "--now", AT]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["id"] for row in rows] == msp.order
