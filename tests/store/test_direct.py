"""direct.rows reads exactly what Connection.execute reads, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import OperationalError, ProgrammingError

from patchdesk.store import direct
from patchdesk.store.bulk import execute_many
from patchdesk.store.db import Database
from patchdesk.store.types import UTCDateTime, str_enum


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


_metadata = MetaData()
_things = Table(
    "direct_things",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime()),
    Column("colour", str_enum(Colour, "direct_colour")),
    Column("payload", JSON),
    Column("flag", Boolean),
    Column("note", String(50)),
)
START = datetime(2026, 11, 10, 21, 0, 0, 123456, tzinfo=UTC)

# Module-level statements, as the engine's are: a given IN list, an IN list and an enum of
# the statement's own, a datetime parameter, a LIMIT, an aggregate.
_BY_IDS = (
    select(_things)
    .where(
        _things.c.id.in_(bindparam("ids", expanding=True)),
        _things.c.colour.in_((Colour.RED, Colour.BLUE)),
        _things.c.at >= bindparam("since"),
    )
    .order_by(_things.c.id)
)
_FIRST_GREEN = (
    select(_things.c.id, _things.c.at)
    .where(_things.c.colour == Colour.GREEN)
    .order_by(_things.c.id.desc())
    .limit(2)
)
_COUNTS = (
    select(_things.c.colour, func.count(), func.max(_things.c.at))
    .group_by(_things.c.colour)
    .order_by(_things.c.colour)
)
_TWO_LISTS = (
    select(_things.c.id)
    .where(
        _things.c.id.in_(bindparam("a", expanding=True))
        | _things.c.id.in_(bindparam("b", expanding=True))
    )
    .order_by(_things.c.id)
)
_NOT_IN = (
    select(_things.c.id)
    .where(_things.c.id.not_in(bindparam("ids", expanding=True)))
    .order_by(_things.c.id)
)


def _fill(database: Database) -> None:
    _metadata.create_all(database.engine)
    rows = [
        {
            "id": i,
            "at": START + timedelta(minutes=i),
            "colour": list(Colour)[i % 3],
            "payload": None if i % 5 == 0 else {"i": i, "checks": {"disk": i % 2 == 0}},
            "flag": None if i % 7 == 0 else i % 2 == 0,
            "note": None if i % 4 else f"note {i}",
        }
        for i in range(1, 40)
    ]
    with database.engine.begin() as connection:
        connection.execute(insert(_things), rows)


def _as_sqlalchemy(connection: Any, statement: Any, params: dict[str, Any]) -> list[Any]:
    return [tuple(row) for row in connection.execute(statement, params)]


@pytest.mark.parametrize(
    ("statement", "params"),
    [
        (_BY_IDS, {"ids": [1, 2, 3, 5, 8, 13, 21, 34], "since": START + timedelta(minutes=3)}),
        (_BY_IDS, {"ids": [2], "since": START}),
        (_FIRST_GREEN, {}),
        (_COUNTS, {}),
        (_TWO_LISTS, {"a": [1, 2], "b": [30, 31, 32]}),
        (_TWO_LISTS, {"a": [3, 4, 5], "b": [6]}),
        # Lists of lengths whose places are padded (9 -> 10, 11 -> 12, 27 -> 28), given as
        # lists, tuples and ranges.
        (_BY_IDS, {"ids": list(range(3, 12)), "since": START}),
        (_TWO_LISTS, {"a": tuple(range(1, 12)), "b": range(13, 40)}),
        (_NOT_IN, {"ids": list(range(1, 12))}),
        (_NOT_IN, {"ids": range(2, 29)}),
    ],
)
def test_same_rows_as_sqlalchemy(
    database: Database, statement: Any, params: dict[str, Any]
) -> None:
    _fill(database)
    with database.session() as session:
        connection = session.connection()
        expected = _as_sqlalchemy(connection, statement, params)
        assert direct.rows(connection, statement, params) == expected
        assert direct.rows(connection, statement, params) == expected  # (planned: again)
        assert direct.scalars(connection, statement, params) == [row[0] for row in expected]
    assert expected  # each case finds something
    if database.backend == "sqlite":
        assert any(
            plan is not direct._NO_PLAN and direct._keep[key[0]] is statement
            for key, plan in direct._plans.items()
        )


def test_in_lists_of_many_lengths_share_few_sql_texts(database: Database) -> None:
    """The driver prepares each SQL text again when it has dropped it from its cache: the
    places of an IN list are rounded up (the last value repeated), so lists of 1 to 300
    values use a few dozen texts, and every answer is SQLAlchemy's."""
    _fill(database)
    with database.session() as session:
        connection = session.connection()
        for length in range(1, 301):
            ids = list(range(length, 0, -1))  # (the last value repeated is the smallest)
            expected = _as_sqlalchemy(connection, _NOT_IN, {"ids": ids})
            assert direct.rows(connection, _NOT_IN, {"ids": ids}) == expected
    if database.backend == "sqlite":
        plan = direct._plans[(id(_NOT_IN), "sqlite")]
        assert 8 < len(plan.sql_by_lengths) <= 30
    for length in range(1, 20_000):
        padded = direct._padded(length)
        assert length <= padded <= length * 1.25
        if length <= 8 or length > direct._PAD_LIMIT:
            assert padded == length


