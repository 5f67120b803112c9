"""What the simulator does to a device when asked: install, roll back, reboot, wake.

Every decision draws from a generator private to (seed, device, kind of action, that
device's counter for it), so it depends on nothing else. Scripted outcomes (``Script``)
come first. Effects are recorded on the device with their (future) times; the device model
reports them when the clock gets there.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from random import Random

from patchdesk.connectors.base import PatchResult, RebootOutcome, RebootResult
from patchdesk.connectors.sim.config import SimulatorConfig
from patchdesk.connectors.sim.device import DeviceModel
from patchdesk.connectors.sim.device_state import DeviceState, Regression
from patchdesk.connectors.sim.dice import between, minutes, stream
from patchdesk.connectors.sim.entry import CatalogueEntry
from patchdesk.connectors.sim.errors import ERRORS, ROLLBACK_FAILED, message_for
from patchdesk.connectors.sim.jobs import Job, summary
from patchdesk.connectors.sim.patches import PatchBook
from patchdesk.domain import Role


class Actions:
    def __init__(
        self, seed: int | str, config: SimulatorConfig, book: PatchBook, model: DeviceModel
    ) -> None:
        self.seed = seed
        self.config = config
        self.book = book
        self.model = model

    # --- installs ----------------------------------------------------------------------------

    def install(
        self, device: DeviceState, job_id: str, vendor_ids: tuple[str, ...], now: datetime
    ) -> Job:
        rng = stream(self.seed, device.connector_id, "install", device.installs)
        device.installs += 1
        timings = self.config.timings
        start = max(now, device.busy_until or now) + minutes(
            between(rng.random(), timings.queue_minutes)
        )
        if device.script is not None and device.script.take("hanging_installs"):
            return Job(job_id, device.connector_id, now, start, None, ())
        todo = {vid: i for vid in vendor_ids if (i := self._needed(device, vid, now)) is not None}
        work = sum(self.book.entries[i].minutes for i in todo.values())
        work *= between(rng.random(), timings.install_jitter)
        if device.role is Role.SERVER:
            work *= timings.server_install_factor
        finish = start + minutes(between(rng.random(), timings.install_overhead_minutes) + work)
        results = self._install_results(device, vendor_ids, todo, rng)
        reboot = self._record_install(device, results, todo, finish, rng)
        device.busy_until = finish
        first = next((r.error_code for r in results if not r.succeeded), None)
        message = summary(results, f"{first}: {message_for(first)}" if first else None)
        return Job(job_id, device.connector_id, now, start, finish, results, first, message, reboot)

    def _needed(self, device: DeviceState, vendor_id: str, now: datetime) -> int | None:
        index = self.book.index(vendor_id)
        if index is None or not self.book.needs(device, index, now):
            return None
        return index

    def _install_results(
        self,
        device: DeviceState,
        vendor_ids: tuple[str, ...],
        todo: dict[str, int],
        rng: Random,
    ) -> tuple[PatchResult, ...]:
        forced = self._use_script_failure(device) if todo else None
        results: list[PatchResult] = []
        for vendor_id in vendor_ids:
            index = todo.get(vendor_id)
            if index is None:
                results.append(PatchResult(vendor_id, True))  # nothing to do
                continue
            code = self._failure(device, self.book.entries[index], rng)
            if forced is not None:
                code, forced = forced, None
            results.append(PatchResult(vendor_id, code is None, code))
        return tuple(results)

    def _use_script_failure(self, device: DeviceState) -> str | None:
        script = device.script
        if script is None or not script.take("install_failures"):
            return None
        return script.error_code

    def _failure(self, device: DeviceState, entry: CatalogueEntry, rng: Random) -> str | None:
        rates = self.config.rates
        before = (device.failed_codes or {}).get(entry.vendor_id)
        if before is not None:
            chance = rates.repeat_install_failure
        else:
            chance = 1.0 - (1.0 - rates.install_failure) ** entry.difficulty
        if rng.random() >= chance:
            return None
        return before if before is not None else rng.choice(ERRORS[entry.errors])[0]

    def _record_install(
        self,
        device: DeviceState,
        results: tuple[PatchResult, ...],
        todo: dict[str, int],
        finish: datetime,
        rng: Random,
    ) -> bool:
        """Apply an install's effects (at ``finish``); True when it left a reboot pending."""
        installed = device.installed if device.installed is not None else {}
        failed = device.failed_codes if device.failed_codes is not None else {}
        done: list[str] = []
        for result in results:
            index = todo.get(result.vendor_id)
            if index is None:
                continue
            if result.succeeded:
                installed[index] = (finish, None)
                failed.pop(result.vendor_id, None)
                done.append(result.vendor_id)
            else:
                failed[result.vendor_id] = result.error_code or "unknown"
        device.installed, device.failed_codes = installed or None, failed or None
        needs_boot = any(self.book.entries[todo[vid]].patch.reboot_required for vid in done)
        if needs_boot:
            device.reboot_wanted.append(finish)
        self._maybe_regress(device, done, finish, needs_boot, rng)
        return needs_boot

    def _maybe_regress(
        self, device: DeviceState, done: list[str], finish: datetime, needs_boot: bool, rng: Random
    ) -> None:
        roll = rng.random()
        script = device.script
        check: str | None = None
        if done and script is not None and script.regression is not None:
            check, script.regression = script.regression, None
        elif done and roll < self.config.rates.health_regression:
            passing = self.model.passing_before(device)
            check = rng.choice(passing) if passing else None
        if check is None:
            return
        regression = Regression(check, rng.choice(done), finish, needs_boot)
        device.regressions = [*(device.regressions or ()), regression]

    def _defers(self, device: DeviceState, rng: Random) -> bool:
        roll = rng.random()
        if device.script is not None and device.script.take("deferrals"):
            return True
        return roll < self.config.rates.deferral(device.role)

    def _accept_reboot(self, device: DeviceState, now: datetime, rng: Random) -> None:
        rates = self.config.rates
        hung_roll, lost_roll = rng.random(), rng.random()
        hung, lost = hung_roll < rates.hung_reboot, lost_roll < rates.never_returns
        script = device.script
        device.reboots_accepted += 1
        if script is not None and script.take("hung_reboots"):
            hung = True
        elif script is not None and script.take("lost_reboots"):
            hung, lost = False, True
        elif script is not None and script.take("ignored_reboots"):
            return
        reboot = self.model.plan_reboot(device, now, rng, hung=hung, lost=lost)
        # (A new list, never appended to: see device.reboots_over.)
        device.reboots = [*(device.reboots or ()), reboot]

    # --- reboots and wakes ---------------------------------------------------------------------

    def reboot(
        self, device: DeviceState, now: datetime, *, allow_deferral: bool, deferral_minutes: int
    ) -> RebootResult:
        """Ask a device to reboot: offline, deferred by its user, or accepted."""
        rng = stream(self.seed, device.connector_id, "reboot", device.reboot_requests)
        device.reboot_requests += 1
        if self.model.is_down(device, now):
            return RebootResult(RebootOutcome.OFFLINE, now)
        if allow_deferral and deferral_minutes > 0 and self._defers(device, rng):
            until = now + timedelta(minutes=deferral_minutes)
            return RebootResult(RebootOutcome.DEFERRED, now, deferred_until=until)
        self._accept_reboot(device, now, rng)
        return RebootResult(RebootOutcome.ACCEPTED, now)

    def wake(self, device: DeviceState, now: datetime) -> None:
        """Wake-on-LAN or an out-of-band power cycle; it may not work."""
        rng = stream(self.seed, device.connector_id, "wake", device.wakes)
        device.wakes += 1
        failed = rng.random() < self.config.rates.wake_fails(device.role)
        stuck = self.model.stuck_reboot(device, now)
        if failed or not self._wakeable(device, now, stuck is not None):
            return
        woken = self.model.woken(device, now, rng)
        assert woken.up_at is not None
        if stuck is not None:
            stuck.up_at = woken.up_at
        else:
            device.cut_period(now, woken.up_at)
        # (A new list, never appended to: see device.reboots_over.)
        device.reboots = [*(device.reboots or ()), woken]

    def _wakeable(self, device: DeviceState, now: datetime, stuck: bool) -> bool:
        """A wake helps a stuck device, or one naturally offline (not mid-reboot, not
        scripted offline)."""
        if stuck:
            return True
        if self.model.rebooting(device, now) or self.model.scripted_down(device, now):
            return False
        return self.model.is_down(device, now)

    # --- rollbacks -----------------------------------------------------------------------------

    def rollback(self, device: DeviceState, job_id: str, index: int, now: datetime) -> Job:
        rng = stream(self.seed, device.connector_id, "rollback", device.rollbacks)
        device.rollbacks += 1
        timings = self.config.timings
        start = max(now, device.busy_until or now) + minutes(
            between(rng.random(), timings.queue_minutes)
        )
        finish = start + minutes(between(rng.random(), timings.rollback_minutes))
        device.busy_until = finish
        entry = self.book.entries[index]
        if rng.random() < self.config.rates.rollback_failure:
            code, message = ROLLBACK_FAILED
            result = PatchResult(entry.vendor_id, False, code)
            return Job(job_id, device.connector_id, now, start, finish, (result,), code, message)
        assert device.installed is not None
        device.installed[index] = (device.installed[index][0], finish)
        for regression in device.regressions or ():
            if regression.vendor_id == entry.vendor_id and regression.cleared_at is None:
                regression.cleared_at = finish
        reboot = entry.patch.reboot_required
        if reboot:
            device.reboot_wanted.append(finish)
        result = PatchResult(entry.vendor_id, True)
        message = f"{entry.vendor_id} uninstalled"
        return Job(
            job_id, device.connector_id, now, start, finish, (result,), None, message, reboot
        )
