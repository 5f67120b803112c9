"""Whether a client exists, and its time zone's name: what commands check before acting."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from patchdesk.store.models import Client


def client_exists(session: Session, client_id: str) -> bool:
    return session.get(Client, client_id) is not None


def client_timezone(session: Session, client_id: str) -> str | None:
    """The client's IANA time zone name; None when there is no such client."""
    return session.scalar(select(Client.timezone).where(Client.id == client_id))
