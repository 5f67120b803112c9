"""The triage order written out in Python, for tests: the store's ORDER BY
(``patchdesk.store.triage_order``) is the definition, and tests compare what the store
serves with this.

Tier (critical servers, other servers, shared workstations, single-user endpoints), then
class (offline, regression, reboot, install, missed), then age (oldest first), then id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from patchdesk.domain import CLASS_RANK, FailureClass, Tier


def triage_key(
    tier: Tier, failure_class: FailureClass, opened_at: datetime, exception_id: int
) -> tuple[str, int, datetime, int]:
    """Sort key: lower sorts first."""
    return (tier.value, CLASS_RANK[failure_class], opened_at, exception_id)


@dataclass(frozen=True)
class TriageItem:
    """The fields triage looks at (an exception, or anything shaped like one)."""

    id: int
    tier: Tier
    failure_class: FailureClass
    opened_at: datetime


T = TypeVar("T", bound=TriageItem)


def sort_queue(items: Iterable[T]) -> list[T]:
    return sorted(items, key=lambda i: triage_key(i.tier, i.failure_class, i.opened_at, i.id))
