"""Times and durations as the screens print them (labelled zones, compact durations)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def duration(delta: timedelta) -> str:
    """``<1m``, ``12m``, ``2h05m``, ``3d04h``: compact, minute precision, never negative."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 1:
        return "<1m"
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def zone_label(moment: datetime, zone: ZoneInfo) -> str:
    """The zone's abbreviation at ``moment`` (``CET``), or its UTC offset when it has none."""
    name = moment.astimezone(zone).tzname() or zone.key
    return name if name[:1].isalpha() else f"UTC{name}"


def clock(moment: datetime, zone: ZoneInfo, *, seconds: bool = False) -> str:
    return moment.astimezone(zone).strftime("%H:%M:%S" if seconds else "%H:%M")


def local_range(start: datetime, end: datetime, zone: ZoneInfo, *, label: bool = True) -> str:
    """``21:00–01:00+1 CET``: a window in its client's wall time (``+1`` a day later);
    without ``label`` when the zone is shown beside it."""
    first, last = start.astimezone(zone), end.astimezone(zone)
    days = (last.date() - first.date()).days
    later = f"+{days}" if days > 0 else ""
    suffix = f" {zone_label(start, zone)}" if label else ""
    return f"{first:%H:%M}–{last:%H:%M}{later}{suffix}"


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except Exception:  # a zone the store holds but this machine lacks: show UTC, labelled
        return ZoneInfo("UTC")
