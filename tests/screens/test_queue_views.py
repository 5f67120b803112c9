"""The queue's reads agree with the CLI's (``exception_views``, ``handover``), its events
are mapped to the exceptions they concern, and its columns fit every terminal width."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from patchdesk.domain import ExceptionState, FailureClass, Tier
from patchdesk.screens.handover import shift_start
from patchdesk.screens.widgets.queue_cells import GAP, layout_for
from patchdesk.store import exception_ops as ops
from patchdesk.store.db import Database
from patchdesk.store.events import record_event
from patchdesk.store.exception_views import ALL_STATES, QueueFilter, queue_rows
from patchdesk.store.handover import add_handover_note, handover_summary
from patchdesk.store.queue_views import changes_since, last_event_id, read_page, shift_summary
from tests.conftest import NOW
from tests.screens.queue_fixtures import seed_queue

FILTERS = [
    QueueFilter(),
    QueueFilter(tier=Tier.SHARED_WORKSTATION),
    QueueFilter(failure_class=FailureClass.OFFLINE),
    QueueFilter(states={ExceptionState.ACKNOWLEDGED}),
    QueueFilter(states=ALL_STATES),
    QueueFilter(owner="bob"),
    QueueFilter(unassigned=True),
    QueueFilter(search="desk"),
    QueueFilter(search="ACME", unassigned=True),
    QueueFilter(opened_since=NOW - timedelta(hours=1)),
]


@pytest.mark.parametrize("query", FILTERS, ids=range(len(FILTERS)))
def test_a_window_holds_the_rows_the_cli_lists(database: Database, query: QueueFilter) -> None:
    queue = seed_queue(database)
    ops.resolve(database, queue.reboot, "alice", "rebooted by hand", now=NOW)
    with database.session() as session:
        expected = queue_rows(session, query)
        for offset, limit in ((0, 200), (1, 2), (2, 200), (10, 5)):
            window = read_page(session, query, offset=offset, limit=limit)
            assert window.total == len(expected)
            start = max(0, min(offset, len(expected) - limit))
            assert window.offset == start
            assert [line.row for line in window.lines] == expected[start : start + limit]


def test_the_shift_figures_are_the_handover_summarys(database: Database) -> None:
    queue = seed_queue(database)
    ops.resolve(database, queue.install, "alice", "fixed", now=NOW)
    ops.escalate(database, queue.regression, "alice", now=NOW)
    add_handover_note(database, "alice", "second note", now=NOW)
    since = NOW - timedelta(hours=1)
    with database.session() as session:
        full = handover_summary(session, since=since, now=NOW, limit=0, notes=4)
        mine = shift_summary(session, since=since, now=NOW, notes=4)
    assert full.anchor is not None  # (the handover document's; the panel shows none)
    assert mine == replace(full, anchor=None)
    assert (mine.opened_count, mine.resolved_count, mine.escalated_count) == (2, 1, 1)
    assert [note.text for note in mine.notes] == [
        "second note",
        "DC01 needs a hands-on look\nafter 18:00",
    ]


def test_changes_name_the_exceptions_and_notes_they_concern(database: Database) -> None:
    queue = seed_queue(database, note=False)
    with database.session() as session:
        start = last_event_id(session)
        assert changes_since(session, start).any is False
    result = ops.log_remediation(database, queue.install, "alice", "retry_install", now=NOW)
    ops.acknowledge(database, queue.reboot, "alice", now=NOW)
    with database.session() as session:
        changes = changes_since(session, start)
    assert changes.exceptions == {queue.install, queue.reboot}
    assert changes.handover is False
    # The engine's result arrives as a command event: it concerns the command's exception.
    with database.session() as session:
        record_event(
            session,
            at=NOW,
            kind="command.completed",
            entity="command",
            entity_id=result.command_id or 0,
        )
        record_event(session, at=NOW, kind="target.state", entity="target", entity_id=7)
    add_handover_note(database, "alice", "hello", now=NOW)
    with database.session() as session:
        later = changes_since(session, changes.last_event_id)
    assert later.exceptions == {queue.install}
    assert later.handover is True
    assert later.last_event_id > changes.last_event_id


@pytest.mark.parametrize("width", [*range(60, 241, 7), 77, 79, 80, 81])
def test_the_columns_fit_every_width(width: int) -> None:
    """At 80 columns the table has 79 (the scroll bar), 77 with the mark column: ID and the
    whole AGE (``ages.age`` is at most 6 cells) are there down to 72."""
    layout = layout_for(width)
    used = sum(layout.widths) + GAP * (len(layout.widths) - 1)
    assert used <= width or width < 72  # the narrowest layout needs 72 columns
    keys = [column.key for column in layout.columns]
    widths = dict(zip(keys, layout.widths, strict=True))
    for needed in ("id", "tier", "client", "device", "class", "patches", "age", "owner", "state"):
        assert needed in keys
    assert widths["age"] >= 6
    assert widths["id"] >= 5
    if width >= 110:
        assert "last" in keys


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 27, 14, 0, tzinfo=UTC), datetime(2026, 11, 27, 13, 0, tzinfo=UTC)),
        (datetime(2026, 11, 27, 4, 0, tzinfo=UTC), datetime(2026, 11, 26, 21, 0, tzinfo=UTC)),
        (datetime(2026, 11, 27, 21, 0, tzinfo=UTC), datetime(2026, 11, 27, 21, 0, tzinfo=UTC)),
        # the night of the autumn change: 22:00 CEST was 20:00 UTC
        (datetime(2026, 10, 25, 3, 0, tzinfo=UTC), datetime(2026, 10, 24, 20, 0, tzinfo=UTC)),
    ],
)
def test_shifts_start_at_6_14_and_22_operator_local(now: datetime, expected: datetime) -> None:
    assert shift_start(now, ZoneInfo("Europe/Berlin")) == expected
