"""Exceptions set up directly through the models, for the exception store and CLI tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from patchdesk.domain import (
    CLASS_RANK,
    Classification,
    Criticality,
    ExceptionState,
    FailureClass,
    OsFamily,
    Role,
    Severity,
    tier_of,
)
from patchdesk.store.db import Database
from patchdesk.store.models import (
    Client,
    Device,
    Event,
    HandoverNote,
    OperatorRequest,
    Patch,
    PatchException,
    RemediationRecord,
    Site,
)
from tests.conftest import NOW

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
        session.add(
            Client(
                id=client_id,
                name="Acme Dental",
                timezone="America/New_York",
                sla_tier="gold",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        site = Site(client_id=client_id, name="Main St")
        session.add(site)
        session.flush()
        for hostname, (role, criticality) in DEVICES.items():
            device = Device(
                client_id=client_id,
                site_id=site.id,
                hostname=hostname,
                role=role,
                criticality=criticality,
                os_family=OsFamily.WINDOWS,
                os_name="Windows Server 2022" if role is Role.SERVER else "Windows 11 Pro",
                # (one device per connector id: another client's are its own)
                connector_id=f"cid-{hostname}"
                if client_id == "acme"
                else f"cid-{client_id}-{hostname}",
                online=True,
                last_seen=NOW - timedelta(minutes=5),
                created_at=NOW,
                updated_at=NOW,
            )
            session.add(device)
            session.flush()
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


def add_exception(
    database: Database,
    device_id: int,
    failure_class: FailureClass,
    *,
    opened_at: datetime = NOW - timedelta(hours=2),
    patch_ids: list[int] | None = None,
    state: ExceptionState = ExceptionState.OPEN,
    owner: str | None = None,
    summary: str = "install failed with 0x80070005",
) -> int:
    with database.session() as session:
        device = session.get(Device, device_id)
        assert device is not None
        exception = PatchException(
            client_id=device.client_id,
            device_id=device_id,
            failure_class=failure_class,
            tier=tier_of(device.role, device.criticality),
            class_rank=CLASS_RANK[failure_class],
            state=state,
            owner=owner,
            summary=summary,
            patch_ids=patch_ids or [],
            opened_at=opened_at,
            acknowledged_at=opened_at if owner else None,
            resolved_at=opened_at + timedelta(minutes=30)
            if state is ExceptionState.RESOLVED
            else None,
            last_action="opened by engine",
            last_action_at=opened_at,
            updated_at=opened_at,
        )
        session.add(exception)
        session.flush()
        return exception.id


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
