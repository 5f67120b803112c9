"""The one definition of what the tests' worlds are made of: clients, devices (as model rows,
or as inventory rows for the import the engine's worlds go through), patch exceptions, the
terminal UI's services and the app itself. The world builders (``tests.exception_seed``,
``tests.reports.client_report_world``, ``tests.screens.approvals_world``, the engine's worlds and
the UI's fixtures) take their rows and apps from here; a test states only what differs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from patchdesk.app import PatchdeskApp
from patchdesk.domain import (
    CLASS_RANK,
    Criticality,
    ExceptionState,
    FailureClass,
    OsFamily,
    Role,
    tier_of,
)
from patchdesk.engine.live import LiveEngine
from patchdesk.inventory.devices import InventoryRow
from patchdesk.screens.services import Services
from patchdesk.store.db import Database, Session
from patchdesk.store.models import Client, Device, PatchException
from tests.conftest import NOW

OPERATOR = "alice"
OPERATOR_ZONE = ZoneInfo("Europe/Berlin")


def add_client(
    session: Session,
    client_id: str = "acme",
    *,
    name: str = "Acme Dental",
    timezone: str = "America/New_York",
    sla_tier: str = "gold",
    now: datetime = NOW,
) -> Client:
    """A client row, added to ``session``."""
    client = Client(
        id=client_id,
        name=name,
        timezone=timezone,
        sla_tier=sla_tier,
        created_at=now,
        updated_at=now,
    )
    session.add(client)
    return client


def add_device(
    session: Session,
    client_id: str,
    hostname: str,
    *,
    role: Role = Role.SERVER,
    criticality: Criticality = Criticality.STANDARD,
    site_id: int | None = None,
    os_name: str = "",
    tags: list[str] | None = None,
    connector_id: str | None = None,
    online: bool | None = None,
    last_seen: datetime | None = None,
    now: datetime = NOW,
) -> Device:
    """A Windows device row, added to ``session`` and flushed (its id is set)."""
    device = Device(
        client_id=client_id,
        site_id=site_id,
        hostname=hostname,
        role=role,
        criticality=criticality,
        os_family=OsFamily.WINDOWS,
        os_name=os_name,
        tags=tags if tags is not None else [],
        connector_id=connector_id,
        online=online,
        last_seen=last_seen,
        created_at=now,
        updated_at=now,
    )
    session.add(device)
    session.flush()
    return device


def inventory_row(
    line: int,
    client_id: str,
    hostname: str,
    *,
    role: Role = Role.SHARED_WORKSTATION,
    criticality: Criticality = Criticality.STANDARD,
    site: str | None = None,
    os_name: str = "Windows 11 Pro",
    tags: tuple[str, ...] = (),
    external_id: str | None = None,
) -> InventoryRow:
    """A device as a line of an inventory import (``line``: its line number in the file);
    its RMM id is ``cid-<hostname>`` unless given."""
    return InventoryRow(
        line=line,
        client_id=client_id,
        hostname=hostname,
        site=site,
        role=role,
        criticality=criticality,
        os_name=os_name,
        tags=tags,
        external_id=external_id if external_id is not None else f"cid-{hostname}",
    )


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
    """A patch exception on the device as the engine opens one (acknowledged when it has an
    owner, resolved half an hour after opening when ``state`` says so); its id."""
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


def services(
    database: Database,
    operator: str = OPERATOR,
    clock: Callable[[], datetime] = lambda: NOW,
    *,
    zone: ZoneInfo = OPERATOR_ZONE,
    simulated: bool = False,
    readonly: bool = False,
) -> Services:
    """What the UI's screens are given: the database, an operator in Berlin, a clock (frozen
    at ``tests.conftest.NOW`` unless given)."""
    return Services(
        database=database,
        operator=operator,
        clock=clock,
        local_zone=zone,
        simulated=simulated,
        readonly=readonly,
    )


def app(
    given: Services,
    *,
    engine: LiveEngine | None = None,
    clock_note: str = "",
) -> PatchdeskApp:
    """The whole terminal UI on ``given``, without animation (what a test compares is where
    things end up, not how they move)."""
    made = PatchdeskApp(given, engine=engine, clock_note=clock_note)
    made.animation_level = "none"
    return made
