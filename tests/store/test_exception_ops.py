"""What technicians do to exceptions, in the store: each operation is one transaction with
one remediation-log record and one ``exception.<verb>`` event, and a refusal writes nothing."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from patchdesk.domain import (
    ExceptionState,
    FailureClass,
    RequestKind,
    RequestState,
    Tier,
)
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.requests import run_requests
from patchdesk.engine.step import Step
from patchdesk.rules.response_paths import actions_for
from patchdesk.store import exception_ops as ops
from patchdesk.store import exception_writes, handover, remediation_log
from patchdesk.store.db import Database
from patchdesk.store.exception_views import (
    ALL_STATES,
    QueueFilter,
    count_queue,
    exception_detail,
    queue_rows,
    queue_statement,
)
from patchdesk.store.models import (
    BlockedPatch,
    Event,
    OperatorRequest,
    PatchException,
    RemediationRecord,
)
from patchdesk.store.name_views import technician_names
from patchdesk.store.remediation_log import verify_chain
from tests.conftest import NOW
from tests.connectors.fakefleet import FakeFleet
from tests.exception_seed import Seeded, add_exception, counts, get_exception, seed_fleet

LATER = NOW + timedelta(minutes=10)


@pytest.fixture
def fleet(database: Database) -> Seeded:
    return seed_fleet(database)


def one_install(database: Database, fleet: Seeded, **kwargs: Any) -> int:
    return add_exception(
        database,
        fleet.devices["DC01"],
        FailureClass.INSTALL,
        patch_ids=[fleet.patches["KB5044281"]],
        **kwargs,
    )


def last_record(database: Database) -> RemediationRecord:
    with database.session() as session:
        record = session.scalars(
            select(RemediationRecord).order_by(RemediationRecord.seq.desc()).limit(1)
        ).one()
        return record


def exception_events(database: Database, exception_id: int) -> list[Event]:
    with database.session() as session:
        return list(
            session.scalars(
                select(Event)
                .where(Event.entity == "exception", Event.entity_id == str(exception_id))
                .order_by(Event.id)
            )
        )


def assert_one_write(
    database: Database, before: Any, exception_id: int, action: str, verb: str, operator: str
) -> RemediationRecord:
    """Exactly one new log record (chain intact) and one new exception event."""
    after = counts(database)
    assert after.records == before.records + 1
    with database.session() as session:
        report = verify_chain(session)
    assert report.ok, report.problem
    assert report.count == after.records
    record = last_record(database)
    assert (record.action, record.actor, record.operator) == (action, operator, operator)
    assert record.exception_id == exception_id
    events = exception_events(database, exception_id)
    assert events[-1].kind == f"exception.{verb}"
    assert events[-1].payload["operator"] == operator
    # one exception event and the audit's own remediation.logged event
    assert after.events == before.events + 2
    return record


def refused_without_writing(
    database: Database,
    exception_id: int,
    call: Callable[[], object],
    error: type[Exception],
    match: str,
) -> pytest.ExceptionInfo[Exception]:
    before = counts(database)
    snapshot = get_exception(database, exception_id)
    with pytest.raises(error, match=match) as info:
        call()
    assert counts(database) == before
    after = get_exception(database, exception_id)
    assert (after.state, after.owner, after.last_action, after.updated_at) == (
        snapshot.state,
        snapshot.owner,
        snapshot.last_action,
        snapshot.updated_at,
    )
    return info


# --- acknowledge / release / assign / escalate ----------------------------------------------


def test_acknowledge_takes_ownership(database: Database, fleet: Seeded) -> None:
    exception_id = one_install(database, fleet)
    before = counts(database)
    result = ops.acknowledge(database, exception_id, "alice", now=NOW)
    assert (result.state, result.owner) == (ExceptionState.ACKNOWLEDGED, "alice")
    row = get_exception(database, exception_id)
    assert (row.state, row.owner, row.acknowledged_at) == (
        ExceptionState.ACKNOWLEDGED,
        "alice",
        NOW,
    )
    assert (row.last_action, row.last_action_at) == ("acknowledged", NOW)
    record = assert_one_write(
        database, before, exception_id, "acknowledge", "acknowledged", "alice"
    )
    assert record.seq == result.record_seq
    assert record.device_id == fleet.devices["DC01"]
    assert record.client_id == "acme"


def test_acknowledge_refusals_name_the_owner_and_write_nothing(
    database: Database, fleet: Seeded
) -> None:
    exception_id = one_install(database, fleet)
    ops.acknowledge(database, exception_id, "alice", now=NOW)
    info = refused_without_writing(
        database,
        exception_id,
        lambda: ops.acknowledge(database, exception_id, "bob", now=LATER),
        ops.Conflict,
        "already acknowledged by alice",
    )
    assert isinstance(info.value, ops.Conflict)
    assert info.value.owner == "alice"
    refused_without_writing(
        database,
        exception_id,
        lambda: ops.acknowledge(database, exception_id, "alice", now=LATER),
        ops.Conflict,
        "already yours",
    )
    with pytest.raises(ops.NoSuchException, match="no exception with id 999"):
        ops.acknowledge(database, 999, "alice", now=NOW)
    resolved = one_install(database, fleet, state=ExceptionState.RESOLVED)
    refused_without_writing(
        database,
        resolved,
        lambda: ops.acknowledge(database, resolved, "bob", now=LATER),
        ops.Conflict,
        "resolved; reopen it first",
    )
    refused_without_writing(
        database,
        exception_id,
        lambda: ops.acknowledge(database, exception_id, "  ", now=LATER),
        ops.Refused,
        "operator: must not be blank",
    )


def test_two_technicians_acknowledge_at_once_one_wins(
    database: Database, fleet: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    exception_id = one_install(database, fleet)
    before = counts(database)
    # Hold each transaction open a while after its update, so the other technician's
    # attempt lands while the first is still uncommitted.
    real_append = remediation_log.append
    barrier = threading.Barrier(2)

    def slow_append(*args: Any, **kwargs: Any) -> Any:
        threading.Event().wait(0.3)
        return real_append(*args, **kwargs)

    monkeypatch.setattr(exception_writes, "append", slow_append)
    outcomes: dict[str, object] = {}

    def attempt(operator: str) -> None:
        barrier.wait()
        try:
            outcomes[operator] = ops.acknowledge(database, exception_id, operator, now=NOW)
        except ops.Refused as exc:
            outcomes[operator] = exc

    threads = [threading.Thread(target=attempt, args=(name,)) for name in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    winners = [name for name, out in outcomes.items() if isinstance(out, ops.OpResult)]
    losers = [out for out in outcomes.values() if isinstance(out, ops.Conflict)]
    assert len(winners) == 1, outcomes
    assert len(losers) == 1, outcomes
    winner = winners[0]
    assert losers[0].owner == winner
    assert f"already acknowledged by {winner}" in str(losers[0])
    assert get_exception(database, exception_id).owner == winner
    assert counts(database).records == before.records + 1
    with database.session() as session:
        assert verify_chain(session).ok


def test_release_only_by_the_owner(database: Database, fleet: Seeded) -> None:
    exception_id = one_install(database, fleet)
    refused_without_writing(
        database,
        exception_id,
        lambda: ops.release(database, exception_id, "alice", now=NOW),
        ops.Conflict,
        "not owned by anyone",
    )
    ops.acknowledge(database, exception_id, "alice", now=NOW)
    refused_without_writing(
        database,
        exception_id,
        lambda: ops.release(database, exception_id, "bob", now=LATER),
        ops.Conflict,
        "owned by alice; only they can release it",
    )
    before = counts(database)
    result = ops.release(database, exception_id, "alice", now=LATER, note="going home")
    assert (result.state, result.owner) == (ExceptionState.OPEN, None)
    row = get_exception(database, exception_id)
    assert (row.state, row.owner, row.acknowledged_at) == (ExceptionState.OPEN, None, None)
    record = assert_one_write(database, before, exception_id, "release", "released", "alice")
    assert record.note == "going home"


def test_assign_hands_it_to_someone(database: Database, fleet: Seeded) -> None:
    exception_id = one_install(database, fleet)
    ops.acknowledge(database, exception_id, "alice", now=NOW)
    before = counts(database)
    result = ops.assign(database, exception_id, "lead", "bob", now=LATER, note="bob knows DCs")
    assert (result.state, result.owner) == (ExceptionState.ACKNOWLEDGED, "bob")
    record = assert_one_write(database, before, exception_id, "assign", "assigned", "lead")
    assert record.note == "to bob (was alice): bob knows DCs"
    assert exception_events(database, exception_id)[-1].payload["previous_owner"] == "alice"
    refused_without_writing(
        database,
        exception_id,
        lambda: ops.assign(database, exception_id, "lead", "bob", now=LATER),
        ops.Conflict,
        "already owned by bob",
    )
    refused_without_writing(
        database,
        exception_id,
        lambda: ops.assign(database, exception_id, "lead", "b\x1bob", now=LATER),
        ops.Refused,
        "assignee: must not contain control characters",
    )
    unowned = add_exception(database, fleet.devices["APP02"], FailureClass.REBOOT)
    assert ops.assign(database, unowned, "lead", "carol", now=LATER).state is (
        ExceptionState.ACKNOWLEDGED
    )


def test_escalate_keeps_the_owner_and_an_unowned_escalation_can_be_taken(
    database: Database, fleet: Seeded
) -> None:
    exception_id = one_install(database, fleet)
    ops.acknowledge(database, exception_id, "alice", now=NOW)
    before = counts(database)
    result = ops.escalate(database, exception_id, "alice", now=LATER, note="needs tier 2")
    assert (result.state, result.owner) == (ExceptionState.ESCALATED, "alice")
    row = get_exception(database, exception_id)
    assert row.escalated_at == LATER
    record = assert_one_write(database, before, exception_id, "escalate", "escalated", "alice")
    assert record.note == "needs tier 2"
    refused_without_writing(
        database,
        exception_id,
        lambda: ops.escalate(database, exception_id, "alice", now=LATER),
        ops.Conflict,
        "already escalated",
    )
    # released, it stays escalated; the senior who acknowledges it owns it, still escalated
    assert ops.release(database, exception_id, "alice", now=LATER).state is (
        ExceptionState.ESCALATED
    )
    taken = ops.acknowledge(database, exception_id, "senior", now=LATER)
    assert (taken.state, taken.owner) == (ExceptionState.ESCALATED, "senior")


# --- remediation ----------------------------------------------------------------------------


def test_manual_remediation_by_the_owner_puts_it_in_progress(
    database: Database, fleet: Seeded
) -> None:
    exception_id = one_install(database, fleet)
    ops.acknowledge(database, exception_id, "alice", now=NOW)
    before = counts(database)
    result = ops.log_remediation(
        database,
        exception_id,
        "alice",
        "clear_update_cache",
        now=LATER,
        note="cleared SoftwareDistribution",
    )
    assert result.command_id is None
    assert result.state is ExceptionState.IN_PROGRESS
    row = get_exception(database, exception_id)
    assert (row.state, row.last_action, row.last_action_at) == (
        ExceptionState.IN_PROGRESS,
        "clear_update_cache: done",
        LATER,
    )
    record = assert_one_write(
        database, before, exception_id, "remediate:clear_update_cache", "remediated", "alice"
    )
    assert (record.outcome, record.note) == ("done", "cleared SoftwareDistribution")
    assert counts(database).commands == before.commands


def test_acting_on_someone_elses_exception_needs_a_take_over(
    database: Database, fleet: Seeded
) -> None:
    """Remediate, note, escalate, resolve on an exception alice owns: refused for bob (naming
    alice) and nothing written; with ``take_over`` a ``take_over`` record comes first."""
    exception_id = one_install(database, fleet)
    ops.acknowledge(database, exception_id, "alice", now=NOW)
    calls: list[Callable[..., object]] = [
        functools.partial(ops.log_remediation, database, exception_id, "bob", "free_disk"),
        functools.partial(ops.add_note, database, exception_id, "bob", "called"),
        functools.partial(ops.escalate, database, exception_id, "bob"),
        functools.partial(ops.resolve, database, exception_id, "bob", "fixed"),
    ]
    for call in calls:
        info = refused_without_writing(
            database,
            exception_id,
            lambda call=call: call(now=LATER),  # type: ignore[misc]
            ops.NotYours,
            "exception 1 is owned by alice; take it over first",
        )
        assert isinstance(info.value, ops.NotYours)
        assert info.value.owner == "alice"
    before = counts(database)
    result = ops.log_remediation(
        database, exception_id, "bob", "free_disk", now=LATER, outcome="freed 12 GB", take_over=True
    )
    assert (result.state, result.owner) == (ExceptionState.IN_PROGRESS, "bob")
    assert "(taken over from alice)" in result.message
    with database.session() as session:
        records = session.scalars(
            select(RemediationRecord).order_by(RemediationRecord.seq.desc()).limit(2)
        ).all()
        assert verify_chain(session).ok
    taken, done = records[1], records[0]
    assert (taken.action, taken.operator, taken.outcome, taken.note) == (
        "take_over",
        "bob",
        "taken over",
        "from alice",
    )
    assert (done.action, done.operator, done.outcome) == (
        "remediate:free_disk",
        "bob",
        "freed 12 GB",
    )
    assert counts(database).records == before.records + 2
    kinds = [event.kind for event in exception_events(database, exception_id)]
    assert kinds[-2:] == ["exception.taken_over", "exception.remediated"]
    assert exception_events(database, exception_id)[-2].payload["previous_owner"] == "alice"


def test_a_take_over_from_someone_who_no_longer_owns_it_is_refused(
    database: Database, fleet: Seeded
) -> None:
    """The technician agreed to take it from alice; carol has it by now: nothing is written."""
    exception_id = one_install(database, fleet)
    ops.acknowledge(database, exception_id, "alice", now=NOW)
    ops.assign(database, exception_id, "lead", "carol", now=NOW)
    refused_without_writing(
        database,
        exception_id,
        lambda: ops.resolve(
            database, exception_id, "bob", "ok", now=LATER, take_over=True, from_owner="alice"
        ),
        ops.Conflict,
        "owned by carol now, not alice; look again",
    )
    taken = ops.take_over(database, exception_id, "bob", now=LATER, from_owner="carol")
    assert (taken.action, taken.owner, taken.state) == (
        "take_over",
        "bob",
        ExceptionState.ACKNOWLEDGED,
    )
    assert taken.message == "exception 1 taken over from carol: yours now"
    refused_without_writing(
        database,
        exception_id,
        lambda: ops.take_over(database, exception_id, "bob", now=LATER),
        ops.Conflict,
        "already yours",
    )


def test_a_take_over_of_an_exception_in_progress_is_acknowledged_again(
    database: Database, fleet: Seeded
) -> None:
    exception_id = one_install(database, fleet)
    ops.log_remediation(database, exception_id, "alice", "free_disk", now=NOW)
    assert get_exception(database, exception_id).state is ExceptionState.IN_PROGRESS
    result = ops.acknowledge(database, exception_id, "bob", now=LATER, take_over=True)
    assert (result.action, result.state, result.owner) == (
        "take_over",
        ExceptionState.ACKNOWLEDGED,
        "bob",
    )
    assert last_record(database).note == "from alice"
    # released meanwhile: taking it over acknowledges it
    ops.release(database, exception_id, "bob", now=LATER)
    again = ops.take_over(database, exception_id, "carol", now=LATER, from_owner="bob")
    assert (again.action, again.owner) == ("acknowledge", "carol")


def test_acting_on_an_unowned_exception_takes_it(database: Database, fleet: Seeded) -> None:
    """No extra record: the action's record is the technician's, and they own it now."""
    exception_id = one_install(database, fleet)
    before = counts(database)
    result = ops.log_remediation(database, exception_id, "bob", "free_disk", now=LATER)
    assert (result.state, result.owner) == (ExceptionState.IN_PROGRESS, "bob")
    assert result.message.endswith("(yours now)")
    assert get_exception(database, exception_id).acknowledged_at == LATER
    assert counts(database).records == before.records + 1
    for verb in ("note", "escalate", "resolve"):
        other = add_exception(database, fleet.devices["APP02"], FailureClass.INSTALL)
        if verb == "note":
            done = ops.add_note(database, other, "kim", "looked", now=LATER)
            assert done.state is ExceptionState.ACKNOWLEDGED
        elif verb == "escalate":
            done = ops.escalate(database, other, "kim", now=LATER, to="tier 2 queue")
            assert done.state is ExceptionState.ESCALATED
            assert last_record(database).note == "to tier 2 queue"
            assert get_exception(database, other).last_action == "escalated to tier 2 queue"
        else:
            done = ops.resolve(database, other, "kim", "fine", now=LATER)
        assert done.owner == "kim"
        if verb != "resolve":
            ops.resolve(database, other, "kim", "done", now=LATER)
    # a note on a resolved exception needs no owner and takes nothing
    noted = ops.add_note(database, exception_id, "bob", "x", now=LATER)
    ops.resolve(database, exception_id, "bob", "done", now=LATER)
    noted = ops.add_note(database, exception_id, "zoe", "follow-up call made", now=LATER)
    assert (noted.state, noted.owner) == (ExceptionState.RESOLVED, "bob")


@pytest.mark.parametrize(
    ("failure_class", "action_id", "kind", "args"),
    [
        (FailureClass.INSTALL, "retry_install", RequestKind.RETRY_INSTALL, {}),
        (FailureClass.REBOOT, "force_reboot", RequestKind.FORCE_REBOOT, {}),
        (FailureClass.OFFLINE, "wake_on_lan", RequestKind.WAKE_DEVICE, {}),
        (FailureClass.REGRESSION, "rollback_patch", RequestKind.ROLLBACK_PATCH, {}),
        (
            FailureClass.REGRESSION,
            "block_patch_client",
            RequestKind.BLOCK_PATCH,
            {"reason": "breaks the PMS", "scope": "client"},
        ),
        (
            FailureClass.REGRESSION,
            "block_patch_global",
            RequestKind.BLOCK_PATCH,
            {"reason": "breaks the PMS", "scope": "global"},
        ),
    ],
)
def test_engine_actions_queue_their_command(
    database: Database,
    fleet: Seeded,
    failure_class: FailureClass,
    action_id: str,
    kind: RequestKind,
    args: dict[str, str],
) -> None:
    patch = fleet.patches["KB5044281"]
    exception_id = add_exception(
        database, fleet.devices["FRONTDESK"], failure_class, patch_ids=[patch]
    )
    before = counts(database)
    result = ops.log_remediation(
        database, exception_id, "alice", action_id, now=LATER, note="breaks the PMS"
    )
    assert result.command_id is not None
    with database.session() as session:
        command = session.get(OperatorRequest, result.command_id)
        assert command is not None
        assert command.kind is kind
        assert command.state is RequestState.QUEUED
        assert (command.exception_id, command.device_id, command.client_id) == (
            exception_id,
            fleet.devices["FRONTDESK"],
            "acme",
        )
        assert command.requested_by == "alice"
        assert command.requested_at == LATER
        needs_patch = kind in (RequestKind.ROLLBACK_PATCH, RequestKind.BLOCK_PATCH)
        assert command.patch_id == (patch if needs_patch else None)
        assert command.args == args
    record = assert_one_write(
        database, before, exception_id, f"remediate:{action_id}", "remediated", "alice"
    )
    assert record.outcome == "queued"
    assert counts(database).commands == before.commands + 1
    assert exception_events(database, exception_id)[-1].payload["command_id"] == result.command_id
    assert get_exception(database, exception_id).last_action == f"{action_id}: queued"


def test_remediation_refusals_write_nothing(database: Database, fleet: Seeded) -> None:
    install = one_install(database, fleet)
    info = refused_without_writing(
        database,
        install,
        lambda: ops.log_remediation(database, install, "alice", "force_reboot", now=LATER),
        ops.Refused,
        "'force_reboot' is not an action for install exceptions",
    )
    for action in actions_for(FailureClass.INSTALL):
        assert action.id in str(info.value)
    regression = add_exception(
        database,
        fleet.devices["APP02"],
        FailureClass.REGRESSION,
        patch_ids=[fleet.patches["KB5044281"], fleet.patches["KB5044999"]],
    )
    refused_without_writing(
        database,
        regression,
        lambda: ops.log_remediation(database, regression, "alice", "rollback_patch", now=LATER),
        ops.Refused,
        r"has 2 patches: choose the one for rollback_patch \(KB5044281, KB5044999\)",
    )
    refused_without_writing(
        database,
        regression,
        lambda: ops.log_remediation(
            database,
            regression,
            "alice",
            "rollback_patch",
            now=LATER,
            patch_id=fleet.patches["7zip-24.08"],
        ),
        ops.Refused,
        "is not one of exception",
    )
    refused_without_writing(
        database,
        regression,
        lambda: ops.log_remediation(
            database,
            regression,
            "alice",
            "block_patch_global",
            now=LATER,
            patch_id=fleet.patches["KB5044999"],
            note="   ",
        ),
        ops.Refused,
        "note: required for block_patch_global",
    )
    refused_without_writing(
        database,
        install,
        lambda: ops.log_remediation(
            database, install, "alice", "retry_install", now=LATER, resolve=True, note="x"
        ),
        ops.Refused,
        "carried out by the engine",
    )
    ops.log_remediation(database, install, "alice", "retry_install", now=LATER)
    refused_without_writing(  # the take-over is not written either
        database,
        install,
        lambda: ops.log_remediation(
            database, install, "bob", "retry_install", now=LATER, take_over=True
        ),
        ops.Conflict,
        "retry_install is already queued",
    )
    resolved = one_install(database, fleet, state=ExceptionState.RESOLVED)
    refused_without_writing(
        database,
        resolved,
        lambda: ops.log_remediation(database, resolved, "alice", "free_disk", now=LATER),
        ops.Conflict,
        "resolved; reopen it first",
    )


def test_a_rolled_back_write_leaves_nothing_half_applied(
    database: Database, fleet: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    exception_id = add_exception(
        database,
        fleet.devices["DC01"],
        FailureClass.REGRESSION,
        patch_ids=[fleet.patches["KB5044281"]],
    )
    ops.acknowledge(database, exception_id, "alice", now=NOW)

    def broken_event(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(exception_writes, "record_event", broken_event)
    before = counts(database)
    with pytest.raises(RuntimeError, match="disk full"):
        ops.log_remediation(database, exception_id, "alice", "rollback_patch", now=LATER)
    assert counts(database) == before  # no record, no command
    row = get_exception(database, exception_id)
    assert (row.state, row.last_action) == (ExceptionState.ACKNOWLEDGED, "acknowledged")


def test_engine_carries_out_the_queued_commands(database: Database, fleet: Seeded) -> None:
    """The rows log_remediation writes are what the engine's command phase executes."""
    offline = add_exception(database, fleet.devices["LAPTOP-ANNA"], FailureClass.OFFLINE)
    regression = add_exception(
        database,
        fleet.devices["DC01"],
        FailureClass.REGRESSION,
        patch_ids=[fleet.patches["KB5044281"]],
    )
    ops.log_remediation(database, offline, "alice", "wake_on_lan", now=LATER)
    ops.log_remediation(database, regression, "alice", "rollback_patch", now=LATER)
    ops.log_remediation(
        database, regression, "alice", "block_patch_global", now=LATER, note="breaks the PMS"
    )
    connector = FakeFleet(lambda: LATER)
    for hostname in fleet.devices:
        connector.add(f"cid-{hostname}")
    with database.writer() as session:
        run_requests(Step(session, connector, LATER, EngineConfig(), StepCounts()))
    with database.session() as session:
        detail = exception_detail(session, regression)
        blocked = session.scalars(select(BlockedPatch)).one()
        assert verify_chain(session).ok
    assert detail is not None
    assert [(c.kind, c.state, c.patch) for c in detail.commands] == [
        (RequestKind.ROLLBACK_PATCH, RequestState.DONE, "KB5044281"),
        (RequestKind.BLOCK_PATCH, RequestState.DONE, "KB5044281"),
    ]
    assert detail.commands[0].result == "rollback of KB5044281 started (job rollback-KB5044281)"
    assert (blocked.patch_vendor_id, blocked.reason, blocked.blocked_by) == (
        "KB5044281",
        "breaks the PMS",
        "alice",
    )
    assert [(h.actor, h.operator, h.action) for h in detail.history] == [
        ("alice", "alice", "remediate:rollback_patch"),
        ("alice", "alice", "remediate:block_patch_global"),
        ("engine", "alice", "command.rollback_patch"),
        ("engine", "alice", "command.block_patch"),
    ]
    assert get_exception(database, offline).last_action == "wake_device: done"
    with database.session() as session:  # the block as the approvals screen writes one
        added = session.scalars(select(Event).where(Event.kind == "blocklist.added")).one()
        logged = session.scalars(
            select(RemediationRecord).where(RemediationRecord.action == "blocklist.add")
        ).one()
    assert (added.entity_id, added.payload["blocked_by"]) == ("KB5044281", "alice")
    assert (logged.actor, logged.operator) == ("alice", "alice")
    assert logged.note == "added KB5044281 to the global block list: breaks the PMS"


