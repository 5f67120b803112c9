"""Executemany without SQLAlchemy's work per row, on SQLite.

An executemany through SQLAlchemy builds and type-processes each parameter set on its own
(``construct_params`` and the bind processors, row by row): on a large fleet the engine
writes millions of rows in a cycle and that work was a tenth of its time. :func:`execute_many`
compiles a statement once per set of keys, and turns each row straight into the tuple the
driver takes, applying only the bind processors there are (datetimes, enums, JSON). The SQL,
the values and so the rows written are the same as SQLAlchemy's own.

Only plain statements take this path: every parameter given by the rows or a constant
(a value in the statement, or a column's scalar default), no RETURNING, no expanding
parameters. Anything else, and every backend but SQLite (whose driver SQLAlchemy tunes in
ways not worth copying), goes through ``Connection.execute`` as usual. A single row takes
the same path: SQLAlchemy's work per statement costs more than its work per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

from patchdesk.store import direct


@dataclass(frozen=True)
class _Plan:
    sql: str
    keys: tuple[str, ...]  # of each row, in the statement's parameter order (repeats too)
    constants: tuple[tuple[int, Any], ...]  # (position, value already processed), ascending
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # position -> bind processor


_NO_PLAN = object()
_plans: dict[tuple[int, str, tuple[str, ...]], Any] = {}
_keep: dict[int, UpdateBase] = {}  # the statements planned (so their ids stay theirs)


def execute_many(
    connection: Connection, statement: UpdateBase, rows: Sequence[Mapping[str, Any]]
) -> None:
    """``connection.execute(statement, rows)``, faster for many rows on SQLite. Meant for
    long-lived statements (module constants): each statement planned is kept for good."""
    if not rows:
        return
    dialect = connection.dialect
    if dialect.name != "sqlite":
        connection.execute(statement, list(rows))
        return
    keys = tuple(rows[0])
    cache_key = (id(statement), dialect.name, keys)
    plan = _plans.get(cache_key)
    if plan is None:
        plan = _plan(statement, keys, dialect)
        _plans[cache_key] = plan
        _keep[id(statement)] = statement
    if plan is _NO_PLAN or set(map(len, rows)) != {len(keys)}:
        connection.execute(statement, list(rows))
        return
    assert isinstance(plan, _Plan)
    direct.execute_many(connection, plan.sql, _values(plan, rows))


def _values(plan: _Plan, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """Each row as the driver's tuple: built column by column (the rows' values taken in
    the statement's order, each constant put in its place, each processor mapped over its
    column), then turned back into rows."""
    get = itemgetter(*plan.keys)
    columns: list[Iterable[Any]]
    if len(plan.keys) == 1:
        columns = [list(map(get, rows))]
    else:
        columns = list(zip(*map(get, rows), strict=True))
    for position, value in plan.constants:  # (ascending positions)
        columns.insert(position, repeat(value, len(rows)))
    for position, process in plan.processors:
        columns[position] = map(process, columns[position])
    return list(zip(*columns, strict=True))


def _plan(statement: UpdateBase, keys: tuple[str, ...], dialect: Dialect) -> Any:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    if not isinstance(compiled, SQLCompiler) or not compiled.positional:
        return _NO_PLAN
    names = compiled.positiontup
    if (
        names is None
        or compiled.effective_returning
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or compiled.update_prefetch
        or compiled.escaped_bind_names
    ):
        return _NO_PLAN
    defaults: dict[str, Any] = {}
    for column in compiled.insert_prefetch:
        default = column.default
        if default is None or not default.is_scalar:
            return _NO_PLAN
        defaults[column.key] = cast(Any, default).arg
    order: list[str] = []
    constants: dict[int, Any] = {}
    processors: list[tuple[int, Callable[[Any], Any]]] = []
    for position, name in enumerate(names):
        bind = compiled.binds[name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name in keys:
            order.append(name)
            if process is not None:
                processors.append((position, process))
            continue
        if name in defaults:
            value = defaults[name]
        elif not bind.required and bind.callable is None and not bind.expanding:
            value = bind.value
        else:
            return _NO_PLAN
        constants[position] = process(value) if process is not None else value
    if set(order) != set(keys):
        return _NO_PLAN  # a key the statement does not use
    # (A key used twice, e.g. in SET and in a COALESCE, is taken twice from each row.)
    return _Plan(compiled.string, tuple(order), tuple(sorted(constants.items())), tuple(processors))
