"""Applying a validated device inventory (``patchdesk.inventory.devices``) to the store.

Importing is an upsert keyed by (client, hostname): a row updates the device with that
hostname in place or creates it. Devices that are not in the file are left alone (an
import never deletes or retires a device). A device whose values are already those of its
row is not written, so importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from patchdesk.domain import os_family_of
from patchdesk.inventory.device_import import (
    MOVE_ACTION,
    ClientSummary,
    ExternalIdConflicts,
    ExternalIdMove,
    ImportSummary,
    Key,
    MoveExternalIds,
    UnknownClientsError,
    plan_external_ids,
    shown,
)
from patchdesk.inventory.devices import InventoryRow
from patchdesk.store.events import record_event
from patchdesk.store.models import Client, Device, Site
from patchdesk.store.remediation_log import LogEntry, append


def known_client_ids(session: Session) -> frozenset[str]:
    return frozenset(session.scalars(select(Client.id)))


def apply_inventory(
    session: Session,
    rows: Sequence[InventoryRow],
    *,
    now: datetime,
    moves: MoveExternalIds | None = None,
) -> ImportSummary:
    """Create or update the rows' devices (and sites) in the caller's transaction.

    Use a ``Database.writer()`` session so the whole import is one transaction. Before
    writing anything, raises ``UnknownClientsError`` if a row's client does not exist, and
    ``ExternalIdConflicts`` if, after the import, two devices would have the same external
    id, or if a row would move an RMM link and ``moves`` is None. With ``moves``, every
    device whose link moves gets a remediation-log record by ``moves.operator``.
    """
    client_ids = sorted({row.client_id for row in rows})
    missing = sorted(set(client_ids) - set(_existing_clients(session, client_ids)))
    if missing:
        raise UnknownClientsError(missing)
    existing = _devices_by_key(session, client_ids)
    linked = _linked_devices(session)
    planned, conflicts = plan_external_ids(rows, existing, linked, moves is not None)
    if conflicts:
        raise ExternalIdConflicts(conflicts)
    summaries = {client_id: ClientSummary(client_id) for client_id in client_ids}
    site_ids = _ensure_sites(session, rows, summaries)
    # An id moving between devices is released first, so that no statement ever sees it twice.
    for move in planned:
        released = existing.get((move.client_id, move.hostname))
        if released is not None and released.connector_id is not None:
            released.connector_id = None
    session.flush()
    devices: dict[tuple[str, str], Device | _NewDevice] = {**existing}
    created: list[_NewDevice] = []  # written in one statement (imports can be large)
    for row in rows:
        summary = summaries[row.client_id]
        site_id = site_ids[(row.client_id, row.site)] if row.site is not None else None
        device = devices.get((row.client_id, row.hostname))
        if device is None:
            new = _NewDevice(new_device_values(row, site_id, now))
            created.append(new)
            devices[(row.client_id, row.hostname)] = new
            summary.created += 1
        elif update_device(device, desired_values(row, site_id), now):
            summary.updated += 1
        else:
            summary.unchanged += 1
    session.flush()
    if created:
        session.execute(insert(cast(Table, Device.__table__)), [new.values for new in created])
    for summary in summaries.values():
        if summary.touched:
            record_event(
                session,
                at=now,
                kind="inventory.imported",
                entity="client",
                entity_id=summary.client_id,
                client_id=summary.client_id,
                payload={"created": summary.created, "updated": summary.updated},
            )
    logged = _log_moves(session, planned, moves, now) if moves is not None else []
    session.flush()
    return ImportSummary(tuple(summaries.values()), tuple(logged))


def _log_moves(
    session: Session, planned: Sequence[ExternalIdMove], moves: MoveExternalIds, now: datetime
) -> list[ExternalIdMove]:
    """One remediation-log record per device whose RMM link moved, by the operator."""
    if not planned:
        return []
    keys = {(move.client_id, move.hostname) for move in planned}
    ids = {
        key: device.id
        for key, device in _devices_by_key(session, sorted({c for c, _ in keys})).items()
        if key in keys
    }
    logged: list[ExternalIdMove] = []
    for move in planned:
        note = (
            f"inventory import {moves.source}:{move.line}: external_id {shown(move.old)} -> "
            f"{move.new!r}"
        )
        if move.taken_from is not None:
            note += f", which {move.taken_from[1]!r} of client {move.taken_from[0]!r} had"
        record = append(
            session,
            LogEntry(
                at=now,
                actor=moves.operator,
                operator=moves.operator,
                action=MOVE_ACTION,
                outcome="moved",
                note=note,
                client_id=move.client_id,
                device_id=ids[(move.client_id, move.hostname)],
            ),
        )
        logged.append(replace(move, record_seq=record.seq))
    return logged


def desired_values(row: InventoryRow, site_id: int | None) -> dict[str, object]:
    """The device attributes a row sets. An empty external_id leaves the connector id alone."""
    values: dict[str, object] = {
        "site_id": site_id,
        "role": row.role,
        "criticality": row.criticality,
        "os_name": row.os_name,
        "os_family": os_family_of(row.os_name),
        "tags": list(row.tags),
    }
    if row.external_id is not None:
        values["connector_id"] = row.external_id
    return values


def new_device_values(row: InventoryRow, site_id: int | None, now: datetime) -> dict[str, object]:
    return {
        "client_id": row.client_id,
        "hostname": row.hostname,
        "os_version": "",
        "maintenance_mode": False,
        "created_at": now,
        "updated_at": now,
        "connector_id": None,
        **desired_values(row, site_id),
    }


class _NewDevice:
    """A device this import creates, before it is written (a repeated row updates it)."""

    values: dict[str, object]

    def __init__(self, values: dict[str, object]) -> None:
        object.__setattr__(self, "values", values)

    def __getattr__(self, name: str) -> object:
        return self.values[name]

    def __setattr__(self, name: str, value: object) -> None:
        self.values[name] = value


def update_device(device: Device | _NewDevice, values: dict[str, object], now: datetime) -> bool:
    """Set the values that differ; bump ``updated_at`` only if one did. True if changed."""
    changed = {name: value for name, value in values.items() if getattr(device, name) != value}
    for name, value in changed.items():
        setattr(device, name, value)
    if changed:
        device.updated_at = now
    return bool(changed)


def _existing_clients(session: Session, client_ids: Iterable[str]) -> list[str]:
    return list(session.scalars(select(Client.id).where(Client.id.in_(list(client_ids)))))


def _ensure_sites(
    session: Session, rows: Sequence[InventoryRow], summaries: dict[str, ClientSummary]
) -> dict[tuple[str, str], int]:
    """(client, site name) -> site id for every site the rows name, creating missing ones."""
    wanted = list(dict.fromkeys((row.client_id, row.site) for row in rows if row.site is not None))
    query = select(Site).where(Site.client_id.in_(list(summaries)))
    sites = {(site.client_id, site.name): site for site in session.scalars(query)}
    for client_id, name in wanted:
        if (client_id, name) not in sites:
            sites[(client_id, name)] = Site(client_id=client_id, name=name)
            session.add(sites[(client_id, name)])
            summaries[client_id].sites_created.append(name)
    session.flush()
    return {key: site.id for key, site in sites.items()}


def _devices_by_key(session: Session, client_ids: Sequence[str]) -> dict[tuple[str, str], Device]:
    query = select(Device).where(Device.client_id.in_(list(client_ids)))
    return {(device.client_id, device.hostname): device for device in session.scalars(query)}


def _linked_devices(session: Session) -> dict[Key, str]:
    """Every device that has an external id (of any client), with it."""
    query = select(Device.client_id, Device.hostname, Device.connector_id).where(
        Device.connector_id.is_not(None)
    )
    return {
        (client_id, hostname): connector_id
        for client_id, hostname, connector_id in session.execute(query)
        if connector_id is not None
    }