def test_a_global_block_of_a_patch_already_listed_adds_nothing(
    database: Database, fleet: Seeded
) -> None:
    """Listed under another spelling (as a policy file may list it): the engine's block
    finds it, and writes no second entry."""
    regression = add_exception(
        database,
        fleet.devices["DC01"],
        FailureClass.REGRESSION,
        patch_ids=[fleet.patches["KB5044281"]],
    )
    with database.writer() as session:
        session.add(
            BlockedPatch(
                patch_vendor_id="kb5044281", reason="bad", blocked_by="bob", blocked_at=NOW
            )
        )
    ops.log_remediation(
        database, regression, "alice", "block_patch_global", now=LATER, note="breaks the PMS"
    )
    with database.writer() as session:
        run_requests(Step(session, FakeFleet(lambda: LATER), LATER, EngineConfig(), StepCounts()))
    with database.session() as session:
        detail = exception_detail(session, regression)
        listed = session.scalars(select(BlockedPatch)).all()
        added = session.scalars(select(Event).where(Event.kind == "blocklist.added")).all()
    assert detail is not None
    assert [(c.state, c.result) for c in detail.commands] == [
        (RequestState.DONE, "KB5044281 was already on the global block list")
    ]
    assert [(b.patch_vendor_id, b.blocked_by) for b in listed] == [("kb5044281", "bob")]
    assert added == []


