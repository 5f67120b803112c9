"""On a simulated database (the demo's, ``patchdesk simulate``'s) every command uses the clock
the database records, not the real one: approvals decided in the demo's UI count, windows
that closed in virtual time are not "open now", and what a command writes is stamped in
virtual time."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from patchdesk.cli import main
from patchdesk.domain import ApprovalDecisionKind
from patchdesk.engine import state
from patchdesk.engine.live import RUNNER_KEY, simulated_now
from patchdesk.store.approval_ops import DecisionRequest, record_decision
from patchdesk.store.db import open_database
from patchdesk.store.models import RemediationRecord
from tests.conftest import NOW

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COMMANDS = Path(__file__).resolve().parents[2] / "src" / "patchdesk" / "cli"
# The demo's virtual clock, years ahead of the real one (a decision made at it is in the
# real clock's future).
AHEAD = datetime(2031, 3, 4, 10, 0, tzinfo=UTC)
DRIVER = "Intel-Display-32.0.101.7026"  # harbour-dental: manual ("Drivers"), pending


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


@pytest.fixture
def examples_db(migrated_url: str, capsys: pytest.CaptureFixture[str]) -> str:
    """The example MSP: policies, Harbour Dental's inventory and the missing patches."""
    db = ["--db", migrated_url, "--operator", "alice"]
    inventory = EXAMPLES / "inventory"
    steps = [
        ["policy", "apply", str(EXAMPLES / "policies")],
        ["inventory", "import", str(inventory / "harbour-dental.csv")],
        ["inventory", "import", str(inventory / "kessler-engineering.csv")],
        [
            "inventory",
            "import",
            str(inventory / "southern-cross-accounting.csv"),
            "--client",
            "southern-cross-accounting",
        ],
        ["inventory", "patches", str(inventory / "missing-patches.csv")],
    ]
    for step in steps:
        assert run([*db, *step]) == 0, capsys.readouterr().err
    capsys.readouterr()
    return migrated_url


def record_simulated_clock(url: str, at: datetime) -> None:
    """What the demo's live runner writes after each step."""
    database = open_database(url)
    with database.writer() as session:
        value = {"at": at.isoformat(), "simulated": True, "holder": "demo"}
        state.write(session, RUNNER_KEY, value, at)
    database.dispose()


