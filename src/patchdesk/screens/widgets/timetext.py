"""Times and durations as the screens print them (labelled zones; durations and ages in
the one format of ``patchdesk.ages``)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from patchdesk.ages import age

# The one format of ages and durations (``1h33m``), under the name the screens use.
duration = age


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