# --- resolve / reopen -----------------------------------------------------------------------


def test_resolve_needs_a_note(database: Database, fleet: Seeded) -> None:
    exception_id = one_install(database, fleet)
    ops.acknowledge(database, exception_id, "alice", now=NOW)
    for blank in ("", "   \n\t"):
        refused_without_writing(
            database,
            exception_id,
            functools.partial(ops.resolve, database, exception_id, "alice", blank, now=LATER),
            ops.Refused,
            "note: required",
        )
    before = counts(database)
    result = ops.resolve(database, exception_id, "alice", "installed by hand", now=LATER)
    assert (result.state, result.owner) == (ExceptionState.RESOLVED, "alice")
    row = get_exception(database, exception_id)
    assert (row.state, row.resolved_at, row.opened_at) == (
        ExceptionState.RESOLVED,
        LATER,
        NOW - timedelta(hours=2),
    )
    record = assert_one_write(database, before, exception_id, "resolve", "resolved", "alice")
    assert record.note == "installed by hand"
    refused_without_writing(
        database,
        exception_id,
        lambda: ops.resolve(database, exception_id, "bob", "again", now=LATER),
        ops.Conflict,
        "is resolved",
    )


def test_remediate_and_resolve_in_one_step(database: Database, fleet: Seeded) -> None:
    exception_id = add_exception(database, fleet.devices["APP02"], FailureClass.OFFLINE)
    before = counts(database)
    result = ops.log_remediation(
        database,
        exception_id,
        "alice",
        "power_cycle",
        now=LATER,
        note="iLO power cycle, back online",
        resolve=True,
    )
    assert result.state is ExceptionState.RESOLVED
    assert counts(database).records == before.records + 2
    with database.session() as session:
        actions = session.scalars(
            select(RemediationRecord.action)
            .where(RemediationRecord.exception_id == exception_id)
            .order_by(RemediationRecord.seq)
        ).all()
        assert verify_chain(session).ok
    assert actions == ["remediate:power_cycle", "resolve"]
    refused = add_exception(database, fleet.devices["DC01"], FailureClass.OFFLINE)
    refused_without_writing(
        database,
        refused,
        lambda: ops.log_remediation(
            database, refused, "alice", "power_cycle", now=LATER, resolve=True
        ),
        ops.Refused,
        "note: required",
    )


