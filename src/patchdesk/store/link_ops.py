"""Writes about devices' link to the fleet: a device the engine leaves alone (its link is
inconsistent: ``engine.links``) is marked unknown."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.orm import Session

from patchdesk.store.models import Device

_CHUNK = 5_000  # ids per IN (...) list


def mark_unknown(session: Session, device_ids: Sequence[int]) -> None:
    """Neither online nor offline (``online`` NULL): the device gets no facts, so it is
    never dispatched."""
    for first in range(0, len(device_ids), _CHUNK):
        session.execute(
            update(Device)
            .where(Device.id.in_(list(device_ids[first : first + _CHUNK])))
            .values(online=None)
        )