def test_values_come_back_typed(database: Database) -> None:
    _fill(database)
    with database.session() as session:
        found = direct.rows(session.connection(), _BY_IDS, {"ids": [4, 5, 12, 14], "since": START})
    assert [row[0] for row in found] == [5, 12, 14]  # (4 is green)
    _, at, colour, payload, flag, note = found[1]
    assert at == START + timedelta(minutes=12)
    assert at.tzinfo is UTC
    assert colour is Colour.RED
    assert payload == {"i": 12, "checks": {"disk": True}}
    assert flag is True
    assert note == "note 12"
    assert found[0][2] is Colour.BLUE
    assert found[0][3] is None  # SQL NULL, not JSON null
    assert found[2][4] is None


def test_an_empty_in_list_goes_through_sqlalchemy(database: Database) -> None:
    _fill(database)
    with database.session() as session:
        assert direct.rows(session.connection(), _BY_IDS, {"ids": [], "since": START}) == []


def test_driver_errors_are_sqlalchemy_errors(database: Database) -> None:
    _fill(database)
    broken = select(text("no_such_column")).select_from(_things)
    with pytest.raises((OperationalError, ProgrammingError)), database.session() as session:
        direct.rows(session.connection(), broken)


class _Boom(Exception):
    pass


def test_writes_on_the_driver_roll_back_with_the_transaction(database: Database) -> None:
    _fill(database)
    rows = [{"b_id": i, "b_note": "changed"} for i in range(1, 11)]
    statement = (
        update(_things).where(_things.c.id == bindparam("b_id")).values(note=bindparam("b_note"))
    )
    written: list[str] = []

    def write_then_fail() -> None:
        with database.session() as session:
            execute_many(session.connection(), statement, rows)
            written.extend(direct.scalars(session.connection(), _NOTES))
            raise _Boom

    with pytest.raises(_Boom):
        write_then_fail()
    assert written == ["changed"] * 10
    with database.session() as session:
        assert "changed" not in direct.scalars(session.connection(), _NOTES)


def test_statements_are_seen_by_listeners(database: Database) -> None:
    """A listener on SQLAlchemy's statements (the crash-injection test's) sees every read
    and write, which then go through SQLAlchemy."""
    _fill(database)
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split()[0])

    event.listen(database.engine, "before_cursor_execute", listen)
    rows = [{"b_id": i, "b_note": "seen"} for i in range(1, 11)]
    statement = (
        update(_things).where(_things.c.id == bindparam("b_id")).values(note=bindparam("b_note"))
    )
    with database.session() as session:
        execute_many(session.connection(), statement, rows)
        assert direct.scalars(session.connection(), _NOTES) == ["seen"] * 10
    event.remove(database.engine, "before_cursor_execute", listen)
    assert "UPDATE" in seen
    assert "SELECT" in seen


_NOTES = select(_things.c.note).where(_things.c.id <= 10).order_by(_things.c.id)
