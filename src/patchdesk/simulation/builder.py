"""A whole simulated MSP from a seed: client policies, inventory, simulator devices.

``build_msp(seed, clients=N, devices=N, start=...)`` returns a :class:`SimulatedMsp`, plain
values and no I/O: the same arguments give the same MSP. ``load_msp(session, msp, now=...)``
puts it in a store (policies through ``policy.apply``, devices through
``inventory.apply_inventory``, each device's ``connector_id`` being its simulator id) in the
caller's transaction; loading it again changes nothing. ``msp.simulator(clock)`` is the
fleet that goes with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from random import Random

from patchdesk.connectors.sim.config import SimDevice, SimulatorConfig
from patchdesk.connectors.sim.entry import cycle_of
from patchdesk.connectors.simulator import Simulator
from patchdesk.domain import os_family_of
from patchdesk.inventory.device_import import ImportSummary
from patchdesk.inventory.devices import InventoryRow
from patchdesk.policy.load import LoadedFile, PolicySet
from patchdesk.policy.models import BlockEntry, ClientPolicy, PolicyDocument
from patchdesk.simulation.fleet import ClientPlan, DeviceDraft, client_devices, client_plans
from patchdesk.simulation.policies import Context, client_policy, validate
from patchdesk.store.db import Session
from patchdesk.store.inventory_ops import apply_inventory
from patchdesk.store.policy_ops import ApplyReport, apply_policies

SOURCE = "<simulated msp>"
OPERATOR = "simulator"


@dataclass(frozen=True)
class SimulatedMsp:
    seed: int | str
    start: datetime
    cycle: date  # Patch Tuesday of the simulator catalogue's cycle
    document: PolicyDocument
    inventory: tuple[InventoryRow, ...]
    devices: tuple[SimDevice, ...]

    @property
    def clients(self) -> list[ClientPolicy]:
        return [client for _, client in self.document.all_clients()]

    @property
    def blocklist(self) -> list[BlockEntry]:
        return list(self.document.blocklist or [])

    def policy_set(self) -> PolicySet:
        return PolicySet((LoadedFile(SOURCE, self.document),))

    def simulator(
        self, clock: Callable[[], datetime], config: SimulatorConfig | None = None
    ) -> Simulator:
        """The fleet of this MSP, sharing ``clock`` with the engine."""
        return Simulator(self.devices, seed=self.seed, clock=clock, config=config, cycle=self.cycle)


@dataclass(frozen=True)
class LoadReport:
    policies: ApplyReport
    devices: ImportSummary

    @property
    def changed(self) -> bool:
        return self.policies.changed or self.devices.created + self.devices.updated > 0


def build_msp(
    seed: int | str,
    *,
    clients: int = 6,
    devices: int = 120,
    start: datetime,
    demo: bool = False,
) -> SimulatedMsp:
    """A simulated MSP; ``demo`` anchors the windows on ``start`` (see ``policies``)."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    if clients < 1 or devices < clients:
        raise ValueError(f"need at least one client and one device per client, got {clients} "
                         f"clients and {devices} devices")  # fmt: skip
    cycle = cycle_of(start.date())
    context = Context(start=start, cycle=cycle, demo=demo)
    policies: list[dict[str, object]] = []
    rows: list[InventoryRow] = []
    sims: list[SimDevice] = []
    for plan in client_plans(clients, devices, Random(f"{seed}:msp")):
        rng = Random(f"{seed}:client:{plan.slug}")
        drafts = client_devices(plan, rng)
        policies.append(client_policy(plan, drafts, context, rng))
        for draft in drafts:
            row, sim = _device(plan, draft, line=len(rows) + 2)
            rows.append(row)
            sims.append(sim)
    return SimulatedMsp(seed, start, cycle, validate(policies), tuple(rows), tuple(sims))


def _device(plan: ClientPlan, draft: DeviceDraft, *, line: int) -> tuple[InventoryRow, SimDevice]:
    connector_id = f"sim:{plan.slug}:{draft.hostname}"
    row = InventoryRow(
        line=line,
        client_id=plan.slug,
        hostname=draft.hostname,
        site=draft.site,
        role=draft.role,
        criticality=draft.criticality,
        os_name=draft.os_name,
        tags=draft.tags,
        external_id=connector_id,
    )
    sim = SimDevice(
        connector_id=connector_id,
        role=draft.role,
        os_family=os_family_of(draft.os_name),
        os_name=draft.os_name,
        hostname=draft.hostname,
        checks=draft.checks,
        maintenance_mode=draft.maintenance_mode,
    )
    return row, sim


def load_msp(
    session: Session, msp: SimulatedMsp, *, now: datetime, operator: str = OPERATOR
) -> LoadReport:
    """Apply the MSP's policies, then its devices, in the caller's transaction."""
    policies = apply_policies(session, msp.policy_set(), now=now, operator=operator)
    devices = apply_inventory(session, msp.inventory, now=now)
    return LoadReport(policies, devices)
