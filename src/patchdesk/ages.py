"""Ages and durations as people read them: one format for every screen, the command line and
the technicians' documents (handover, metrics), so ``1h33m`` on the board is ``1h33m`` in the
queue, in ``patchdesk exceptions`` and in the handover. Pure: no clock, no locale."""

from __future__ import annotations

from datetime import timedelta

__all__ = ["age"]


def age(delta: timedelta) -> str:
    """``<1m``, ``12m``, ``1h33m``, ``3d04h``, ``123d``: minute precision, cut down (never
    rounded up), never negative, at most 6 characters below 100,000 days (a queue's AGE
    column is that wide)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 1:
        return "<1m"
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    if days < 100:
        return f"{days}d{hours:02d}h"
    return f"{days}d"
