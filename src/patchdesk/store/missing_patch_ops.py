"""Applying a validated missing-patch report (``patchdesk.inventory.patches``) to the store.

Importing upserts the patch by ``patch_id`` (its title, vendor, product ... are updated to the
file's) and records that each device misses it: a new device-patch row (state ``missing``),
or a row that said ``installed`` set back to ``missing``; a ``missing`` or ``failed`` row is
left as it is. Devices and patches not in the file are left alone (an import never marks a
patch installed). Importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from patchdesk.domain import MissingPatchState
from patchdesk.inventory.patches import (
    ClientPatchSummary,
    MissingRow,
    PatchImportSummary,
    UnknownDevicesError,
)
from patchdesk.store.events import record_event
from patchdesk.store.missing_refresh import EVENT_KIND, patch_columns
from patchdesk.store.models import Client, Device, DevicePatch, Patch


def known_devices(session: Session) -> dict[str, list[str]]:
    """Each client id with its devices' hostnames (clients without devices included)."""
    found: dict[str, list[str]] = {
        client_id: [] for client_id in session.scalars(select(Client.id))
    }
    for client_id, hostname in session.execute(select(Device.client_id, Device.hostname)):
        found.setdefault(client_id, []).append(hostname)
    return found


def apply_missing_patches(
    session: Session, rows: Sequence[MissingRow], *, now: datetime
) -> PatchImportSummary:
    """Upsert the rows' patches and device-patch rows in the caller's transaction.

    Use a ``Database.writer()`` session. Raises ``UnknownDevicesError`` before writing
    anything when a row's device no longer exists.
    """
    device_ids = _device_ids(session, rows)
    patches, created, updated, unchanged = _upsert_patches(session, rows)
    summaries = {row.client_id: ClientPatchSummary(row.client_id) for row in rows}
    existing = _device_patches(session, device_ids.values(), [p.id for p in patches.values()])
    added: list[dict[str, Any]] = []
    reopened: list[dict[str, Any]] = []
    for row in rows:
        summary = summaries[row.client_id]
        device_id = device_ids[(row.client_id, row.hostname)]
        patch_id = patches[row.patch.vendor_id].id
        current = existing.get((device_id, patch_id))
        if current is None:
            added.append(
                {
                    "device_id": device_id,
                    "patch_id": patch_id,
                    "state": MissingPatchState.MISSING,
                    "detected_at": now,
                    "installed_at": None,
                    "updated_at": now,
                }
            )
            summary.added += 1
        elif current[1] is MissingPatchState.INSTALLED:
            reopened.append({"b_id": current[0], "b_now": now})
            summary.reopened += 1
        else:
            summary.unchanged += 1
    if added:
        session.connection().execute(_INSERT_DEVICE_PATCHES, added)
    if reopened:
        session.connection().execute(_REOPEN, reopened)
    for summary in summaries.values():
        if summary.added or summary.reopened:
            record_event(
                session,
                at=now,
                kind=EVENT_KIND,
                entity="client",
                entity_id=summary.client_id,
                client_id=summary.client_id,
                payload={"added": summary.added, "reopened": summary.reopened},
            )
    session.flush()
    return PatchImportSummary(
        tuple(created), tuple(updated), unchanged, tuple(sorted(summaries.values(), key=_by_id))
    )


def _by_id(summary: ClientPatchSummary) -> str:
    return summary.client_id


def _device_ids(session: Session, rows: Sequence[MissingRow]) -> dict[tuple[str, str], int]:
    wanted = sorted({(row.client_id, row.hostname) for row in rows})
    found: dict[tuple[str, str], int] = {}
    for client_id in sorted({client for client, _ in wanted}):
        query = select(Device.hostname, Device.id).where(Device.client_id == client_id)
        for hostname, device_id in session.execute(query):
            found[(client_id, hostname)] = device_id
    missing = [key for key in wanted if key not in found]
    if missing:
        raise UnknownDevicesError(missing)
    return found


def _upsert_patches(
    session: Session, rows: Sequence[MissingRow]
) -> tuple[dict[str, Patch], list[str], list[str], int]:
    """vendor id -> Patch row for every patch in ``rows``, and what was created/updated."""
    wanted = {row.patch.vendor_id: row.patch for row in rows}
    stored = {
        patch.vendor_id: patch
        for patch in session.scalars(select(Patch).where(Patch.vendor_id.in_(list(wanted))))
    }
    created: list[str] = []
    updated: list[str] = []
    unchanged = 0
    for vendor_id, values in wanted.items():
        patch = stored.get(vendor_id)
        if patch is None:
            stored[vendor_id] = Patch(vendor_id=vendor_id, **patch_columns(values))
            session.add(stored[vendor_id])
            created.append(vendor_id)
            continue
        changed = {k: v for k, v in patch_columns(values).items() if getattr(patch, k) != v}
        for name, value in changed.items():
            setattr(patch, name, value)
        if changed:
            updated.append(vendor_id)
        else:
            unchanged += 1
    session.flush()
    return stored, created, updated, unchanged


_DEVICE_PATCHES = cast(Table, DevicePatch.__table__)
_INSERT_DEVICE_PATCHES = insert(_DEVICE_PATCHES)
_REOPEN = (
    update(_DEVICE_PATCHES)
    .where(_DEVICE_PATCHES.c.id == bindparam("b_id"))
    .values(
        state=MissingPatchState.MISSING,
        installed_at=None,
        detected_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
    )
)


def _device_patches(
    session: Session, device_ids: Collection[int], patch_ids: Collection[int]
) -> dict[tuple[int, int], tuple[int, MissingPatchState]]:
    """(device id, patch id) -> (row id, state) of the rows already stored."""
    if not device_ids or not patch_ids:
        return {}
    table = _DEVICE_PATCHES
    query = select(table.c.device_id, table.c.patch_id, table.c.id, table.c.state).where(
        table.c.device_id.in_(sorted(set(device_ids))),
        table.c.patch_id.in_(sorted(set(patch_ids))),
    )
    return {
        (device_id, patch_id): (row_id, state)
        for device_id, patch_id, row_id, state in session.execute(query)
    }
