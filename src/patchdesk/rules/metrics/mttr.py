"""Mean time to remediate (pure): exception opened -> resolved, for exceptions resolved in
a period; mean, median and p90.

A reopened exception keeps its first ``opened_at`` and loses its ``resolved_at`` until it is
resolved again (``store.exception_ops``), so it counts once, from its first opening to its
last resolution, in the period of that last resolution; while reopened it does not count.
The median of an even count is the mean of the two middle values; p90 is the nearest-rank
90th percentile (the ceil(0.9 n)-th smallest).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from patchdesk.domain import Tier

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Resolution:
    exception_id: int
    client_id: str
    tier: Tier
    opened_at: datetime
    resolved_at: datetime

    @property
    def duration(self) -> timedelta:
        return self.resolved_at - self.opened_at


@dataclass(frozen=True)
class MttrFigures:
    count: int
    mean: timedelta | None
    median: timedelta | None
    p90: timedelta | None


EMPTY = MttrFigures(0, None, None, None)


def resolved_between(
    resolutions: Iterable[Resolution], start: datetime, end: datetime
) -> list[Resolution]:
    """Those resolved in [start, end)."""
    return [r for r in resolutions if start <= r.resolved_at < end]


def mttr(resolutions: Iterable[Resolution]) -> MttrFigures:
    """Mean, median and p90 of opened -> resolved (whole seconds kept as given)."""
    durations = sorted(r.duration for r in resolutions)
    count = len(durations)
    if not count:
        return EMPTY
    mean = sum(durations, timedelta()) / count
    middle = count // 2
    median = durations[middle] if count % 2 else (durations[middle - 1] + durations[middle]) / 2
    p90 = durations[math.ceil(0.9 * count) - 1]
    return MttrFigures(count, mean, median, p90)


def mttr_by(
    resolutions: Iterable[Resolution], key: Callable[[Resolution], K]
) -> dict[K, MttrFigures]:
    groups: dict[K, list[Resolution]] = defaultdict(list)
    for resolution in resolutions:
        groups[key(resolution)].append(resolution)
    return {group: mttr(items) for group, items in groups.items()}
