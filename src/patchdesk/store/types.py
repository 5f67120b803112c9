"""Column types shared by the models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Enum
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zone support, so the value is
    stored as naive UTC and given its zone back when read. Naive datetimes are refused on
    the way in: every time inside patchdesk is aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    # On SQLite the value goes to and from text in one step (the same text SQLAlchemy's
    # SQLite DATETIME writes, "2026-11-10 21:00:00.000000"): the engine binds and reads
    # millions of times, and the two-stage conversion was a tenth of a simulation's time.
    # The same instants come back again and again (a step's ``now`` is in every row it
    # writes), so the last few thousand conversions each way are remembered.

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _to_text

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return _from_text


_REMEMBERED = 4_096  # conversions kept each way (then forgotten all at once)
_texts: dict[datetime, str] = {}
_instants: dict[str, datetime] = {}


def _to_text(value: datetime | None) -> str | None:
    """An aware datetime as SQLite text in UTC (a naive one is refused)."""
    if value is None:
        return None
    text = _texts.get(value)  # (equal instants in any zone: the same UTC text)
    if text is None:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        if len(_texts) >= _REMEMBERED:
            _texts.clear()
        _texts[value] = text
    return text


def _from_text(value: str | None) -> datetime | None:
    """SQLite text back to an aware UTC datetime."""
    if value is None:
        return None
    instant = _instants.get(value)
    if instant is None:
        parsed = datetime.fromisoformat(value)
        aware = parsed.tzinfo is not None
        instant = parsed.astimezone(UTC) if aware else parsed.replace(tzinfo=UTC)
        if len(_instants) >= _REMEMBERED:
            _instants.clear()
        _instants[value] = instant
    return instant


def str_enum(enum_cls: type[StrEnum], name: str) -> Enum:
    """Store a StrEnum by value, as a string column with a CHECK constraint."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
        length=max(len(m.value) for m in enum_cls),
    )


def json_list() -> TypeEngine[Any]:
    """A JSON list column (tags, selectors, match criteria)."""
    return JSON()
