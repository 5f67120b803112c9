"""Hot statements straight to the SQLite driver, compiled once.

Each statement SQLAlchemy executes costs, besides SQLite's own work, its cache key, its
execution context, its parameters built and processed and its result wrapped: about
200 microseconds here for a query that finds nothing, against 25 on the driver. The engine's
step runs some twenty-five queries whatever happens, and thousands of steps make a cycle,
so on SQLite the step's queries go through :func:`rows` / :func:`scalars`: the statement is
compiled once (SQLAlchemy's compiler: the same SQL), its parameters bound with the same bind
processors (enums, datetimes, JSON) and its columns read back with the same result
processors, so callers get the values SQLAlchemy would give, as plain tuples.

Only module-level statements belong here (each is planned once and kept): expanding ``IN``
parameters are expanded here; anything the plan does not cover (another backend, an empty
``IN`` list, a connection outside a transaction) goes through ``Connection.execute`` as
usual, and so does everything while a listener watches the statements SQLAlchemy sends
(``before_cursor_execute``: the crash-injection test counts writes that way). Errors from the
driver come out as SQLAlchemy's ``DBAPIError`` subclasses, as they would through SQLAlchemy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any]
_TOKEN = "__[POSTCOMPILE_{}]"


@dataclass(frozen=True)
class _Param:
    name: str
    expanding: bool
    required: bool  # the caller must give it
    value: Any  # else the statement's own value, processed (a list of them when expanding)
    process: Processor | None


@dataclass
class _Plan:
    parts: tuple[str, ...]  # the SQL around each expanding parameter's place
    expanding: tuple[str, ...]  # the expanding parameters, in the order of ``parts``' gaps
    params: tuple[_Param, ...]  # in the statement's positional order
    processors: tuple[Processor | None, ...]  # per result column
    active: tuple[tuple[int, Processor], ...]  # (column, processor) of those that have one
    sql_by_lengths: dict[tuple[int, ...], str]


_NO_PLAN = object()
_plans: dict[tuple[int, str], Any] = {}
_keep: dict[int, Executable] = {}  # the statements planned (so their ids stay theirs)


def rows(
    connection: Connection, statement: Executable, params: Mapping[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    """``connection.execute(statement, params).all()``, as tuples; faster on SQLite."""
    plan = _plan_for(connection, statement)
    if plan is None:
        return [tuple(row) for row in connection.execute(statement, dict(params or {}))]
    bound = _bind(plan, params or {})
    if bound is None:
        return [tuple(row) for row in connection.execute(statement, dict(params or {}))]
    sql, values = bound
    found = _run(connection, sql, values)
    active = plan.active
    if not active:
        return found
    if len(plan.processors) == 1:
        process = active[0][1]
        return [(process(row[0]),) for row in found]
    processed: list[tuple[Any, ...]] = []
    append = processed.append
    for row in found:  # (a hot loop: written out)
        values = list(row)
        for position, process in active:
            values[position] = process(values[position])
        append(tuple(values))
    return processed


def scalars(
    connection: Connection, statement: Executable, params: Mapping[str, Any] | None = None
) -> list[Any]:
    """The first column of every row."""
    return [row[0] for row in rows(connection, statement, params)]


def _plan_for(connection: Connection, statement: Executable) -> _Plan | None:
    dialect = connection.dialect
    if dialect.name != "sqlite" or not connection.in_transaction() or _watched(connection):
        return None
    key = (id(statement), dialect.name)
    plan = _plans.get(key)
    if plan is None:
        plan = _make_plan(statement, dialect)
        _plans[key] = plan
        _keep[id(statement)] = statement
    return None if plan is _NO_PLAN else plan


def _make_plan(statement: Executable, dialect: Dialect) -> Any:
    if not isinstance(statement, ClauseElement):
        return _NO_PLAN
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler) or not compiled.positional:
        return _NO_PLAN
    names = compiled.positiontup
    if names is None or compiled.literal_execute_params or compiled.escaped_bind_names:
        return _NO_PLAN
    params = []
    for name in names:
        bind = compiled.binds[name]
        if bind.callable is not None:
            return _NO_PLAN
        process = bind.type._cached_bind_processor(dialect)
        value: Any = None
        if not bind.required:
            if bind.expanding:
                value = [v if process is None else process(v) for v in bind.value or ()]
            else:
                value = bind.value if process is None else process(bind.value)
        params.append(_Param(name, bind.expanding, bind.required, value, process))
    sql = compiled.string
    expanding = tuple(p.name for p in params if p.expanding)
    parts = []
    for name in expanding:
        token = _TOKEN.format(name)
        if sql.count(token) != 1:
            return _NO_PLAN
        before, sql = sql.split(token)
        parts.append(before)
    parts.append(sql)
    processors = tuple(
        column.type._cached_result_processor(dialect, None) for column in compiled._result_columns
    )
    active = tuple((i, p) for i, p in enumerate(processors) if p is not None)
    return _Plan(tuple(parts), expanding, tuple(params), processors, active, {})


def _bind(plan: _Plan, given: Mapping[str, Any]) -> tuple[str, list[Any]] | None:
    """The SQL and the values for one execution; None: not for this path (an empty IN)."""
    values: list[Any] = []
    lengths: dict[str, int] = {}
    for param in plan.params:
        if not param.required and param.name not in given:
            if param.expanding:
                values += param.value
                lengths[param.name] = len(param.value)
            else:
                values.append(param.value)
            continue
        value = given[param.name]
        process = param.process
        if param.expanding:
            if not value:
                return None
            items = list(value) if process is None else [process(v) for v in value]
            length = _padded(len(items))
            items += [items[-1]] * (length - len(items))
            lengths[param.name] = length
            values += items
        else:
            values.append(value if process is None else process(value))
    key = tuple(lengths[name] for name in plan.expanding)
    sql = plan.sql_by_lengths.get(key)
    if sql is None:
        pieces = [plan.parts[0]]
        for length, part in zip(key, plan.parts[1:], strict=True):
            pieces += [", ".join("?" * length), part]
        sql = "".join(pieces)
        if len(plan.sql_by_lengths) < 256:  # (IN lists of many lengths: keep a few)
            plan.sql_by_lengths[key] = sql
    return sql, values


def _padded(length: int) -> int:
    """How many places an ``IN`` list of ``length`` values gets: exact up to 8, then rounded
    up to three significant bits (at most a quarter more; from 9 to 5,000 values, 37 lengths
    instead of 4,992). The places beyond the values repeat the last one, which changes
    neither ``IN`` nor ``NOT IN``; each length is its own SQL text, and the driver keeps
    prepared statements by text, so fewer texts means fewer statements prepared again.
    Lists longer than ``_PAD_LIMIT`` are left as they are (SQLite's limit on parameters)."""
    if length <= 8 or length > _PAD_LIMIT:
        return length
    step = 1 << (length.bit_length() - 3)
    return -(-length // step) * step


_PAD_LIMIT = 8_192


def _watched(connection: Connection) -> bool:
    """Someone listens to the statements SQLAlchemy sends (a test's fault injection, a
    tracer): they go through SQLAlchemy then, so that every one is seen."""
    dispatch = connection.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)


def _run(connection: Connection, sql: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
    driver = connection.connection.dbapi_connection
    assert driver is not None
    try:
        return driver.execute(sql, values).fetchall()  # type: ignore[no-any-return]
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, values, exc, sqlite3.Error) from exc


def execute_many(connection: Connection, sql: str, values: Sequence[Sequence[Any]]) -> None:
    """``executemany`` of SQL already compiled for SQLite, on the driver (in a transaction:
    the caller's, begun if it was not)."""
    if not connection.in_transaction() or _watched(connection):
        connection.exec_driver_sql(sql, [tuple(row) for row in values])  # (begins it)
        return
    driver = connection.connection.dbapi_connection
    assert driver is not None
    try:
        driver.executemany(sql, values)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, values, exc, sqlite3.Error, ismulti=True) from exc
