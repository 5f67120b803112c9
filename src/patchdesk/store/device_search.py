"""Finding a device by hostname, for ``:device HOST`` and ``patchdesk exclusions``:
hostnames are unique per client only, so a name may match several devices; ``HOST@CLIENT``
narrows it to one client. Text inside (hostnames, names) is untrusted: escape it to display.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from patchdesk.domain import Role
from patchdesk.store.models import Client, Device, Site

MATCHES = 50  # devices a host search lists at most


@dataclass(frozen=True)
class DeviceMatch:
    """A device a hostname search found (enough to tell same-named devices apart)."""

    id: int
    hostname: str
    client_id: str
    client_name: str
    role: Role
    site: str | None


@dataclass(frozen=True)
class HostLookup:
    """What ``find_devices`` found for ``query``: ``exact`` matches the whole hostname
    (ignoring case); otherwise ``matches`` are devices whose hostname contains it."""

    query: str
    matches: tuple[DeviceMatch, ...]
    exact: bool
    more: bool  # more than ``MATCHES`` matched; only the first are listed

    @property
    def single(self) -> DeviceMatch | None:
        """The one device meant, when there is exactly one exact match."""
        return self.matches[0] if self.exact and len(self.matches) == 1 else None


def find_devices(session: Session, host: str, *, limit: int = MATCHES) -> HostLookup:
    """Devices named ``host`` (case-insensitive), or ``HOST@CLIENT`` for one client's device
    (the client by id or name, case-insensitive). With no exact match, the devices whose
    hostname contains ``host`` (the technician may have typed part of it)."""
    query = host.strip()
    if not query:
        return HostLookup(query, (), exact=False, more=False)
    candidates: list[tuple[str, str | None]] = [(query, None)]
    if "@" in query:
        before, _, after = query.rpartition("@")
        if before.strip() and after.strip():
            candidates.insert(0, (before.strip(), after.strip()))
    for exact in (True, False):
        for name, client in candidates:
            found = _matches(session, name, client, exact=exact, limit=limit)
            if found:
                return HostLookup(query, tuple(found[:limit]), exact, len(found) > limit)
    return HostLookup(query, (), exact=False, more=False)


def _matches(
    session: Session, name: str, client: str | None, *, exact: bool, limit: int
) -> list[DeviceMatch]:
    hostname = func.lower(Device.hostname)
    wanted = name.lower()
    statement = (
        select(Device.id, Device.hostname, Device.client_id, Client.name, Device.role, Site.name)
        .join(Client, Client.id == Device.client_id)
        .outerjoin(Site, Site.id == Device.site_id)
        .where(hostname == wanted if exact else hostname.contains(wanted, autoescape=True))
        .order_by(Device.client_id, Device.hostname, Device.id)
        .limit(limit + 1)
    )
    if client is not None:
        lowered = client.lower()
        statement = statement.where(
            or_(func.lower(Device.client_id) == lowered, func.lower(Client.name) == lowered)
        )
    return [
        DeviceMatch(device_id, hostname_, client_id, client_name, role, site)
        for device_id, hostname_, client_id, client_name, role, site in session.execute(statement)
    ]
