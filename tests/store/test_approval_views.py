"""What the approvals screen reads (the pending list per client, the devices an emergency
may name, the global block list) and the block list's add and remove (both backends)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from patchdesk.domain import ApprovalDecisionKind, Classification, MissingPatchState
from patchdesk.rules.approval import ApprovalState, StateFilter, until_from_text
from patchdesk.store.approval_ops import DecisionError
from patchdesk.store.approval_views import (
    devices_needing,
    read_approvals,
    read_blocklist,
)
from patchdesk.store.blocklist import add_to_blocklist, remove_from_blocklist
from patchdesk.store.db import Database
from patchdesk.store.models import BlockedPatch, DevicePatch, Event, RemediationRecord
from patchdesk.store.remediation_log import verify_chain
from tests.cli.test_approvals_cli import run
from tests.conftest import NOW
from tests.store.test_approvals_store import (
    BLOCKED,
    CHROME,
    CLIENT,
    KB,
    OTHER_CLIENT,
    Fleet,
    _patch,
    counts,
    fleet,
    record,
    request,
)

__all__ = ["fleet"]  # the fixture, imported for pytest

DRIVER = "Intel-Display-32.0"


@pytest.fixture
def with_driver(database: Database, fleet: Fleet) -> Fleet:
    """Kessler's rule 2 ("Rest", manual) catches a driver two of its devices miss, found
    two days apart."""
    with database.writer() as session:
        patch = _patch(session, DRIVER, Classification.DRIVER)
        session.flush()
        for hostname, days in (("KSI-CAD-WEBER", 2), ("KSI-NB-KOCH", 4)):
            session.add(
                DevicePatch(
                    device_id=fleet.devices[hostname],
                    patch_id=patch.id,
                    state=MissingPatchState.MISSING,
                    detected_at=NOW - timedelta(days=days),
                    updated_at=NOW,
                )
            )
        fleet.patches[DRIVER] = patch.id
    return fleet


def test_pending_lines_per_client_with_the_rule_devices_and_age(
    database: Database, with_driver: Fleet
) -> None:
    with database.session() as session:
        read = read_approvals(session, now=NOW)
    assert read.clients == ((OTHER_CLIENT, OTHER_CLIENT), (CLIENT, CLIENT))
    found = [
        (line.client_id, line.patch_id, line.state, line.why, line.hostnames, line.ring)
        for line in read.lines
    ]
    # Harbour has no rules: everything in scope waits, "no rule matches"; Kessler's rule 2
    # sends the driver to manual. Blocked and approved patches are not listed. Same release
    # date: by patch id.
    assert found == [
        (
            OTHER_CLIENT,
            CHROME,
            ApprovalState.PENDING_MANUAL,
            "no rule matches",
            ("HDG-BOS-FRONT01",),
            None,
        ),
        (
            OTHER_CLIENT,
            KB,
            ApprovalState.PENDING_MANUAL,
            "no rule matches",
            ("HDG-BOS-FRONT01",),
            None,
        ),
        (
            CLIENT,
            DRIVER,
            ApprovalState.PENDING_MANUAL,
            'rule 2 "Rest"',
            ("KSI-CAD-WEBER", "KSI-NB-KOCH"),
            None,
        ),
    ]
    driver = read.lines[-1]
    assert driver.waiting_since == NOW - timedelta(days=4)  # the earliest of its devices
    assert driver.devices == 2
    assert driver.zone == "Europe/Berlin"
    assert driver.reason == 'waits for a technician (rule 2 "Rest" → wait for a technician)'
    assert driver.title == f"Update {DRIVER}"


def test_every_state_and_one_client(database: Database, with_driver: Fleet) -> None:
    with database.session() as session:
        read = read_approvals(session, now=NOW, state=None, client_id=CLIENT)
    by_key = {(line.patch_id, line.ring): line for line in read.lines}
    assert {line.client_id for line in read.lines} == {CLIENT}
    assert by_key[(BLOCKED, None)].state is ApprovalState.BLOCKED
    assert by_key[(BLOCKED, None)].why == "global block list"
    assert by_key[(KB, "pilot")].state is ApprovalState.APPROVED
    assert by_key[(KB, "pilot")].why == 'rule 1 "Security"'
    assert by_key[(KB, "broad")].state is ApprovalState.NOT_YET
    assert len({line.key for line in read.lines}) == len(read.lines)
    with database.session() as session:
        waiting = read_approvals(session, now=NOW, state=StateFilter.WAITING)
    assert [(line.patch_id, line.ring) for line in waiting.lines] == [(KB, "broad")]


def test_a_decision_takes_the_patch_off_the_pending_list(
    database: Database, with_driver: Fleet
) -> None:
    record(database, request(ApprovalDecisionKind.APPROVE, patch=DRIVER))
    with database.session() as session:
        pending = read_approvals(session, now=NOW + timedelta(seconds=1))
        approved = read_approvals(
            session, now=NOW + timedelta(seconds=1), state=StateFilter.APPROVED, client_id=CLIENT
        )
    assert DRIVER not in {line.patch_id for line in pending.lines}
    driver = [line for line in approved.lines if line.patch_id == DRIVER]
    assert [line.why for line in driver] == ["technician"]  # the ring says where: pilot
    assert driver[0].ring == "pilot"


def test_devices_an_emergency_may_name(database: Database, fleet: Fleet) -> None:
    with database.session() as session:
        choices = devices_needing(session, CLIENT, KB.lower(), now=NOW)
    assert [(c.hostname, c.state, c.ring) for c in choices] == [
        ("KSI-CAD-MUELLER", ApprovalState.APPROVED, "pilot"),
        ("KSI-CAD-WEBER", ApprovalState.NOT_YET, "broad"),
        ("KSI-NB-KOCH", ApprovalState.APPROVED, "pilot"),
        ("KSI-PLOT-01", ApprovalState.NOT_YET, "broad"),
    ]  # KSI-LIC-01 is outside the scope
    record(
        database,
        request(ApprovalDecisionKind.EMERGENCY, reason="exploited", hosts=("KSI-PLOT-01",)),
    )
    with database.session() as session:
        later = devices_needing(session, CLIENT, KB, now=NOW + timedelta(seconds=1))
        assert devices_needing(session, CLIENT, "KB-NOPE", now=NOW) == []
        assert devices_needing(session, "nobody", KB, now=NOW) == []
    assert [c.hostname for c in later if c.emergency] == ["KSI-PLOT-01"]


def test_the_block_list_with_what_is_known_of_each_patch(database: Database, fleet: Fleet) -> None:
    with database.writer() as session:
        add_to_blocklist(session, "KB9999999", "known bad, ahead of time", "bob", now=NOW)
    with database.session() as session:
        lines = read_blocklist(session)
    assert [(b.patch_id, b.blocked_by, b.title, b.devices_missing) for b in lines] == [
        (BLOCKED, "j.okafor", f"Update {BLOCKED}", 6),
        ("KB9999999", "bob", None, 0),
    ]


def test_adding_and_removing_a_block_is_stored_evented_and_audited(
    database: Database, fleet: Fleet
) -> None:
    before = counts(database)
    with database.writer() as session:
        added = add_to_blocklist(session, KB.lower(), "  bricks CAD plotters  ", "alice", now=NOW)
    assert (added.patch_id, added.known) == (KB, True)  # the patch's own spelling
    with database.session() as session:
        row = session.scalars(select(BlockedPatch).where(BlockedPatch.patch_vendor_id == KB)).one()
        assert (row.reason, row.blocked_by, row.blocked_at) == ("bricks CAD plotters", "alice", NOW)
        kb = read_approvals(session, now=NOW, state=None, client_id=CLIENT)
    assert {line.state for line in kb.lines if line.patch_id == KB} == {ApprovalState.BLOCKED}

    later = NOW + timedelta(hours=1)
    with database.writer() as session:
        removed = remove_from_blocklist(session, KB, "vendor fixed it", "bob", now=later)
    assert removed.patch_id == KB
    with database.session() as session:
        assert session.scalars(select(BlockedPatch.patch_vendor_id)).all() == [BLOCKED]
        events = session.execute(
            select(Event.kind, Event.entity_id, Event.at).where(Event.entity == "blocklist")
        ).all()
        log = session.execute(
            select(
                RemediationRecord.action,
                RemediationRecord.actor,
                RemediationRecord.operator,
                RemediationRecord.at,
                RemediationRecord.note,
            ).order_by(RemediationRecord.seq)
        ).all()
        assert verify_chain(session).ok
    assert [(kind, entity_id) for kind, entity_id, _ in events] == [
        ("blocklist.added", KB),
        ("blocklist.removed", KB),
    ]
    assert [at.astimezone(UTC) for _, _, at in events] == [NOW, later]
    assert [(a, actor, op, at.astimezone(UTC)) for a, actor, op, at, _ in log] == [
        ("blocklist.add", "alice", "alice", NOW),
        ("blocklist.remove", "bob", "bob", later),
    ]
    assert log[0].note == f"added {KB} to the global block list: bricks CAD plotters"
    assert log[1].note.startswith(f"removed {KB} from the global block list: vendor fixed it")
    # two block-list events, and the events feed records each log append as well
    assert counts(database) == (before[0], before[1] + 4, before[2] + 2)


@pytest.mark.parametrize(
    ("patch", "reason", "operator", "problems"),
    [
        (
            BLOCKED.lower(),
            "again",
            "alice",
            [f"patch: {BLOCKED.lower()} is already on the global block list"],
        ),
        (
            "",
            "",
            "",
            [
                "patch: must not be blank (a KB number or package id)",
                "reason: required: say why, for the log",
                "operator: must not be blank (set --operator or the operator setting)",
            ],
        ),
        ("KB\x1b[2J", "x", "alice", ["patch: must not contain control characters"]),
    ],
)
def test_a_refused_add_writes_nothing(
    database: Database, fleet: Fleet, patch: str, reason: str, operator: str, problems: list[str]
) -> None:
    before = counts(database)
    with pytest.raises(DecisionError) as refused, database.writer() as session:
        add_to_blocklist(session, patch, reason, operator, now=NOW)
    assert refused.value.problems == problems
    assert counts(database) == before
    with database.session() as session:
        assert len(read_blocklist(session)) == 1


def test_a_refused_remove_writes_nothing(database: Database, fleet: Fleet) -> None:
    before = counts(database)
    with pytest.raises(DecisionError) as refused, database.writer() as session:
        remove_from_blocklist(session, KB, "not blocked", "alice", now=NOW)
    assert refused.value.problems == [f"patch: {KB} is not on the global block list"]
    with pytest.raises(DecisionError) as blank, database.writer() as session:
        remove_from_blocklist(session, BLOCKED, "  ", "alice", now=NOW)
    assert blank.value.problems == ["reason: required: say why, for the log"]
    assert counts(database) == before
    with database.session() as session:
        assert session.scalars(select(BlockedPatch.patch_vendor_id)).all() == [BLOCKED]


def test_until_from_text_is_a_client_local_date_or_an_offset_time() -> None:
    new_york = ZoneInfo("America/New_York")
    assert until_from_text(" 2026-12-04 ", new_york) == datetime(2026, 12, 4, 5, tzinfo=UTC)
    assert until_from_text("2026-12-04T10:00+01:00", new_york) == datetime(
        2026, 12, 4, 9, tzinfo=UTC
    )
    assert until_from_text("2026-12-04T10:00Z", new_york) == datetime(2026, 12, 4, 10, tzinfo=UTC)
    for text, message in (
        ("", "empty: give a date like 2026-12-04"),
        ("2026-13-01", "'2026-13-01' is not a date: month must be in 1..12"),
        ("next friday", "'next friday' is not a date or an ISO time"),
        ("2026-12-04T10:00", "'2026-12-04T10:00' needs a UTC offset, or give a date"),
    ):
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            until_from_text(text, new_york)


def test_the_cli_lists_adds_and_removes_through_the_same_functions(
    database: Database, database_url: str, fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--db", database_url, "--operator", "carol", "approvals", "blocklist"]
    assert run([*base, "add", KB.lower(), "--reason", "bricks plotters"]) == 0
    assert capsys.readouterr().out == f"added {KB} to the global block list: bricks plotters\n"
    assert run([*base, "add", KB, "--reason", "again"]) == 2
    assert capsys.readouterr().err == (
        f"patchdesk: patch: {KB} is already on the global block list\n"
    )
    assert run([*base, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(e["patch_id"], e["blocked_by"], e["devices_missing"]) for e in listed] == [
        (BLOCKED, "j.okafor", 6),
        (KB, "carol", 6),
    ]
    assert run([*base, "remove", KB]) == 2
    assert capsys.readouterr().err == "patchdesk: reason: required: say why, for the log\n"
    assert run([*base, "remove", KB, "--reason", "fixed"]) == 0
    assert capsys.readouterr().out.startswith(f"removed {KB} from the global block list: fixed")
    with database.session() as session:
        actions = session.scalars(
            select(RemediationRecord.action).order_by(RemediationRecord.seq)
        ).all()
        assert session.scalars(select(BlockedPatch.patch_vendor_id)).all() == [BLOCKED]
    assert actions == ["blocklist.add", "blocklist.remove"]


def test_each_emergency_is_a_line_of_its_own(database: Database, fleet: Fleet) -> None:
    """Two emergencies on one patch, for one device each: two approved lines, told apart
    by their decision (a table keyed by line must not see one key twice)."""
    for host in ("KSI-CAD-MUELLER", "KSI-NB-KOCH"):
        record(database, request(ApprovalDecisionKind.EMERGENCY, reason="x", hosts=(host,)))
    with database.session() as session:
        read = read_approvals(
            session, now=NOW + timedelta(seconds=1), state=StateFilter.APPROVED, client_id=CLIENT
        )
    emergencies = [line for line in read.lines if line.emergency]
    assert sorted(line.hostnames for line in emergencies) == [
        ("KSI-CAD-MUELLER",),
        ("KSI-NB-KOCH",),
    ]
    assert [line.why for line in emergencies] == ["emergency", "emergency"]
    assert len({line.key for line in read.lines}) == len(read.lines)
