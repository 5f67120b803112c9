"""The names a technician types to go somewhere: client ids and device hostnames (for
command-mode completion and the palette's "go to" search)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from patchdesk.store.models import Client, Device


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
