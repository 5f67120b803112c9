"""One simulated device's facts, computed lazily from its state (``sim.device_state``)
and the clock.

Nothing ticks. A device's state records what was done to it (installs with their finish
times, reboot commands with their boot and check-in times, wakes) and every fact the RMM
reports (online, last seen, last boot, reboot pending, health) is computed for the instant
asked, from that record and the dice. The clock only moves forward, so a record may be
completed later (a wake ends a hung reboot) without rewriting anything already reported.

When is a device down (offline)?

- during a natural offline period: on each UTC day, with the role's daily rate, one period
  of the role's length starts at a random instant of the day (laptops taken home, PCs
  switched off, the odd server maintenance); periods never last a day, so only the day
  asked and the one before can cover an instant;
- from a reboot command until the device's first check-in after the boot. A *hung* reboot
  never boots: the device stays down and keeps its old boot time (the RMM reports the boot
  time it last saw). A device that *never returns* boots (the RMM learns the boot time from
  the boot event) but never checks in. Both stay down until a wake (out-of-band power
  cycle) succeeds;
- during a scripted offline period.

Online devices report ``last_seen = now`` (they check in continuously); a device that is
down reports the instant its current down stretch began.

What is cached, and why it stays right (every fact is asked of every device at nearly every
engine step, so the pure parts are remembered rather than drawn again):

- a device's natural periods per UTC day (``DeviceState.periods``, a few recent days): pure
  in (device, day) but for wake cuts, so :meth:`DeviceState.cut_period` (the only way a
  wake cut is added) forgets them; any other day is drawn again, so a clock that jumps or
  goes backwards only costs a draw;
- the periods that can cover an instant of one day (``cache_day``): the two days' periods
  above, forgotten with them;
- the last instant's UTC day (``DeviceModel.day``): compared by equality, so any instant
  gets its own day;
- when all of a device's reboots are over (``over_at``, see :func:`reboots_over`): kept with
  the list of reboots it was found for (``over_of``, compared by identity), and that list is
  replaced, never changed, when a reboot is added; a reboot's check-in is only ever set
  from "not yet", which the remembered answer never relies on;
- the checks' results when no patch broke anything (``baseline``, ``healthy``): drawn once,
  they depend on nothing that changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from random import Random

from patchdesk.connectors.base import DeviceStatus
from patchdesk.connectors.sim.config import (
    Interval,
    SimulatorRates,
    SimulatorTimings,
)
from patchdesk.connectors.sim.device_state import (
    DAY_SECONDS,
    TAG_BASELINE,
    DeviceState,
    Reboot,
    Regression,
    day_of,
)
from patchdesk.connectors.sim.dice import between, minutes, subkey, unit
from patchdesk.domain import Role

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_WALK = 1_000  # down stretches chained back to back (a safety bound)

_PERIOD_DAYS = 4  # days of natural periods a device remembers (the day asked, the one
# before, the one the change log draws ahead, and one spare)


class DeviceModel:
    """The facts of devices at an instant, from their state, the rates and the timings."""

    def __init__(self, rates: SimulatorRates, timings: SimulatorTimings) -> None:
        self.rates = rates
        self.timings = timings
        self._offline_rate = {role: rates.offline(role) for role in Role}
        self._day_at: datetime | None = None
        self._day = 0

    # --- down or up ----------------------------------------------------------------------

    def natural_periods(self, device: DeviceState, day: int) -> tuple[Interval, ...]:
        """The natural offline period that starts on UTC ``day``, if any (wake cuts
        applied); remembered for a few days per device (see the module docstring)."""
        periods = device.periods.get(day)
        if periods is None:
            periods = self._draw_periods(device, day)
            remembered = device.periods
            if len(remembered) >= _PERIOD_DAYS:
                del remembered[min(remembered)]
            remembered[day] = periods
        return periods

    def _draw_periods(self, device: DeviceState, day: int) -> tuple[Interval, ...]:
        key = device.offline_key
        if unit(key, 3 * day) >= self._offline_rate[device.role]:
            return ()
        start = _EPOCH + timedelta(seconds=day * DAY_SECONDS + unit(key, 3 * day + 1) * 86_399)
        start = start.replace(microsecond=0)
        hours = between(unit(key, 3 * day + 2), self.timings.offline_hours(device.role))
        end = start + minutes(hours * 60)
        for woken, up in device.wake_cuts or ():
            if start <= woken < end:
                end = min(end, up)
        return ((start, end),)

    def day(self, at: datetime) -> int:
        """``day_of(at)``, remembered for the last instant asked (a step asks about every
        device at the same instant; an equal instant has the same day, whatever its zone)."""
        if at != self._day_at:
            self._day_at, self._day = at, day_of(at)
        return self._day

    def _near(self, device: DeviceState, day: int) -> tuple[Interval, ...]:
        """Natural periods that can cover an instant of ``day`` (cached for the last day)."""
        if device.cache_day != day:
            device.cache_periods = (
                *self.natural_periods(device, day - 1),
                *self.natural_periods(device, day),
            )
            device.cache_day = day
        return device.cache_periods

    def is_down(self, device: DeviceState, now: datetime) -> bool:
        # (What _spans and _covers say, written out, and day() 's hit too: asked for
        # every device at nearly every step.)
        day = self._day if now == self._day_at else self.day(now)
        near = device.cache_periods if device.cache_day == day else self._near(device, day)
        for start, end in near:
            if start <= now < end:
                return True
        reboots = device.reboots
        if reboots:
            over = device.over_at if device.over_of is reboots else reboots_over(device)
            if over is None or now < over:
                for reboot in reboots:
                    if reboot.commanded_at <= now and (reboot.up_at is None or now < reboot.up_at):
                        return True
        script = device.script
        return script is not None and any(start <= now < end for start, end in script.offline)

    def down_since(self, device: DeviceState, now: datetime) -> datetime | None:
        """When the down stretch covering ``now`` began; None when the device is up."""
        if not self.is_down(device, now):
            return None
        starts = [
            start
            for start, end in self._spans(device, now)
            if start <= now and (end is None or now < end)
        ]
        if not starts:
            return None
        since = min(starts)
        for _ in range(_MAX_WALK):
            earlier = [
                start
                for start, end in self._spans(device, since - timedelta(microseconds=1))
                if start < since and (end is None or end >= since)
            ]
            if not earlier:
                break
            since = min(earlier)
        return since

    def _spans(self, device: DeviceState, at: datetime) -> list[tuple[datetime, datetime | None]]:
        """What can keep the device down at ``at``, as (start, end) pairs (end None: not yet
        known): the natural periods that can cover ``at``, the reboots, the scripted
        periods. (The walk back of ``down_since`` asks about other days than the step's:
        their periods are read without disturbing the step's caches.)"""
        if at == self._day_at:
            spans: list[tuple[datetime, datetime | None]] = [*self._near(device, self._day)]
        else:
            day = day_of(at)
            spans = [*self.natural_periods(device, day - 1), *self.natural_periods(device, day)]
        for reboot in device.reboots or ():
            spans.append((reboot.commanded_at, reboot.up_at))
        if device.script is not None:
            spans += device.script.offline
        return spans

    def stuck_reboot(self, device: DeviceState, now: datetime) -> Reboot | None:
        """A hung or lost reboot the device is still down from."""
        for reboot in reversed(device.reboots or ()):
            if reboot.commanded_at <= now and reboot.up_at is None:
                return reboot
        return None

    def rebooting(self, device: DeviceState, now: datetime) -> bool:
        return any(_covers(reboot, now) for reboot in device.reboots or ())

    def scripted_down(self, device: DeviceState, now: datetime) -> bool:
        script = device.script
        return script is not None and any(_covers(item, now) for item in script.offline)

    # --- boots and reboots ---------------------------------------------------------------

    def last_boot(self, device: DeviceState, now: datetime) -> datetime:
        latest = device.initial_boot
        for reboot in device.reboots or ():
            if reboot.boot_at is not None and latest < reboot.boot_at <= now:
                latest = reboot.boot_at
        return latest

    def needs_reboot(self, device: DeviceState, now: datetime) -> bool:
        return bool(device.reboot_wanted) and _wanted_since(
            device, now, self.last_boot(device, now)
        )

    def plan_reboot(
        self, device: DeviceState, now: datetime, rng: Random, *, hung: bool, lost: bool
    ) -> Reboot:
        """An accepted reboot: boot after the role's reboot time (longer when it applies
        installed updates), check-in shortly after; hung never boots, lost never checks in."""
        duration = between(rng.random(), self.timings.reboot_minutes(device.role))
        configure = between(rng.random(), self.timings.update_configure_minutes)
        if self.needs_reboot(device, now):
            duration += configure
        checkin = between(rng.random(), self.timings.checkin_minutes)
        if hung:
            return Reboot(now, None, None)
        boot = now + minutes(duration)
        return Reboot(now, boot, None if lost else boot + minutes(checkin))

    def woken(self, device: DeviceState, now: datetime, rng: Random) -> Reboot:
        """A successful wake: the device powers on and boots now, checks in after."""
        boot = now + minutes(between(rng.random(), self.timings.reboot_minutes(device.role)))
        return Reboot(
            now, boot, boot + minutes(between(rng.random(), self.timings.checkin_minutes))
        )

    # --- health --------------------------------------------------------------------------

    def baseline_failing(self, device: DeviceState, index: int) -> bool:
        key = subkey(device.key, TAG_BASELINE)
        return unit(key, index) < self.rates.baseline_check_failure

    def _baseline(self, device: DeviceState) -> tuple[bool, ...]:
        """Per check, whether it passes when no patch has broken anything (drawn once)."""
        if device.baseline is None:
            device.baseline = tuple(
                not self.baseline_failing(device, index) for index in range(len(device.checks))
            )
        return device.baseline

    def passing_before(self, device: DeviceState) -> list[str]:
        """Checks that pass when no patch has broken anything."""
        return [c for c, ok in zip(device.checks, self._baseline(device), strict=True) if ok]

    def health(self, device: DeviceState, now: datetime) -> dict[str, bool]:
        """Check name -> passing; empty while the device is down (nothing fresh reported)."""
        if self.is_down(device, now):
            return {}
        if not device.regressions:
            healthy = device.healthy
            if healthy is None:
                healthy = device.healthy = dict(
                    zip(device.checks, self._baseline(device), strict=True)
                )
            return healthy.copy()  # the caller's to keep (or change)
        baseline = self._baseline(device)
        broken = {r.check for r in device.regressions if self._regressed(device, r, now)}
        return {
            check: ok and check not in broken
            for check, ok in zip(device.checks, baseline, strict=True)
        }

    def healths(
        self, devices: Mapping[str, DeviceState], connector_ids: Iterable[str], now: datetime
    ) -> dict[str, dict[str, bool]]:
        """``health`` of each known device of ``connector_ids`` (unknown ids are left out).

        (``health`` and ``is_down`` written out, the instant's day found once: the engine
        reads the health of every watched device every hour, a few hundred thousand reads
        a simulated day at 50,000 devices.)"""
        day = self.day(now)
        found: dict[str, dict[str, bool]] = {}
        get = devices.get
        for cid in connector_ids:
            device = get(cid)
            if device is None:
                continue
            near = device.cache_periods if device.cache_day == day else self._near(device, day)
            down = False
            for start, end in near:
                if start <= now < end:
                    down = True
                    break
            reboots = device.reboots
            if reboots and not down:
                over = device.over_at if device.over_of is reboots else reboots_over(device)
                for reboot in reboots if over is None or now < over else ():
                    if reboot.commanded_at <= now and (reboot.up_at is None or now < reboot.up_at):
                        down = True
                        break
            script = device.script
            if down or (
                script is not None and any(start <= now < end for start, end in script.offline)
            ):
                found[cid] = {}
            elif device.regressions or device.healthy is None:
                found[cid] = self.health(device, now)
            else:
                found[cid] = device.healthy.copy()  # the caller's to keep (or change)
        return found

    def _regressed(self, device: DeviceState, regression: Regression, now: datetime) -> bool:
        if regression.cleared_at is not None and regression.cleared_at <= now:
            return False
        if not regression.needs_boot:
            return regression.installed_at <= now
        return any(
            r.boot_at is not None and regression.installed_at < r.boot_at <= now
            for r in device.reboots or ()
        )

    # --- the RMM's view ------------------------------------------------------------------

    def status(self, device: DeviceState, now: datetime) -> DeviceStatus:
        since = self.down_since(device, now)
        boot = self.last_boot(device, now) if device.reboots else device.initial_boot
        return DeviceStatus(
            connector_id=device.connector_id,
            online=since is None,
            last_seen=now if since is None else since,
            last_boot=boot,
            needs_reboot=bool(device.reboot_wanted) and _wanted_since(device, now, boot),
            maintenance_mode=device.maintenance_mode,
        )


def reboots_over(device: DeviceState) -> datetime | None:
    """When all the device's reboots are over (the latest check-in; None when one has not
    checked in), remembered with the list it was found for.

    The list of reboots is replaced, never changed in place, when a reboot is added, and a
    reboot's ``up_at`` is only ever set from None (a wake ends a hung or lost reboot): so
    the same list gives the same answer, or a None that sends the caller through the
    list."""
    reboots = device.reboots or []
    over: datetime | None = None
    for reboot in reboots:
        if reboot.up_at is None:
            over = None
            break
        if over is None or reboot.up_at > over:
            over = reboot.up_at
    device.over_of, device.over_at = reboots, over
    return over


def _wanted_since(device: DeviceState, now: datetime, boot: datetime) -> bool:
    """An install (or rollback) by ``now`` wanted a reboot after the last ``boot``."""
    return any(boot < at <= now for at in device.reboot_wanted)


def _start(item: Interval | Reboot) -> datetime:
    return item.commanded_at if isinstance(item, Reboot) else item[0]


def _end(item: Interval | Reboot) -> datetime | None:
    return item.up_at if isinstance(item, Reboot) else item[1]


def _covers(item: Interval | Reboot, at: datetime) -> bool:
    end = _end(item)
    return _start(item) <= at and (end is None or at < end)
