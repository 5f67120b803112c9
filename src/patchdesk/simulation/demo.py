"""The demo MSP: a simulated MSP whose first hour shows every kind of trouble.

``patchdesk demo`` builds the MSP with its windows anchored on the launch instant (the first
client's windows opened an hour earlier, the others open within half an hour: see
``simulation.policies``), then runs the engine in virtual time from that earlier
opening up to the launch (the warm-up, about a second), so the technician arrives in the
middle of a maintenance window. A few of the first client's devices are given scripted fates
(the simulator's ``Script``) so that a failure of every class arrives within the first
virtual hour; the rest of the fleet fails at somewhat higher rates than a normal month, so
that the other clients' windows show trouble too. Same seed and start: the same demo.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from patchdesk.connectors.sim.config import (
    Script,
    SimDevice,
    SimulatorConfig,
    SimulatorRates,
)
from patchdesk.connectors.sim.entry import default_checks
from patchdesk.connectors.simulator import Simulator
from patchdesk.domain import OsFamily, Role
from patchdesk.engine.clock import VirtualClock
from patchdesk.engine.lease import DEFAULT_TTL
from patchdesk.engine.live import LiveEngine, virtual_interval
from patchdesk.engine.reconcile import Reconciler
from patchdesk.simulation.builder import SimulatedMsp, build_msp, load_msp
from patchdesk.store.db import Database

DEMO_CLIENTS = 6
DEMO_DEVICES = 400
# How long before the launch the first client's windows opened (policies anchor them so).
HEAD_START = timedelta(minutes=90)

DEMO_RATES = SimulatorRates(
    install_failure=0.03,
    hung_reboot=0.02,
    never_returns=0.02,
    health_regression=0.03,
)


@dataclass(frozen=True)
class DemoDatabase:
    """The demo's SQLite file. A ``temporary`` one (no ``--db FILE``) is deleted when the
    demo quits, unless the technician keeps it (the quit confirmation offers to); one given
    with ``--db FILE`` stays."""

    path: Path
    temporary: bool


def build_demo_msp(seed: int, launch: datetime) -> SimulatedMsp:
    return build_msp(seed, clients=DEMO_CLIENTS, devices=DEMO_DEVICES, start=launch, demo=True)


def load_demo(database: Database, seed: int, launch: datetime) -> SimulatedMsp:
    """Put the demo MSP in ``database`` (as it stood when the first windows opened)."""
    msp = build_demo_msp(seed, launch)
    with database.writer() as session:
        load_msp(session, msp, now=launch - HEAD_START)
    return msp


def demo_engine(
    database: Database,
    msp: SimulatedMsp,
    *,
    launch: datetime,
    speed: float,
    holder: str,
    warm_up: bool = True,
) -> LiveEngine:
    """The live engine of a demo loaded by :func:`load_demo`, on a virtual clock; with
    ``warm_up`` it has already run (in virtual time, as fast as it goes) up to ``launch``."""
    clock = VirtualClock(launch - HEAD_START)
    simulator = Simulator(
        demo_devices(msp), seed=msp.seed, clock=clock, config=demo_config(), cycle=msp.cycle
    )
    interval = virtual_interval(speed)
    reconciler = Reconciler(
        database, simulator, holder=holder, lease_ttl=max(DEFAULT_TTL, 4 * interval)
    )
    engine = LiveEngine(reconciler, interval=interval, virtual=clock, speed=speed)
    if warm_up:
        engine.run_until(launch)
    return engine


def demo_config() -> SimulatorConfig:
    return SimulatorConfig(rates=DEMO_RATES)


def demo_devices(msp: SimulatedMsp) -> tuple[SimDevice, ...]:
    """The MSP's simulated devices, a few of the first client's with a scripted fate."""
    first = msp.clients[0].id
    fates = dict(_fates(d for d in msp.devices if d.connector_id.startswith(f"sim:{first}:")))
    return tuple(fates.get(d.connector_id, d) for d in msp.devices)


def _fates(devices: Iterable[SimDevice]) -> Iterable[tuple[str, SimDevice]]:
    by_role: dict[Role, list[SimDevice]] = {role: [] for role in Role}
    for device in devices:
        if not device.maintenance_mode:
            by_role[device.role].append(device)
    servers, shared, single = (by_role[r] for r in Role)
    windows = [d for d in single if d.os_family is OsFamily.WINDOWS]
    others = [d for d in single if d.os_family is not OsFamily.WINDOWS] or windows[2:]
    scripted: list[tuple[SimDevice, Script]] = []
    if servers:  # servers always reboot: this one boots but never checks in (offline)
        scripted.append((servers[0], Script(lost_reboots=1)))
    if shared:  # the install fails, and so does the automatic retry (install)
        scripted.append((shared[0], Script(install_failures=2)))
    for device in shared[1:3]:  # offline too, if its patches need a reboot
        scripted.append((device, Script(lost_reboots=1)))
    for device in others[:2]:  # goes down for its reboot and never boots (reboot)
        scripted.append((device, Script(hung_reboots=1)))
    for device in windows[:2]:  # a health check breaks after the patch (regression)
        check = default_checks(device.os_family, device.role)[-1]
        scripted.append((device, Script(regression=check)))
    for device, script in scripted:
        yield device.connector_id, replace(device, script=script)
