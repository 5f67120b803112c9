"""execute_many writes exactly what Connection.execute writes for the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)

from patchdesk.store import bulk
from patchdesk.store.bulk import execute_many
from patchdesk.store.db import Database
from patchdesk.store.types import UTCDateTime, str_enum


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


def _table(metadata: MetaData, name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime()),
        Column("colour", str_enum(Colour, f"{name}_colour")),
        Column("payload", JSON),
        Column("flag", Boolean, default=False),  # a scalar default the rows do not give
        Column("note", String(50)),
    )


def _rows(n: int) -> list[dict[str, Any]]:
    start = datetime(2026, 11, 10, 21, 0, 0, 123456, tzinfo=UTC)
    return [
        {
            "at": start + timedelta(minutes=i),
            "colour": Colour.RED if i % 2 else Colour.GREEN,
            "payload": {"i": i, "checks": {"disk": i % 3 == 0}},
            "note": None if i % 4 else f"note {i}",
        }
        for i in range(n)
    ]


def _content(connection: Any, table: Table) -> list[tuple[Any, ...]]:
    columns = [c for c in table.c if c.name != "id"]
    return [tuple(row) for row in connection.execute(select(*columns).order_by(table.c.id))]


def test_same_rows_as_sqlalchemy(database: Database) -> None:
    metadata = MetaData()
    fast, slow = _table(metadata, "bulk_fast"), _table(metadata, "bulk_slow")
    metadata.create_all(database.engine)
    rows = _rows(25)
    insert_fast, insert_slow = insert(fast), insert(slow)
    with database.engine.begin() as connection:
        execute_many(connection, insert_fast, rows)
        connection.execute(insert_slow, rows)
        assert _content(connection, fast) == _content(connection, slow)
        # An update with a constant in the statement and parameters named apart.
        changes = [
            {"b_id": i, "b_at": datetime(2026, 12, 1, tzinfo=UTC) + timedelta(hours=i)}
            for i in range(1, 20, 3)
        ]
        for table in (fast, slow):
            statement = (
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(colour=Colour.RED, at=bindparam("b_at"), payload={"done": True})
            )
            if table is fast:
                execute_many(connection, statement, changes)
            else:
                connection.execute(statement, changes)
        assert _content(connection, fast) == _content(connection, slow)
        # A parameter used twice (as the engine's device-facts update does).
        flags = [{"b_id": i, "b_flag": i % 3 == 0} for i in range(2, 25, 2)]
        for table in (fast, slow):
            statement = (
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(
                    flag=bindparam("b_flag"),
                    note=func.coalesce(
                        table.c.note, func.cast(bindparam("b_flag", type_=Boolean()), String)
                    ),
                )
            )
            if table is fast:
                execute_many(connection, statement, flags)
                twice = statement
            else:
                connection.execute(statement, flags)
        assert _content(connection, fast) == _content(connection, slow)
        # One key per row, every other value a constant of the statement.
        ids = [{"b_id": i} for i in range(3, 25, 5)]
        for table in (fast, slow):
            statement = (
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(note="one key", at=datetime(2027, 1, 1, tzinfo=UTC))
            )
            if table is fast:
                execute_many(connection, statement, ids)
            else:
                connection.execute(statement, ids)
        assert _content(connection, fast) == _content(connection, slow)
        assert _content(connection, fast)[2][4] == "one key"
        loaded = _content(connection, fast)
    if database.backend == "sqlite":  # (planned, not passed to SQLAlchemy)
        assert any(
            plan is not bulk._NO_PLAN and bulk._keep[key[0]] is twice
            for key, plan in bulk._plans.items()
        )
    assert loaded[1][0] == datetime(2026, 11, 10, 21, 1, 0, 123456, tzinfo=UTC)
    assert loaded[1][1] is Colour.RED
    assert loaded[0][0] == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # row 1 was updated
    assert loaded[0][2] == {"done": True}
    assert loaded[3][3] is False  # the default
    if database.backend == "sqlite":
        assert any(
            plan is not bulk._NO_PLAN and bulk._keep[key[0]] is insert_fast
            for key, plan in bulk._plans.items()
        )


def test_statements_it_cannot_plan_go_through_sqlalchemy(database: Database) -> None:
    metadata = MetaData()
    table = _table(metadata, "bulk_returning")
    metadata.create_all(database.engine)
    statement = insert(table).returning(table.c.id)
    with database.engine.begin() as connection:
        execute_many(connection, statement, _rows(6))
        execute_many(connection, insert(table), _rows(1))  # (one row: planned too)
        execute_many(connection, insert(table), [])
        assert len(_content(connection, table)) == 7
    if database.backend == "sqlite":
        assert all(
            plan is bulk._NO_PLAN
            for key, plan in bulk._plans.items()
            if bulk._keep[key[0]] is statement
        )
