"""The simulated fleet: a deterministic :class:`~patchdesk.connectors.base.Connector`.

``Simulator(devices, seed=..., clock=...)`` answers every call from a seed and a virtual
clock (a zero-argument callable returning aware ``now``, shared with the engine). Nothing
runs in the background: every fact is computed for the instant asked (``sim.device``), and
every outcome is decided by dice that depend only on (seed, connector id, what, that
device's own counter), so a device's story does not depend on the other devices or on the
order the engine visits them. Same seed, same devices, same calls at the same virtual times:
the same answers, job ids included.

Calls and what they do:

- ``install``: a job queued behind the agent's previous job, running for the role's time
  (servers slower) and then succeeded or failed per patch with Windows Update / MSI /
  package-manager error codes. A patch the device does not miss (or does not know) succeeds
  with nothing to do. A device that is down gets a job refused at once (``AGENT_OFFLINE``)
  and nothing starts. Installed patches stop being reported missing once the job finished;
  failed ones stay. A successful reboot-requiring patch leaves a reboot pending.
- ``reboot``: ``offline`` when the device is down; ``deferred`` when the user postpones it
  (only when deferral is allowed; never on servers); else ``accepted``: down from now,
  boot after the reboot time, check-in shortly after (or hung / never returns).
- ``rollback``: a job that uninstalls one patch; it is reported missing again afterwards
  and any health check it broke recovers.
- ``wake``: sent (True) for any known device; it brings back a hung or lost device, or one
  in a natural offline period, unless the wake fails (role's rate).
- ``health``: the device's checks; empty while it is down.
- ``missing_patches``: what the device's last scan found (also while it is down): patches
  released by now that it misses (``sim.patches``, ``sim.catalogue``).
- ``devices``: every device in registration order; online ones report ``last_seen = now``.
- ``device_changes(since)``, ``job_changes(since)``: only the devices and jobs whose status
  may have changed since then (``sim.changes``), so a step of the engine does not cost the
  whole fleet.

Idempotency: a repeated key (per method) returns the first call's result and does nothing.
``install_calls`` counts every install call, ``install_count(id)`` the installs a device
actually started. During an outage (configured intervals, or drawn per hour) every method
raises :class:`ConnectorUnavailable`; devices carry on meanwhile.

``register(devices)`` adds devices as the constructor does, but one it cannot add is left
out, with why, in ``refused_devices`` (``RefusesDevices``), instead of failing the rest; a
connector id given twice is registered once (the engine alerts on the devices sharing it).

Test helpers: ``install_count``, ``reboot_count``, ``rollback_count``, ``script`` (force a
device's outcomes), ``add_outage``, ``in_outage``, ``set_maintenance_mode``, ``catalogue``.
The clock must never go backwards (a ValueError says so).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date, datetime

from patchdesk.connectors.base import (
    ConnectorUnavailable,
    DeviceStatus,
    JobStatus,
    MissingPatch,
    RebootResult,
)
from patchdesk.connectors.sim.actions import Actions
from patchdesk.connectors.sim.catalogue import build_catalogue
from patchdesk.connectors.sim.changes import ChangeLog, Instants
from patchdesk.connectors.sim.config import (
    Script,
    SimDevice,
    SimulatorConfig,
    SimulatorRates,
    SimulatorTimings,
)
from patchdesk.connectors.sim.device import DeviceModel
from patchdesk.connectors.sim.device_state import DeviceState, ScriptState, new_device
from patchdesk.connectors.sim.entry import (
    CatalogueEntry,
    cycle_of,
    default_checks,
    default_os_name,
    os_key,
)
from patchdesk.connectors.sim.errors import NOT_INSTALLED, OFFLINE
from patchdesk.connectors.sim.jobs import Job, refused
from patchdesk.connectors.sim.outages import Outages
from patchdesk.connectors.sim.patches import PatchBook
from patchdesk.domain import RebootPolicy

__all__ = [
    "Script",
    "SimDevice",
    "Simulator",
    "SimulatorConfig",
    "SimulatorRates",
    "SimulatorTimings",
    "UnknownDevice",
]

Clock = Callable[[], datetime]


class UnknownDevice(LookupError):
    """A connector id the simulator does not manage."""


class Simulator:
    """A seeded, virtual-time fleet. See the module docstring."""

    name = "simulator"

    def __init__(
        self,
        devices: Iterable[SimDevice] = (),
        *,
        seed: int | str,
        clock: Clock,
        config: SimulatorConfig | None = None,
        cycle: date | None = None,
    ) -> None:
        self.seed = seed
        self.config = config or SimulatorConfig()
        self._clock = clock
        self._last_now = self._read_clock()
        self.epoch = self._last_now
        self.cycle = cycle or cycle_of(self.epoch.date())  # the catalogue's Patch Tuesday
        self.book = PatchBook(build_catalogue(self.cycle))
        self.model = DeviceModel(self.config.rates, self.config.timings)
        self.actions = Actions(seed, self.config, self.book, self.model)
        self._devices: dict[str, DeviceState] = {}
        self._order: list[DeviceState] = []  # registration order, indexed by the change log
        self._index: dict[str, int] = {}
        self._changes = ChangeLog(self.epoch, self._day_periods)
        self._job_changes: Instants[str] = Instants(self.epoch)
        self._jobs: dict[str, Job] = {}
        self._install_keys: dict[str, str] = {}
        self._rollback_keys: dict[str, str] = {}
        self._reboot_keys: dict[str, RebootResult] = {}
        rates, timings = self.config.rates, self.config.timings
        self.outages = Outages(
            seed, rates.outage_per_hour, timings.outage_minutes, self.config.outages
        )
        self.install_calls = 0
        self.refused_devices: dict[str, str] = {}  # connector id -> why ``register`` did not
        self.add_devices(devices)

    # --- registration ----------------------------------------------------------------------

    def add_devices(self, devices: Iterable[SimDevice]) -> None:
        for device in devices:
            self.add_device(device)

    def register(self, devices: Iterable[SimDevice]) -> None:
        """Add devices standing in for a store's: a connector id already registered is
        skipped, and a device that cannot be added is left out and named in
        ``refused_devices`` with the reason, rather than stopping the others."""
        for spec in devices:
            if spec.connector_id in self._devices:
                continue
            try:
                self.add_device(spec)
            except Exception as exc:  # any error of one device's is that device's problem
                self.refused_devices[spec.connector_id] = str(exc) or type(exc).__name__

    def add_device(self, spec: SimDevice) -> None:
        if spec.connector_id in self._devices:
            raise ValueError(f"device {spec.connector_id!r} is already registered")
        os_name = spec.os_name or default_os_name(spec.os_family, spec.role)
        checks = tuple(dict.fromkeys((*default_checks(spec.os_family, spec.role), *spec.checks)))
        device = new_device(
            self.seed,
            spec.connector_id,
            spec.role,
            spec.os_family,
            os_key(spec.os_family, os_name),
            checks,
            maintenance_mode=spec.maintenance_mode,
            epoch=self.epoch,
            rates=self.config.rates,
            timings=self.config.timings,
        )
        self._devices[spec.connector_id] = device
        self._order.append(device)
        self._index[spec.connector_id] = self._changes.add_device()
        self._touched(device, self._read_clock())
        if spec.script is not None:
            self.script(spec.connector_id, spec.script)

    def script(self, connector_id: str, script: Script) -> None:
        """Force outcomes on one device from now on (replaces its previous script)."""
        device = self._device(connector_id)
        if script.regression is not None and script.regression not in device.checks:
            raise ValueError(
                f"{connector_id!r} has no health check {script.regression!r} "
                f"(it has {', '.join(device.checks)})"
            )
        device.script = ScriptState.of(script)
        self._touched(device, self._read_clock())

    def set_maintenance_mode(self, connector_id: str, on: bool) -> None:
        device = self._device(connector_id)
        device.maintenance_mode = on
        self._touched(device, self._read_clock())

    def add_outage(self, start: datetime, end: datetime) -> None:
        """The connector is unreachable during [start, end)."""
        self.outages.add(start, end)

    # --- test helpers ----------------------------------------------------------------------

    @property
    def catalogue(self) -> tuple[CatalogueEntry, ...]:
        return self.book.entries

    def device_ids(self) -> list[str]:
        return list(self._devices)

    def install_count(self, connector_id: str) -> int:
        """Installs the device actually started (repeated keys and refusals not counted)."""
        return self._device(connector_id).installs

    def reboot_count(self, connector_id: str) -> int:
        """Reboots the device accepted."""
        return self._device(connector_id).reboots_accepted

    def rollback_count(self, connector_id: str) -> int:
        return self._device(connector_id).rollbacks

    def in_outage(self, at: datetime | None = None) -> bool:
        """Whether the connector is unreachable at ``at`` (default: the clock's now)."""
        return self.outages.at(self._read_clock() if at is None else at) is not None

    # --- the Connector protocol ------------------------------------------------------------

    def devices(self) -> Sequence[DeviceStatus]:
        now = self._available()
        return [self.model.status(device, now) for device in self._devices.values()]

    def device_changes(self, since: datetime) -> Sequence[DeviceStatus] | None:
        now = self._available()
        found = self._changes.since(since, now)
        if found is None:
            return None
        order, status = self._order, self.model.status
        return [status(order[index], now) for index in found]

    def job_changes(self, since: datetime) -> Mapping[str, JobStatus] | None:
        now = self._available()
        found = self._job_changes.since(since, now)
        if found is None:
            return None
        return {job_id: self._jobs[job_id].status(now) for job_id in found}

    def missing_patches(self, connector_ids: Sequence[str]) -> Mapping[str, Sequence[MissingPatch]]:
        now = self._available()
        devices, reported = self._devices, self.book.reported
        return {
            cid: reported(device, now)
            for cid in connector_ids
            if (device := devices.get(cid)) is not None
        }

    def job_status(self, job_ids: Sequence[str]) -> Mapping[str, JobStatus]:
        now = self._available()
        return {jid: self._jobs[jid].status(now) for jid in job_ids if jid in self._jobs}

    def health(self, connector_ids: Sequence[str]) -> Mapping[str, Mapping[str, bool]]:
        now = self._available()
        return self.model.healths(self._devices, connector_ids, now)

    def install(
        self,
        connector_id: str,
        vendor_ids: Sequence[str],
        *,
        reboot_policy: RebootPolicy,
        idempotency_key: str,
    ) -> str:
        """Start an install job (the reboot policy is the engine's business: it never reboots)."""
        now = self._available()
        self.install_calls += 1
        known = self._install_keys.get(idempotency_key)
        if known is not None:
            return known
        device = self._device(connector_id)
        job_id = self._next_job_id(device, "install")
        wanted = tuple(dict.fromkeys(vendor_ids))
        if self.model.is_down(device, now):
            job = refused(job_id, connector_id, now, wanted, OFFLINE)
        else:
            job = self.actions.install(device, job_id, wanted, now)
            self._touched(device, now)
        self._jobs[job_id] = job
        self._job_changes.note(job_id, job.queued_at, job.started_at, job.finished_at)
        self._install_keys[idempotency_key] = job_id
        return job_id

    def reboot(
        self,
        connector_id: str,
        *,
        allow_deferral: bool,
        deferral_minutes: int,
        idempotency_key: str,
    ) -> RebootResult:
        now = self._available()
        known = self._reboot_keys.get(idempotency_key)
        if known is not None:
            return known
        device = self._device(connector_id)
        result = self.actions.reboot(
            device, now, allow_deferral=allow_deferral, deferral_minutes=deferral_minutes
        )
        self._reboot_keys[idempotency_key] = result
        self._touched(device, now)
        return result

    def wake(self, connector_id: str) -> bool:
        now = self._available()
        device = self._devices.get(connector_id)
        if device is None:
            return False
        self.actions.wake(device, now)
        self._touched(device, now)
        return True  # sent, whether or not it brought the device back

    def rollback(self, connector_id: str, vendor_id: str, *, idempotency_key: str) -> str:
        now = self._available()
        known = self._rollback_keys.get(idempotency_key)
        if known is not None:
            return known
        device = self._device(connector_id)
        job_id = self._next_job_id(device, "rollback")
        index = self.book.index(vendor_id)
        if self.model.is_down(device, now):
            job = refused(job_id, connector_id, now, (vendor_id,), OFFLINE)
        elif index is None or not self.book.installed(device, index, now):
            job = refused(job_id, connector_id, now, (vendor_id,), NOT_INSTALLED)
        else:
            job = self.actions.rollback(device, job_id, index, now)
            self._touched(device, now)
        self._jobs[job_id] = job
        self._job_changes.note(job_id, job.queued_at, job.started_at, job.finished_at)
        self._rollback_keys[idempotency_key] = job_id
        return job_id

    # --- virtual time ------------------------------------------------------------------------

    def next_change(
        self,
        now: datetime,
        until: datetime,
        watched: Callable[[Sequence[str]], Collection[str]] | None = None,
    ) -> datetime:
        """The first instant in [now, until) at which anything the connector reports may
        change (``until`` when nothing does before it): a job starting or finishing, an
        outage starting or ending, a device's status. With ``watched`` (given connector ids,
        returns those that matter), only those devices' changes count.

        Everything the calls report between two instants with no such change in between is
        the same (an online device's ``last_seen`` aside, which reads ``now``), so a driver
        of virtual time may skip to it (``patchdesk simulate`` does)."""
        # (Natural periods of days the log has not reached are not drawn yet: unknown.)
        until = max(now, min(until, self._changes.drawn_until))
        until = self.outages.first_change(now, until)
        for at, _job in self._job_changes.upcoming(until):
            until = at
            break
        batch: list[tuple[datetime, str]] = []
        for at, index in self._changes.upcoming(until):
            batch.append((at, self._order[index].connector_id))
            if watched is None:
                break
            if len(batch) >= _WATCHED_BATCH:
                found = _first_watched(batch, watched)
                if found is not None:
                    return found
                batch.clear()
        if batch:
            found = batch[0][0] if watched is None else _first_watched(batch, watched)
            if found is not None:
                return found
        return until

    # --- internals -------------------------------------------------------------------------

    def _read_clock(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("the simulator's clock must return timezone-aware datetimes")
        return now

    def _now(self) -> datetime:
        now = self._read_clock()
        if now < self._last_now:
            raise ValueError(f"the virtual clock went backwards ({self._last_now} -> {now})")
        self._last_now = now
        return now

    def _available(self) -> datetime:
        """Now, or ConnectorUnavailable during an outage."""
        now = self._now()
        outage = self.outages.at(now)
        if outage is not None:
            start, end = outage
            raise ConnectorUnavailable(
                f"simulated RMM unreachable ({start:%Y-%m-%d %H:%M} to {end:%H:%M} UTC)"
            )
        return now

    def _device(self, connector_id: str) -> DeviceState:
        device = self._devices.get(connector_id)
        if device is None:
            raise UnknownDevice(f"the simulator has no device {connector_id!r}")
        return device

    def _touched(self, device: DeviceState, now: datetime) -> None:
        """Something was done to ``device``: note every instant its status may change at."""
        instants: list[datetime | None] = [now, *device.reboot_wanted]
        for reboot in device.reboots or ():
            instants += (reboot.commanded_at, reboot.boot_at, reboot.up_at)
        if device.script is not None:
            for start, end in device.script.offline:
                instants += (start, end)
        later = [at for at in instants if at is not None and at >= now]
        self._changes.note(self._index[device.connector_id], *later)

    def _day_periods(self, index: int, day: int) -> Sequence[datetime]:
        """The instants of device ``index``'s natural offline period of UTC ``day``."""
        periods = self.model.natural_periods(self._order[index], day)
        if not periods:  # most days, for most devices
            return ()
        return [at for period in periods for at in period]

    def _next_job_id(self, device: DeviceState, kind: str) -> str:
        device.jobs += 1
        return f"{device.connector_id}/{kind}/{device.jobs}"


_WATCHED_BATCH = 200  # device changes asked about at once


def _first_watched(
    batch: Sequence[tuple[datetime, str]], watched: Callable[[Sequence[str]], Collection[str]]
) -> datetime | None:
    """The first instant of ``batch`` (in order) whose device is watched."""
    keep = set(watched(sorted({cid for _, cid in batch})))
    return next((at for at, cid in batch if cid in keep), None)
