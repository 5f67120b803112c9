"""EventCursor: a live view's position in the events feed loses no late commit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from patchdesk.store.db import Database
from patchdesk.store.events import EventCursor, entities_after, record_event
from patchdesk.store.models import Event

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _event(event_id: int) -> Event:
    return Event(id=event_id, at=NOW, kind="test", entity="x", entity_id=str(event_id), payload={})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_id_committed_late_below_the_position_is_still_read(database: Database) -> None:
    clock = Clock()
    cursor = EventCursor(clock=clock)
    with database.session() as session:
        session.add_all([_event(1), _event(3)])
    with database.session() as session:
        assert [e.id for e in cursor.read(session)] == [1, 3]
    assert cursor.last_id == 3
    assert set(cursor.gaps) == {2}
    with database.session() as session:
        session.add(_event(2))  # its transaction committed after 3's
    with database.session() as session:
        session.add(_event(4))
    with database.session() as session:
        assert [e.id for e in cursor.read(session)] == [2, 4]
        assert cursor.read(session) == []
    assert cursor.gaps == {}


def test_a_gap_that_never_fills_is_forgotten(database: Database) -> None:
    clock = Clock()
    cursor = EventCursor(clock=clock, gap_seconds=30)
    with database.session() as session:
        session.add_all([_event(1), _event(5)])
    with database.session() as session:
        cursor.read(session)
        assert set(cursor.gaps) == {2, 3, 4}
        clock.now = 31
        assert cursor.read(session) == []
    assert cursor.gaps == {}


def test_at_most_max_gaps_are_kept(database: Database) -> None:
    cursor = EventCursor(max_gaps=2, clock=Clock())
    with database.session() as session:
        session.add_all([_event(1), _event(10)])
    with database.session() as session:
        cursor.read(session)
    assert sorted(cursor.gaps) == [8, 9]


def test_concurrent_transactions_committing_out_of_order(database: Database) -> None:
    """The real case on PostgreSQL: ids from a sequence, commits in the other order. (On
    SQLite writers are serialised, so the second transaction waits and ids stay in order.)"""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    cursor = EventCursor(clock=Clock())
    first = Session(database.engine)
    record_event(first, at=NOW, kind="test", entity="x", entity_id="early")
    first.flush()  # takes its id now, commits later
    with database.session() as second:
        record_event(second, at=NOW, kind="test", entity="x", entity_id="late")
    with database.session() as session:
        assert [e.entity_id for e in cursor.read(session)] == ["late"]
    first.commit()
    first.close()
    with database.session() as session:
        assert [e.entity_id for e in cursor.read(session)] == ["early"]


def test_entities_after_names_each_entity_above_the_id_once(database: Database) -> None:
    with database.session() as session:
        for event_id, entity in ((1, "client"), (2, "target"), (3, "target"), (4, "blocklist")):
            session.add(
                Event(id=event_id, at=NOW, kind="t", entity=entity, entity_id="1", payload={})
            )
    with database.session() as session:
        assert entities_after(session, 0) == {"client", "target", "blocklist"}
        assert entities_after(session, 2) == {"target", "blocklist"}
        assert entities_after(session, 4) == set()