def test_reopen(database: Database, fleet: Seeded) -> None:
    exception_id = one_install(database, fleet)
    refused_without_writing(
        database,
        exception_id,
        lambda: ops.reopen(database, exception_id, "alice", "still broken", now=LATER),
        ops.Conflict,
        "is not resolved",
    )
    ops.acknowledge(database, exception_id, "alice", now=NOW)
    ops.escalate(database, exception_id, "alice", now=NOW)
    ops.resolve(database, exception_id, "alice", "fixed", now=NOW + timedelta(minutes=1))
    refused_without_writing(
        database,
        exception_id,
        lambda: ops.reopen(database, exception_id, "bob", " ", now=LATER),
        ops.Refused,
        "note: required",
    )
    before = counts(database)
    result = ops.reopen(database, exception_id, "bob", "failed again on reboot", now=LATER)
    assert (result.state, result.owner) == (ExceptionState.OPEN, None)
    row = get_exception(database, exception_id)
    assert (row.reopened_count, row.resolved_at, row.acknowledged_at, row.escalated_at) == (
        1,
        None,
        None,
        None,
    )
    assert row.opened_at == NOW - timedelta(hours=2)
    assert_one_write(database, before, exception_id, "reopen", "reopened", "bob")
    ops.resolve(database, exception_id, "bob", "fixed for real", now=LATER)
    assert get_exception(database, exception_id).resolved_at == LATER


