"""Exceptions set up directly through the models, for the exception store and CLI tests: a
client's fleet of one device per tier (rows from ``tests.factories``), and what the tests
read back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select

from patchdesk.domain import (
    Classification,
    Criticality,
    Role,
    Severity,
)
from patchdesk.store.db import Database
from patchdesk.store.models import (
    Event,
    HandoverNote,
    OperatorRequest,
    Patch,
    PatchException,
    RemediationRecord,
    Site,
)
from tests.conftest import NOW
from tests.factories import add_client, add_device
from tests.factories import add_exception as add_exception  # where the tests took it from

# hostname -> (role, criticality): one device of each tier
DEVICES: dict[str, tuple[Role, Criticality]] = {
    "DC01": (Role.SERVER, Criticality.CRITICAL),
    "APP02": (Role.SERVER, Criticality.STANDARD),
    "FRONTDESK": (Role.SHARED_WORKSTATION, Criticality.STANDARD),
    "LAPTOP-ANNA": (Role.SINGLE_USER, Criticality.STANDARD),
}
PATCHES = ("KB5044281", "KB5044999", "7zip-24.08")


@dataclass
class Seeded:
    client_id: str = "acme"
    devices: dict[str, int] = field(default_factory=dict)  # hostname -> id
    patches: dict[str, int] = field(default_factory=dict)  # vendor id -> id


def seed_fleet(database: Database, *, client_id: str = "acme", extra: bool = True) -> Seeded:
    """A client (New York) with a site, one device per tier, and three patches."""
    seeded = Seeded(client_id=client_id)
    with database.session() as session:
        add_client(session, client_id)
        site = Site(client_id=client_id, name="Main St")
        session.add(site)
        session.flush()
        for hostname, (role, criticality) in DEVICES.items():
            device = add_device(
                session,
                client_id,
                hostname,
                role=role,
                criticality=criticality,
                site_id=site.id,
                os_name="Windows Server 2022" if role is Role.SERVER else "Windows 11 Pro",
                # (one device per connector id: another client's are its own)
                connector_id=f"cid-{hostname}"
                if client_id == "acme"
                else f"cid-{client_id}-{hostname}",
                online=True,
                last_seen=NOW - timedelta(minutes=5),
            )
            seeded.devices[hostname] = device.id
        if extra:
            for n, vendor_id in enumerate(PATCHES):
                patch = Patch(
                    vendor_id=vendor_id,
                    title=f"Cumulative update {n}",
                    vendor="Microsoft" if vendor_id.startswith("KB") else "7-Zip",
                    product="Windows",
                    classification=Classification.SECURITY,
                    severity=Severity.CRITICAL,
                    release_date=date(2026, 11, 10),
                    reboot_required=True,
                )
                session.add(patch)
                session.flush()
                seeded.patches[vendor_id] = patch.id
    return seeded


@dataclass(frozen=True)
class Counts:
    records: int
    events: int
    commands: int
    notes: int


def counts(database: Database) -> Counts:
    with database.session() as session:

        def count(model: type[object]) -> int:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

        return Counts(
            count(RemediationRecord), count(Event), count(OperatorRequest), count(HandoverNote)
        )


def get_exception(database: Database, exception_id: int) -> PatchException:
    with database.session() as session:
        row = session.get(PatchException, exception_id)
        assert row is not None
        return row
