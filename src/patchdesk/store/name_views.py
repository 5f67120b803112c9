"""The names a technician types: client ids and device hostnames to go somewhere (for
command-mode completion and the palette's "go to" search), and technicians' names seen in
the remediation log (to complete an assignment)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patchdesk.store.models import Client, Device, RemediationRecord

ENGINE_ACTOR = "engine"  # the engine's records name it as their actor


@dataclass(frozen=True)
class Names:
    clients: tuple[str, ...]  # client ids, sorted
    client_names: dict[str, str]  # id -> display name
    hosts: tuple[str, ...]  # distinct hostnames, sorted case-insensitively


def read_names(session: Session) -> Names:
    clients = {
        row.id: row.name
        for row in session.execute(select(Client.id, Client.name).order_by(Client.id))
    }
    hosts = sorted(set(session.scalars(select(Device.hostname))), key=str.casefold)
    return Names(tuple(clients), clients, tuple(hosts))


def technician_names(session: Session, *, limit: int = 200) -> list[str]:
    """Who has worked on exceptions in the remediation log (the engine aside), the most
    recent first."""
    latest = func.max(RemediationRecord.seq)
    rows = session.execute(
        select(RemediationRecord.actor, latest)
        .where(
            RemediationRecord.actor != ENGINE_ACTOR,
            RemediationRecord.exception_id.is_not(None),
        )
        .group_by(RemediationRecord.actor)
        .order_by(latest.desc())
        .limit(limit)
    )
    return [actor for actor, _ in rows]