def test_reopen_refused_while_the_device_has_another_open_one_of_the_class(
    database: Database, fleet: Seeded
) -> None:
    old = one_install(database, fleet, state=ExceptionState.RESOLVED)
    newer = one_install(database, fleet)  # the engine opened a new one since
    info = refused_without_writing(
        database,
        old,
        lambda: ops.reopen(database, old, "alice", "same failure", now=LATER),
        ops.Conflict,
        f"device DC01 already has unresolved install exception {newer}",
    )
    assert "work on that one" in str(info.value)
    # another class on the same device does not stand in the way
    reboot = add_exception(
        database, fleet.devices["DC01"], FailureClass.REBOOT, state=ExceptionState.RESOLVED
    )
    assert ops.reopen(database, reboot, "alice", "no boot", now=LATER).state is (
        ExceptionState.OPEN
    )


# --- common actions through log_remediation, notes, input -----------------------------------


def test_common_actions_go_through_log_remediation(database: Database, fleet: Seeded) -> None:
    exception_id = one_install(database, fleet)
    assert ops.log_remediation(database, exception_id, "alice", "acknowledge", now=NOW).owner == (
        "alice"
    )
    result = ops.log_remediation(
        database, exception_id, "alice", "note", now=NOW, note="called the user"
    )
    assert result.action == "note"
    assert last_record(database).action == "note"
    assert exception_events(database, exception_id)[-1].kind == "exception.noted"
    assert ops.log_remediation(database, exception_id, "alice", "escalate", now=NOW).state is (
        ExceptionState.ESCALATED
    )
    refused_without_writing(
        database,
        exception_id,
        lambda: ops.log_remediation(database, exception_id, "alice", "resolve", now=NOW),
        ops.Refused,
        "note: required",
    )
    refused_without_writing(
        database,
        exception_id,
        lambda: ops.log_remediation(
            database, exception_id, "alice", "note", now=NOW, note="x", outcome="done"
        ),
        ops.Refused,
        "note takes a note only, not an outcome",
    )
    assert ops.log_remediation(
        database, exception_id, "alice", "resolve", now=NOW, note="ok"
    ).state is (ExceptionState.RESOLVED)
    # a note is welcome on a resolved exception too
    assert ops.add_note(database, exception_id, "bob", "post-mortem in ticket 4411", now=NOW)


