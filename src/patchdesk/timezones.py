"""The operator's time zone: the configured one, else the machine's (as an IANA zone)."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC_ZONE = ZoneInfo("UTC")


def _zone(name: str) -> ZoneInfo | None:
    name = name.strip().lstrip(":")
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def machine_zone() -> ZoneInfo:
    """The machine's zone: ``$TZ``, the ``/etc/localtime`` link, ``/etc/timezone``; else UTC."""
    zone = _zone(os.environ.get("TZ", ""))
    if zone is not None:
        return zone
    localtime = Path("/etc/localtime")
    try:
        target = str(localtime.resolve())
    except OSError:
        target = ""
    if "zoneinfo/" in target:
        zone = _zone(target.split("zoneinfo/", 1)[1])
        if zone is not None:
            return zone
    try:
        zone = _zone(Path("/etc/timezone").read_text(encoding="utf-8"))
    except OSError:
        zone = None
    return zone or UTC_ZONE


def operator_zone(configured: str | None) -> ZoneInfo:
    zone = _zone(configured) if configured else None
    return zone or machine_zone()
