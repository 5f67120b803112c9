"""The simulator's written-out hot paths answer exactly what the plain definitions do, on a
stormy fleet (hung and lost reboots, regressions, wakes, scripted offline periods, natural
offline periods across day boundaries) walked through a few simulated days."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from patchdesk.connectors.base import DeviceStatus
from patchdesk.connectors.sim.device import DeviceModel
from patchdesk.connectors.sim.device_state import DeviceState, day_of
from patchdesk.connectors.simulator import Script, Simulator, SimulatorConfig, SimulatorRates
from patchdesk.domain import RebootPolicy

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


Span = tuple[datetime, datetime | None]


def spans_by_definition(model: DeviceModel, device: DeviceState, at: datetime) -> list[Span]:
    """What can keep the device down at ``at``: the natural periods starting on its UTC day
    or the day before, every reboot (down from its command to its check-in), the scripted
    periods. (No caches of the instant's day or of the device's last day.)"""
    day = day_of(at)
    spans: list[Span] = [*model.natural_periods(device, day - 1)]
    spans += model.natural_periods(device, day)
    spans += [(reboot.commanded_at, reboot.up_at) for reboot in device.reboots or ()]
    spans += device.script.offline if device.script is not None else ()
    return spans


def down_by_definition(model: DeviceModel, device: DeviceState, now: datetime) -> bool:
    """Down: some span covers ``now``."""
    return any(
        start <= now and (end is None or now < end)
        for start, end in spans_by_definition(model, device, now)
    )


def down_since_by_definition(
    model: DeviceModel, device: DeviceState, now: datetime
) -> datetime | None:
    """The earliest start of the spans covering ``now``, walked back through every span that
    reaches the start found so far."""
    starts = [
        start
        for start, end in spans_by_definition(model, device, now)
        if start <= now and (end is None or now < end)
    ]
    if not starts:
        return None
    since = min(starts)
    while True:
        earlier = [
            start
            for start, end in spans_by_definition(model, device, since - timedelta(microseconds=1))
            if start < since and (end is None or end >= since)
        ]
        if not earlier:
            return since
        since = min(earlier)


def stormy_walk(steps: int = 300) -> Iterator[tuple[Simulator, Clock]]:
    """A stormy simulator after each of ``steps`` random actions (the same object each time,
    to look at before the next action)."""
    clock = Clock()
    devices = fleet(40)
    sim = Simulator(devices, seed=3, clock=clock, config=SimulatorConfig(rates=STORMY))
    rng = random.Random(5)
    ids = sim.device_ids()
    hours = [START + timedelta(hours=h) for h in (5, 9, 12)]
    # Back to back: down from the first start through both.
    sim.script(ids[0], Script(offline=((hours[0], hours[1]), (hours[1], hours[2]))))
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


def test_status_is_its_definition() -> None:
    for sim, clock in stormy_walk():
        now = clock.now
        model = sim.model
        for device in sim._devices.values():
            since = down_since_by_definition(model, device, now)
            boot = max(
                [device.initial_boot]
                + [r.boot_at for r in device.reboots or () if r.boot_at and r.boot_at <= now]
            )
            assert model.status(device, now) == DeviceStatus(
                connector_id=device.connector_id,
                online=since is None,
                last_seen=now if since is None else since,
                last_boot=boot,
                needs_reboot=any(boot < at <= now for at in device.reboot_wanted),
                maintenance_mode=device.maintenance_mode,
            )
            assert model.is_down(device, now) == (since is not None)
