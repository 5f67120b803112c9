"""What a connector says devices miss, into ``patches`` and ``device_patches``, in bulk.

The engine refreshes the missing patches of a window's devices when the window opens
(``engine.deployments.refresh_missing``): hundreds of devices, thousands of rows, a
thousand windows in a cycle of a large MSP. It writes what
``missing_patch_ops.apply_missing_patches`` (the CSV import) writes for the same report —
patches created or updated by vendor id, device patches added or reopened, one
``patches.imported`` event — and then marks installed the stored missing patches a device no
longer reports (one ``patches.no_longer_missing`` event), but with Core statements only: one
read of the patches named, one of the devices' stored rows, and one bulk statement per kind of
write.

It returns what the devices miss after it (their rows not installed), known from that one
read and the writes: the engine's approvals load takes it instead of reading those rows again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from patchdesk.domain import MissingPatch, MissingPatchState
from patchdesk.store import direct
from patchdesk.store.bulk import execute_many
from patchdesk.store.events import record_event
from patchdesk.store.models import DevicePatch, Patch

NO_LONGER_MISSING = "patches.no_longer_missing"
CHUNK = 5_000  # values per IN (...) list

PATCH_COLUMNS = (
    "title",
    "vendor",
    "product",
    "classification",
    "severity",
    "release_date",
    "reboot_required",
)
EVENT_KIND = "patches.imported"

_patches = cast(Table, Patch.__table__)
_device_patches = cast(Table, DevicePatch.__table__)
_STORED_PATCHES = select(
    _patches.c.vendor_id, _patches.c.id, *(_patches.c[name] for name in PATCH_COLUMNS)
).where(_patches.c.vendor_id.in_(bindparam("vendor_ids", expanding=True)))
_INSERT_PATCHES = insert(_patches)
_UPDATE_PATCH = (
    update(_patches)
    .where(_patches.c.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}") for name in PATCH_COLUMNS})
)
_STORED_ROWS = select(
    _device_patches.c.device_id,
    _device_patches.c.patch_id,
    _device_patches.c.id,
    _device_patches.c.state,
).where(_device_patches.c.device_id.in_(bindparam("devices", expanding=True)))
# A new row is missing, never installed: those two are constants of the statement (bound
# once, not per row: a refresh inserts thousands).
_INSERT_MISSING = insert(_device_patches).values(state=MissingPatchState.MISSING, installed_at=None)
_REOPEN = (
    update(_device_patches)
    .where(_device_patches.c.id == bindparam("b_id"))
    .values(
        state=MissingPatchState.MISSING,
        installed_at=None,
        detected_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
    )
)
_GONE = (
    update(_device_patches)
    .where(_device_patches.c.id == bindparam("b_id"))
    .values(
        state=MissingPatchState.INSTALLED,
        installed_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
    )
)


def patch_columns(patch: MissingPatch) -> dict[str, object]:
    """The ``patches`` columns a report sets (all but the key, ``vendor_id``)."""
    return {name: getattr(patch, name) for name in PATCH_COLUMNS}


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[first : first + CHUNK] for first in range(0, len(values), CHUNK)]


def record_reported(
    session: Session,
    client_id: str,
    reported: Sequence[tuple[int, Sequence[MissingPatch]]],
    now: datetime,
) -> dict[int, frozenset[int]]:
    """``reported``: (device id, what the device misses), devices in the order the rows are
    to be written (the CSV import's order: by connector id). Devices not listed are left as
    they were.

    Returns, for each device listed, the ids of the patches of its rows not installed once
    written (what ``device_patches`` now holds for it, state not ``installed``)."""
    if not reported:
        return {}
    wanted: dict[str, MissingPatch] = {}
    for _, patches in reported:
        for patch in patches:
            wanted.setdefault(patch.vendor_id, patch)
    patch_ids = _upsert_patches(session, wanted)
    stored = _stored_rows(session, sorted({device_id for device_id, _ in reported}))
    added: list[dict[str, Any]] = []
    reopened: list[dict[str, Any]] = []
    answered: dict[int, set[int]] = {}
    for device_id, patches in reported:
        have = stored.setdefault(device_id, {})
        named = answered.setdefault(device_id, set())
        for patch in patches:
            patch_id = patch_ids[patch.vendor_id]
            named.add(patch_id)
            current = have.get(patch_id)
            if current is None:
                added.append(
                    {
                        "device_id": device_id,
                        "patch_id": patch_id,
                        "detected_at": now,
                        "updated_at": now,
                    }
                )
                have[patch_id] = (0, MissingPatchState.MISSING)
            elif current[1] is MissingPatchState.INSTALLED:
                reopened.append({"b_id": current[0], "b_now": now})
                have[patch_id] = (current[0], MissingPatchState.MISSING)
    if added:
        execute_many(session.connection(), _INSERT_MISSING, added)
    if reopened:
        execute_many(session.connection(), _REOPEN, reopened)
    if added or reopened:
        record_event(
            session,
            at=now,
            kind=EVENT_KIND,
            entity="client",
            entity_id=client_id,
            client_id=client_id,
            payload={"added": len(added), "reopened": len(reopened)},
        )
    gone = [{"b_id": row_id, "b_now": now} for row_id in _gone(stored, answered)]
    if gone:
        execute_many(session.connection(), _GONE, gone)
        record_event(
            session,
            at=now,
            kind=NO_LONGER_MISSING,
            entity="client",
            entity_id=client_id,
            client_id=client_id,
            payload={"installed": len(gone)},
        )
    return _not_installed(stored, answered)


def _stored_rows(
    session: Session, device_ids: Sequence[int]
) -> dict[int, dict[int, tuple[int, MissingPatchState]]]:
    """Device id -> patch id -> (row id, state) of the devices' stored rows."""
    stored: dict[int, dict[int, tuple[int, MissingPatchState]]] = {}
    for chunk in _chunks(device_ids):
        for device_id, patch_id, row_id, state in direct.rows(
            session.connection(), _STORED_ROWS, {"devices": list(chunk)}
        ):
            stored.setdefault(device_id, {})[patch_id] = (row_id, state)
    return stored


def _gone(
    stored: Mapping[int, Mapping[int, tuple[int, MissingPatchState]]],
    answered: Mapping[int, Set[int]],
) -> list[int]:
    """Row ids, by (device id, patch id), of the rows still missing that a device answered
    about no longer names (the rows just added or reopened are named, so never gone)."""
    gone = [
        (device_id, patch_id, row_id)
        for device_id, named in answered.items()
        for patch_id, (row_id, state) in stored.get(device_id, {}).items()
        if state is MissingPatchState.MISSING and patch_id not in named
    ]
    return [row_id for _, _, row_id in sorted(gone)]


def _not_installed(
    stored: Mapping[int, Mapping[int, tuple[int, MissingPatchState]]],
    answered: Mapping[int, Set[int]],
) -> dict[int, frozenset[int]]:
    """Device id -> ids of its patches not installed after the writes, for each device that
    answered. ``stored`` holds its rows with those added and reopened already (as missing);
    the rows ``_gone`` marks installed are the missing ones it no longer names. A ``failed``
    row is left as it is, named or not."""
    return {
        device_id: frozenset(
            patch_id
            for patch_id, (_, state) in stored.get(device_id, {}).items()
            if state is not MissingPatchState.INSTALLED
            and (state is not MissingPatchState.MISSING or patch_id in named)
        )
        for device_id, named in answered.items()
    }


def _upsert_patches(session: Session, wanted: Mapping[str, MissingPatch]) -> dict[str, int]:
    """vendor id -> patch id for every patch named, created (in the order given) or
    updated to what the report says."""
    vendor_ids = list(wanted)
    found: dict[str, int] = {}
    changed: list[dict[str, Any]] = []
    for chunk in _chunks(vendor_ids):
        for vendor_id, patch_id, *values in direct.rows(
            session.connection(), _STORED_PATCHES, {"vendor_ids": list(chunk)}
        ):
            found[vendor_id] = patch_id
            columns = patch_columns(wanted[vendor_id])
            if tuple(columns.values()) != tuple(values):
                changed.append({"b_id": patch_id, **{f"b_{k}": v for k, v in columns.items()}})
    new = [
        {"vendor_id": vendor_id, **patch_columns(patch)}
        for vendor_id, patch in wanted.items()
        if vendor_id not in found
    ]
    if changed:
        session.connection().execute(_UPDATE_PATCH, changed)
    if new:
        session.connection().execute(_INSERT_PATCHES, new)
        for chunk in _chunks([row["vendor_id"] for row in new]):
            for vendor_id, patch_id, *_ in direct.rows(
                session.connection(), _STORED_PATCHES, {"vendor_ids": list(chunk)}
            ):
                found[vendor_id] = patch_id
    return found