def test_text_from_people_is_stored_as_given(database: Database, fleet: Seeded) -> None:
    exception_id = one_install(database, fleet)
    note = "[bold red]done[/]\x1b[2J\nsecond line"
    ops.add_note(database, exception_id, "alice", note, now=NOW)
    assert last_record(database).note == note
    refused_without_writing(
        database,
        exception_id,
        lambda: ops.add_note(database, exception_id, "alice", "a\x00b", now=NOW),
        ops.Refused,
        "NUL",
    )
    refused_without_writing(
        database,
        exception_id,
        lambda: ops.add_note(database, exception_id, "alice", "x" * 4001, now=NOW),
        ops.Refused,
        "longer than 4000",
    )
    refused_without_writing(
        database,
        exception_id,
        lambda: ops.log_remediation(
            database, exception_id, "alice", "free_disk", now=NOW, outcome="o" * 101
        ),
        ops.Refused,
        "outcome: longer than 100",
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        ops.add_note(database, exception_id, "alice", "x", now=datetime(2026, 11, 27, 14))


# --- reading: detail, queue filters, handover -----------------------------------------------


def test_detail_has_device_client_history_and_commands(database: Database, fleet: Seeded) -> None:
    exception_id = one_install(database, fleet)
    other = add_exception(database, fleet.devices["APP02"], FailureClass.INSTALL)
    ops.acknowledge(database, exception_id, "alice", now=NOW)
    ops.add_note(database, other, "bob", "not this one", now=NOW)
    ops.log_remediation(database, exception_id, "alice", "retry_install", now=LATER)
    with database.session() as session:
        detail = exception_detail(session, exception_id)
        assert exception_detail(session, 999) is None
    assert detail is not None
    assert detail.exception.hostname == "DC01"
    assert detail.exception.patches == ("KB5044281",)
    assert (detail.device.site, detail.client_timezone) == ("Main St", "America/New_York")
    assert [p.vendor_id for p in detail.patches] == ["KB5044281"]
    assert [h.action for h in detail.history] == ["acknowledge", "remediate:retry_install"]
    assert [(c.kind, c.state, c.requested_by) for c in detail.commands] == [
        (RequestKind.RETRY_INSTALL, RequestState.QUEUED, "alice")
    ]
    assert detail.actions == actions_for(FailureClass.INSTALL)


def test_queue_filters(database: Database, fleet: Seeded) -> None:
    dc = one_install(database, fleet)
    app = add_exception(database, fleet.devices["APP02"], FailureClass.REBOOT)
    desk = add_exception(database, fleet.devices["FRONTDESK"], FailureClass.OFFLINE)
    done = add_exception(
        database,
        fleet.devices["LAPTOP-ANNA"],
        FailureClass.INSTALL,
        state=ExceptionState.RESOLVED,
    )
    ops.acknowledge(database, app, "alice", now=NOW)

    def ids(**kwargs: Any) -> list[int]:
        with database.session() as session:
            query = QueueFilter(**kwargs)
            rows = queue_rows(session, query)
            assert count_queue(session, query) == len(rows)
            return [row.id for row in rows]

    assert ids() == [dc, app, desk]
    assert ids(states=ALL_STATES) == [dc, app, desk, done]
    assert ids(states={ExceptionState.RESOLVED}) == [done]
    assert ids(tier=Tier.OTHER_SERVER) == [app]
    assert ids(failure_class=FailureClass.OFFLINE) == [desk]
    assert ids(owner="alice") == [app]
    assert ids(unassigned=True) == [dc, desk]
    assert ids(search="frontd") == [desk]
    assert ids(search="ALICE") == [app]
    assert ids(search="%") == []
    assert ids(client_id="other") == []


def test_handover_notes_and_summary(database: Database, fleet: Seeded) -> None:
    shift_start = NOW - timedelta(hours=1)
    before_shift = one_install(database, fleet, opened_at=NOW - timedelta(hours=9))
    opened = add_exception(
        database, fleet.devices["FRONTDESK"], FailureClass.OFFLINE, opened_at=NOW
    )
    escalated = add_exception(
        database, fleet.devices["APP02"], FailureClass.REBOOT, opened_at=NOW - timedelta(hours=3)
    )
    resolved = add_exception(
        database, fleet.devices["LAPTOP-ANNA"], FailureClass.INSTALL, opened_at=shift_start
    )
    ops.acknowledge(database, before_shift, "alice", now=NOW)
    ops.escalate(database, escalated, "alice", now=NOW)
    ops.resolve(database, resolved, "alice", "reinstalled", now=NOW)

    for blank in ("", "  \n "):
        with pytest.raises(handover.Refused, match="handover note: required"):
            handover.add_handover_note(database, "alice", blank, now=NOW)
    with pytest.raises(handover.Refused, match="longer than 2000"):
        handover.add_handover_note(database, "alice", "x" * 2001, now=NOW)
    assert counts(database).notes == 0
    events_before = counts(database).events
    first = handover.add_handover_note(database, "alice", "DC01 waits for vendor", now=NOW)
    second = handover.add_handover_note(database, "alice", "[b]kiosk[/b]\x1b[2J", now=LATER)
    assert second.text == "[b]kiosk[/b]\x1b[2J"
    assert counts(database).events == events_before + 2
    with database.session() as session:
        kinds = session.scalars(select(Event.kind).order_by(Event.id.desc()).limit(2)).all()
        assert kinds == ["handover.noted", "handover.noted"]
        notes = handover.recent_handover_notes(session, limit=5)
        assert [n.id for n in notes] == [second.id, first.id]
        summary = handover.handover_summary(session, since=shift_start, now=LATER)
    assert summary.open_by_tier == {
        Tier.CRITICAL_SERVER: 1,
        Tier.OTHER_SERVER: 1,
        Tier.SHARED_WORKSTATION: 1,
        Tier.SINGLE_USER: 0,
    }
    assert summary.unassigned_by_tier == {  # alice took APP02's by escalating it
        Tier.CRITICAL_SERVER: 0,
        Tier.OTHER_SERVER: 0,
        Tier.SHARED_WORKSTATION: 1,
        Tier.SINGLE_USER: 0,
    }
    assert (summary.open_total, summary.unassigned_total) == (3, 1)
    assert [row.id for row in summary.opened] == [opened, resolved]
    assert summary.opened_count == 2
    assert [row.id for row in summary.resolved] == [resolved]
    assert [row.id for row in summary.escalated] == [escalated]
    assert [n.id for n in summary.notes] == [second.id, first.id]


def test_every_operation_writes_its_own_event_kind(database: Database, fleet: Seeded) -> None:
    exception_id = one_install(database, fleet)
    ops.acknowledge(database, exception_id, "alice", now=NOW)
    ops.assign(database, exception_id, "alice", "bob", now=NOW)
    ops.release(database, exception_id, "bob", now=NOW)
    ops.escalate(database, exception_id, "bob", now=NOW)
    ops.add_note(database, exception_id, "bob", "n", now=NOW)
    ops.log_remediation(database, exception_id, "bob", "manual_install", now=NOW)
    ops.resolve(database, exception_id, "bob", "done", now=NOW)
    ops.reopen(database, exception_id, "bob", "not done", now=NOW)
    kinds = [event.kind for event in exception_events(database, exception_id)]
    assert kinds == [
        "exception.acknowledged",
        "exception.assigned",
        "exception.released",
        "exception.escalated",
        "exception.noted",
        "exception.remediated",
        "exception.resolved",
        "exception.reopened",
    ]
    with database.session() as session:
        actions = session.scalars(
            select(RemediationRecord.action).order_by(RemediationRecord.seq)
        ).all()
        assert verify_chain(session).ok
        assert session.get(PatchException, exception_id) is not None
    assert actions == [
        "acknowledge",
        "assign",
        "release",
        "escalate",
        "note",
        "remediate:manual_install",
        "resolve",
        "reopen",
    ]


def test_the_filtered_queue_still_walks_the_triage_index(database: Database) -> None:
    if database.backend != "sqlite":
        pytest.skip("the plan check reads SQLite's EXPLAIN QUERY PLAN")
    for query in (QueueFilter(), QueueFilter(unassigned=True, tier=Tier.CRITICAL_SERVER)):
        statement = queue_statement(query).limit(200)
        sql = statement.compile(database.engine, compile_kwargs={"literal_binds": True})
        with database.engine.connect() as conn:
            plan = " ".join(
                str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            )
        assert "ix_exceptions_triage" in plan
        assert "TEMP B-TREE" not in plan


def test_technician_names_are_those_who_worked_exceptions(
    database: Database, fleet: Seeded
) -> None:
    """For completing an assignment: most recent first; the engine and records about no
    exception (a policy applied, a handover note) are left out."""
    first = one_install(database, fleet)
    second = add_exception(database, fleet.devices["APP02"], FailureClass.INSTALL)
    ops.acknowledge(database, first, "carol", now=NOW)
    ops.acknowledge(database, second, "dave", now=NOW)
    ops.add_note(database, first, "carol", "still on it", now=LATER)
    with database.writer() as session:
        remediation_log.append(
            session,
            remediation_log.LogEntry(
                at=LATER,
                actor="engine",
                operator="engine",
                action="x",
                outcome="y",
                exception_id=first,
            ),
        )
        remediation_log.append(
            session,
            remediation_log.LogEntry(
                at=LATER,
                actor="simulator",
                operator="simulator",
                action="policy",
                outcome="applied",
            ),
        )
    with database.session() as session:
        assert technician_names(session) == ["carol", "dave"]
