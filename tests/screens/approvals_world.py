"""A small client on the real simulator for the approvals screen's end-to-end tests.

"Acme Dental" (New York) has one nightly window (02:00-04:00 local, every day), one rule
(everything waits for a technician) and two rings: ``pilot`` (devices tagged pilot, soak
1 h, 90 %) then ``broad`` (the rest). Four Windows 11 workstations, two in each ring, on a
simulator where nothing fails. The engine has run through the first window (so the
devices' missing patches are known, and nothing was approved to deploy) and the clock
stands at 09:00 New York, outside every window.

Running the engine through that window is the slow part: the ``approvals_world`` fixture
(``tests.screens.conftest``) builds it once per test process and gives each test a copy (the
database file copied, the simulator, clock and engine deep-copied onto the copy).
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from patchdesk.connectors.sim.config import SimDevice, SimulatorConfig, SimulatorRates
from patchdesk.connectors.simulator import Simulator
from patchdesk.domain import OsFamily, Role
from patchdesk.engine.clock import VirtualClock
from patchdesk.engine.reconcile import Reconciler
from patchdesk.policy.load import PolicySet, load_sources
from patchdesk.store.db import Database
from patchdesk.store.inventory_ops import apply_inventory
from patchdesk.store.models import Deployment, Device, Patch, Target, TargetPatch
from patchdesk.store.policy_ops import apply_policies
from patchdesk.store.window_views import in_range, load_windows
from tests.factories import inventory_row

CLIENT = "acme"
POLICY = """
[client]
id = "acme"
name = "Acme Dental"
timezone = "America/New_York"
sla_tier = "gold"

[client.scope]
include_os = ["windows"]
patch_os = true
third_party = []

[[client.windows]]
name = "Nightly"
recurrence = { type = "weekly", days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] }
start = "02:00"
duration = "2h"
reboot = "if_required"
max_deferrals = 0
checkin_timeout = "1h"
max_concurrent = 20

[[client.approval_rules]]
name = "Everything by hand"
match = { any = true }
action = "manual"

[[client.rings]]
name = "pilot"
tags = ["pilot"]
soak = "1h"
min_success_rate = 0.9

[[client.rings]]
name = "broad"
tags = []
soak = "0h"
min_success_rate = 0.9
"""
DEVICES = {"ACME-PILOT1": ("pilot",), "ACME-PILOT2": ("pilot",), "ACME-WS1": (), "ACME-WS2": ()}
PILOT = ("ACME-PILOT1", "ACME-PILOT2")
BROAD = ("ACME-WS1", "ACME-WS2")
FIRST_WINDOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)  # Thu 02:00 in New York
MORNING = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # Thu 09:00 in New York
STEP = timedelta(minutes=2)


@dataclass
class SimWorld:
    db: Database
    clock: VirtualClock
    simulator: Simulator
    engine: Reconciler

    def run_until(self, end: datetime) -> None:
        """Engine steps every two minutes of virtual time up to ``end``."""
        while self.clock.now < end:
            self.engine.step(self.clock.now)
            self.clock.now += STEP

    def connector_id(self, hostname: str) -> str:
        return f"sim:{CLIENT}:{hostname}"

    def installs(self) -> dict[str, int]:
        return {h: self.simulator.install_count(self.connector_id(h)) for h in DEVICES}

    def targeted(self) -> dict[str, set[str]]:
        """Hostname -> the patches (vendor ids) it was ever targeted with."""
        with self.db.session() as session:
            rows = session.execute(
                select(Device.hostname, Patch.vendor_id)
                .join(Target, Target.device_id == Device.id)
                .join(TargetPatch, TargetPatch.target_id == Target.id)
                .join(Patch, Patch.id == TargetPatch.patch_id)
            ).all()
        found: dict[str, set[str]] = {hostname: set() for hostname in DEVICES}
        for hostname, vendor_id in rows:
            found[hostname].add(vendor_id)
        return found

    def deployments(self) -> list[Deployment]:
        with self.db.session() as session:
            return list(session.scalars(select(Deployment).order_by(Deployment.id)))

    def window_open_at(self, at: datetime) -> bool:
        """Some maintenance window of the client is open at ``at``."""
        with self.db.session() as session:
            windows = load_windows(session, client_id=CLIENT)
        return bool(in_range(windows, at, at + timedelta(seconds=1)))


def _policies() -> PolicySet:
    loaded = load_sources([("acme.toml", POLICY)])
    assert isinstance(loaded, PolicySet), loaded
    return loaded


def build_world(db: Database) -> SimWorld:
    clock = VirtualClock(FIRST_WINDOW - timedelta(hours=1))
    with db.writer() as session:
        apply_policies(session, _policies(), now=clock.now, operator="tester")
        apply_inventory(
            session,
            [
                inventory_row(
                    n,
                    CLIENT,
                    hostname,
                    role=Role.SINGLE_USER,
                    os_name="Windows 11 Pro 24H2",
                    tags=tags,
                    external_id=f"sim:{CLIENT}:{hostname}",
                )
                for n, (hostname, tags) in enumerate(DEVICES.items(), start=2)
            ],
            now=clock.now,
        )
    simulator = Simulator(
        [
            SimDevice(
                connector_id=f"sim:{CLIENT}:{hostname}",
                role=Role.SINGLE_USER,
                os_family=OsFamily.WINDOWS,
                os_name="Windows 11 Pro 24H2",
                hostname=hostname,
            )
            for hostname in DEVICES
        ],
        seed=7,
        clock=clock,
        config=SimulatorConfig(rates=SimulatorRates.none()),
    )
    world = SimWorld(db, clock, simulator, Reconciler(db, simulator, holder="test-engine"))
    world.run_until(MORNING)  # the first window: missing patches known, nothing approved
    return world


def copy_world(world: SimWorld, db: Database) -> SimWorld:
    """``world`` as it stands, on ``db`` (a copy of its database): the clock, simulator and
    engine are deep copies that share nothing with ``world`` but what they shared with each
    other. Locks are new ones (a lock cannot be copied; the world's are not held between
    steps)."""
    memo: dict[int, object] = {id(world.db): db, id(world.db.engine): db.engine}
    lock_type = type(threading.Lock())
    for part in (world.engine, world.simulator):
        for value in vars(part).values():
            if isinstance(value, lock_type):
                memo[id(value)] = threading.Lock()
    clock, simulator, engine = copy.deepcopy((world.clock, world.simulator, world.engine), memo)
    return SimWorld(db, clock, simulator, engine)
