"""The simulator's written-out hot paths answer exactly what the plain definitions do, on a
stormy fleet (hung and lost reboots, regressions, wakes, scripted offline periods, natural
offline periods across day boundaries) walked through a few simulated days."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from patchdesk.domain import RebootPolicy
from patchdesk.engine.connectors.sim.device import DeviceModel, DeviceState, _covers
from patchdesk.engine.connectors.simulator import Script, Simulator, SimulatorConfig, SimulatorRates

from .test_simulator import START, Clock, fleet

STORMY = SimulatorRates(
    hung_reboot=0.2,
    never_returns=0.2,
    health_regression=0.5,
    baseline_check_failure=0.2,
    offline_server=0.5,
    offline_shared=0.6,
    offline_single_user=0.8,
    outage_per_hour=0.0,
    wake_failure=0.3,
    wake_failure_single_user=0.3,
)


def down_by_definition(model: DeviceModel, device: DeviceState, now: datetime) -> bool:
    """Down: some natural period, reboot or scripted period covers ``now`` (no shortcuts)."""
    return any(_covers(item, now) for item in model._intervals(device, now))


def stormy_walk(steps: int = 300) -> Iterator[tuple[Simulator, Clock]]:
    """A stormy simulator after each of ``steps`` random actions (the same object each time,
    to look at before the next action)."""
    clock = Clock()
    devices = fleet(40)
    sim = Simulator(devices, seed=3, clock=clock, config=SimulatorConfig(rates=STORMY))
    rng = random.Random(5)
    ids = sim.device_ids()
    sim.script(ids[0], Script(offline=((START + timedelta(hours=5), START + timedelta(hours=9)),)))
    sim.script(ids[1], Script(hung_reboots=1, regression=None))
    yield sim, clock
    for step in range(steps):
        _act(sim, clock, rng, ids, step)
        yield sim, clock


def _act(sim: Simulator, clock: Clock, rng: random.Random, ids: list[str], step: int) -> None:
    clock.advance(minutes=rng.choice((0, 1, 7, 30, 61, 240)))
    cid = rng.choice(ids)
    kind = rng.random()
    if kind < 0.4:
        patches = [entry.vendor_id for entry in sim.catalogue[: rng.randint(1, 6)]]
        sim.install(
            cid, patches, reboot_policy=RebootPolicy.IF_REQUIRED, idempotency_key=f"i{step}"
        )
    elif kind < 0.8:
        sim.reboot(cid, allow_deferral=False, deferral_minutes=0, idempotency_key=f"r{step}")
    else:
        sim.wake(cid)


def test_health_of_many_is_health_of_each() -> None:
    for sim, clock in stormy_walk():
        now = clock.now
        ids = [*sim.device_ids(), "no-such-device"]
        model = sim.model
        expected = {
            cid: ({} if down_by_definition(model, device, now) else model.health(device, now))
            for cid in ids
            if (device := sim._devices.get(cid)) is not None
        }
        assert sim.health(ids) == expected
        # Each call hands out its own dicts (the caller's to keep or change).
        again = sim.health(ids)
        for cid, snapshot in again.items():
            assert snapshot is not expected[cid]
            snapshot["changed by the caller"] = True
        assert sim.health(ids) == expected
