"""Checks on what a technician types before it is stored (names, notes, outcomes, times).

Text from people is stored as given (it is untrusted; whatever displays it escapes it), but
it must fit its column and be storable on every backend: names are single-line and at most
100 characters, notes at most ``MAX_NOTE`` characters and never contain NUL (PostgreSQL
text cannot hold it). Each check returns the value to store or raises ``Refused`` with one
line for the technician.
"""

from __future__ import annotations

import re
from datetime import datetime

MAX_NAME = 100  # operator, owner, author: String(100) columns
MAX_OUTCOME = 100  # remediation_records.outcome is String(100)
MAX_NOTE = 4000  # a remediation or exception note
MAX_HANDOVER_NOTE = 2000  # a handover note: a shift's summary, not an essay

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Refused(Exception):
    """An operation refused before anything was written; ``str()`` is one line for people."""


def name(value: str, what: str = "operator") -> str:
    """A person's name as the log records it: trimmed, non-blank, single-line, <= 100."""
    cleaned = value.strip()
    if not cleaned:
        raise Refused(f"{what}: must not be blank")
    if len(cleaned) > MAX_NAME:
        raise Refused(f"{what}: longer than {MAX_NAME} characters")
    if _CONTROL.search(cleaned):
        raise Refused(f"{what}: must not contain control characters")
    return cleaned


def note(value: str | None, what: str = "note", *, required: bool, limit: int = MAX_NOTE) -> str:
    """A free-text note, stored as typed; ``required`` refuses a blank one."""
    text = value or ""
    if required and not text.strip():
        raise Refused(f"{what}: required: say what was done or why, for the log")
    if len(text) > limit:
        raise Refused(f"{what}: longer than {limit} characters ({len(text)})")
    if "\x00" in text:
        raise Refused(f"{what}: must not contain NUL characters")
    return text if text.strip() else ""


def outcome(value: str | None, default: str) -> str:
    """A short outcome ("done", "no answer", ...): the default when blank, <= 100."""
    text = (value or "").strip() or default
    if len(text) > MAX_OUTCOME:
        raise Refused(f"outcome: longer than {MAX_OUTCOME} characters")
    if _CONTROL.search(text):
        raise Refused("outcome: must not contain control characters")
    return text


def instant(now: datetime) -> datetime:
    """``now`` must be timezone-aware (every time in patchdesk is aware UTC)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now
