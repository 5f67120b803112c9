"""Triage order: which exception a technician looks at first.

Tier (critical servers, other servers, shared workstations, single-user endpoints), then
class (offline, regression, reboot, install), then age (oldest first), then id. This
function is the definition; ``patchdesk.store.queue`` asks the database for the same order
through the ``ix_exceptions_triage`` index, and a test holds the two together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from patchdesk.domain import CLASS_RANK, FailureClass, Tier, tier_of

__all__ = ["TriageItem", "class_rank", "sort_queue", "tier_of", "triage_key"]


def class_rank(failure_class: FailureClass) -> int:
    return CLASS_RANK[failure_class]


def triage_key(
    tier: Tier, failure_class: FailureClass, opened_at: datetime, exception_id: int
) -> tuple[str, int, datetime, int]:
    """Sort key: lower sorts first."""
    return (tier.value, class_rank(failure_class), opened_at, exception_id)


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