def approvals(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[list[dict[str, Any]], str]:
    assert run(["--db", url, "approvals", "--json", "--client", "harbour-dental"]) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert isinstance(rows, list)
    return rows, captured.err


def last_record_at(url: str) -> datetime:
    database = open_database(url)
    with database.session() as session:
        at = session.scalars(
            select(RemediationRecord.at).order_by(RemediationRecord.seq.desc()).limit(1)
        ).one()
    database.dispose()
    return at


def test_a_patch_approved_in_the_demo_ui_is_approved_for_the_cli(
    examples_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's UI approves at its virtual time; `approvals` must not call it pending."""
    database = open_database(examples_db)
    with database.writer() as session:
        request = DecisionRequest(
            client_id="harbour-dental",
            patch_id=DRIVER,
            kind=ApprovalDecisionKind.APPROVE,
            operator="alice",
            reason="vendor confirmed",
        )
        record_decision(session, request, now=AHEAD)  # as the UI does, at services.clock()
    database.dispose()
    record_simulated_clock(examples_db, AHEAD)
    rows, err = approvals(examples_db, capsys)
    [driver] = [row for row in rows if row["patch_id"] == DRIVER]
    assert driver["state"] == "approved"
    assert driver["manual"]["operator"] == "alice"
    assert "a simulated database: using its clock, 2031-03-04 10:00 UTC" in err


def test_decisions_from_the_cli_are_stamped_in_virtual_time(
    examples_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    record_simulated_clock(examples_db, AHEAD)
    db = ["--db", examples_db, "--operator", "bob", "approvals"]
    argv = [*db, "approve", "--client", "harbour-dental", DRIVER, "--reason", "checked"]
    assert run(argv) == 0
    captured = capsys.readouterr()
    assert last_record_at(examples_db) == AHEAD
    assert "using its clock, 2031-03-04 10:00 UTC" in captured.err
    assert "now approved" in captured.out
    assert run([*db, "blocklist", "add", "7zip.7zip-26.00", "--reason", "bad build"]) == 0
    capsys.readouterr()
    assert last_record_at(examples_db) == AHEAD


def test_windows_are_open_or_closed_by_the_simulated_clock(
    examples_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Harbour Dental's catch-up window of 1 November, 05:30-09:30 UTC, is open at the
    simulated 06:00 whatever the real time."""
    record_simulated_clock(examples_db, datetime(2026, 11, 1, 6, 0, tzinfo=UTC))
    argv = ["--db", examples_db, "windows", "--client", "harbour-dental"]
    argv += ["--window", "Weekend catch-up", "--from", "2026-11-01T00:00Z", "--to", "2026-11-02"]
    assert run(argv) == 0
    captured = capsys.readouterr()
    [row] = captured.out.splitlines()[1:]
    assert "open now, 3h30m left" in row
    assert "a simulated database: using its clock, 2026-11-01 06:00 UTC" in captured.err

    record_simulated_clock(examples_db, datetime(2026, 11, 1, 10, 0, tzinfo=UTC))
    assert run(argv) == 0
    [row] = capsys.readouterr().out.splitlines()[1:]
    assert "open now" not in row


def test_patchdesk_simulate_records_its_clock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sim.db"
    argv = ["simulate", "--clients", "1", "--devices", "6", "--seed", "3"]
    argv += ["--start", "2026-11-10T00:00Z", "--days", "0.5", "--db", str(path)]
    assert run(argv) == 0
    capsys.readouterr()
    database = open_database(f"sqlite:///{path}")
    with database.session() as session:
        assert simulated_now(session) == datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    database.dispose()
    assert run(["--db", str(path), "exceptions", "--json"]) == 0
    assert "using its clock, 2026-11-10 12:00 UTC" in capsys.readouterr().err


def test_the_engine_refuses_a_simulated_database(
    examples_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real-clock engine with a fleet of its own would write real instants and another
    fleet's facts into the simulation."""
    record_simulated_clock(examples_db, NOW)
    assert run(["--db", examples_db, "engine", "--once"]) == 2
    assert capsys.readouterr().err.startswith(
        "patchdesk: this is a simulated database (its clock is at 2026-11-27 14:00 UTC)"
    )


def _wall_clock_reads(source: str) -> list[int]:
    """Lines calling ``datetime.now(...)`` or ``utc_now()``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "now":
                if isinstance(func.value, ast.Name) and func.value.id == "datetime":
                    found.append(node.lineno)
            elif isinstance(func, ast.Name) and func.id == "utc_now":
                found.append(node.lineno)
    return found


# The only commands that read the wall clock themselves: they make a new simulated
# database (whose clock starts at that instant) or run the real-time engine.
WALL_CLOCK_ALLOWED = {
    "context.py": 1,  # CliContext.now: the one place every other command asks
    "simulate.py": 1,  # the default start of a new simulation
    "tui.py": 2,  # the launch instant of a new demo
    "engine.py": 1,  # the engine's step (it refuses a simulated database)
}


def test_commands_take_their_time_from_the_context() -> None:
    """No command can forget the simulated clock: the time comes from CliContext.now."""
    modules = sorted(COMMANDS.glob("*.py"))
    assert len(modules) > len(WALL_CLOCK_ALLOWED), f"no command modules under {COMMANDS}"
    reads = {path.name: len(_wall_clock_reads(path.read_text())) for path in modules}
    assert {name: n for name, n in reads.items() if n} == WALL_CLOCK_ALLOWED
