"""A simulated device's compact state: what was done to it, and the caches of its facts.

``sim.device`` computes every fact the RMM reports from this record and the dice, for the
instant asked; it explains what is cached here and why it stays right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from patchdesk.connectors.base import MissingPatch
from patchdesk.connectors.sim.config import Interval, Script, SimulatorRates, SimulatorTimings
from patchdesk.connectors.sim.dice import between, key_of, subkey, unit
from patchdesk.domain import OsFamily, Role

DAY_SECONDS = 86_400
TAG_OFFLINE, TAG_BOOT, TAG_BASELINE, TAG_MISSING = 1, 2, 3, 4


@dataclass(slots=True)
class Reboot:
    """A reboot (or a wake): down from the command until ``up_at`` (None: not yet known)."""

    commanded_at: datetime
    boot_at: datetime | None  # None: hung, it never boots
    up_at: datetime | None  # first check-in after the boot; None: never (hung or lost)
    # (up_at is only ever changed from None: a wake ends the reboot; see reboots_over.)


@dataclass(slots=True)
class Regression:
    """A health check an install broke; it fails from the boot after the install on."""

    check: str
    vendor_id: str
    installed_at: datetime
    needs_boot: bool
    cleared_at: datetime | None = None  # the rollback that repaired it finished


@dataclass(slots=True)
class ScriptState:
    """What is left of a device's :class:`Script` (its counts are used up)."""

    install_failures: int
    error_code: str
    hanging_installs: int
    hung_reboots: int
    lost_reboots: int
    ignored_reboots: int
    deferrals: int
    regression: str | None
    offline: tuple[Interval, ...]

    @classmethod
    def of(cls, script: Script) -> ScriptState:
        return cls(
            script.install_failures,
            script.error_code,
            script.hanging_installs,
            script.hung_reboots,
            script.lost_reboots,
            script.ignored_reboots,
            script.deferrals,
            script.regression,
            script.offline,
        )

    def take(self, name: str) -> bool:
        """Use up one of the count ``name``; False when none is left."""
        left: int = getattr(self, name)
        if left <= 0:
            return False
        setattr(self, name, left - 1)
        return True


@dataclass(slots=True)
class DeviceState:
    connector_id: str
    role: Role
    os_family: OsFamily
    os_key: str
    checks: tuple[str, ...]
    maintenance_mode: bool
    key: int  # the device's dice: depends only on (seed, connector id)
    initial_boot: datetime
    reboot_wanted: list[datetime] = field(default_factory=list)  # installs that want a reboot
    missing: tuple[int, ...] | None = None  # catalogue indexes, drawn on first use
    installed: dict[int, tuple[datetime, datetime | None]] | None = None  # (at, removed at)
    failed_codes: dict[str, str] | None = None  # vendor id -> last error code
    reboots: list[Reboot] | None = None
    # Every reboot of the list ``over_of`` is over (checked in) by ``over_at`` (None: one
    # is not, or not yet known); see ``reboots_over``.
    over_of: list[Reboot] | None = None
    over_at: datetime | None = None
    regressions: list[Regression] | None = None
    wake_cuts: list[Interval] | None = None  # (woken at, up at): ends a natural period
    script: ScriptState | None = None
    busy_until: datetime | None = None  # the agent's last job finishes
    installs: int = 0
    reboot_requests: int = 0
    reboots_accepted: int = 0
    rollbacks: int = 0
    wakes: int = 0
    jobs: int = 0
    cache_day: int = -1  # the day cache_periods can cover (-1: none)
    cache_periods: tuple[Interval, ...] = ()
    baseline: tuple[bool, ...] | None = None  # per check: passes when no patch broke it
    healthy: dict[str, bool] | None = None  # check -> baseline (a copy is handed out)
    # What it reports missing for the entries released by then (PatchBook.reported):
    reported_rank: int = -1  # how many release instants had passed (-1: not yet asked)
    reported_chosen: tuple[int, ...] = ()  # catalogue indexes, before installs
    reported_patches: tuple[MissingPatch, ...] = ()  # the same, as patches
    offline_key: int = field(init=False)  # the natural periods' dice (from ``key``)
    # Natural periods by the UTC day they start (wake cuts applied); see ``sim.device``.
    periods: dict[int, tuple[Interval, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.offline_key = subkey(self.key, TAG_OFFLINE)

    def cut_period(self, woken: datetime, up: datetime) -> None:
        """A wake at ``woken`` ends the natural period it falls in at ``up``: the periods
        remembered (drawn before the cut) are forgotten."""
        self.wake_cuts = [*(self.wake_cuts or ()), (woken, up)]
        self.periods.clear()
        self.cache_day = -1


def new_device(
    seed: int | str,
    connector_id: str,
    role: Role,
    os_family: OsFamily,
    os_key: str,
    checks: tuple[str, ...],
    *,
    maintenance_mode: bool,
    epoch: datetime,
    rates: SimulatorRates,
    timings: SimulatorTimings,
) -> DeviceState:
    """A device as it is when the simulation starts at ``epoch``: booted a while ago."""
    key = key_of(seed, connector_id)
    boot_key = subkey(key, TAG_BOOT)
    uptime = timedelta(days=between(unit(boot_key, 0), timings.uptime_days(role)))
    booted = (epoch - uptime).replace(microsecond=0)
    device = DeviceState(
        connector_id, role, os_family, os_key, checks, maintenance_mode, key, booted
    )
    if unit(boot_key, 1) < rates.pending_reboot:
        since = booted + (epoch - booted) * max(unit(boot_key, 2), 0.01)
        device.reboot_wanted.append(since)
    return device


def day_of(at: datetime) -> int:
    return int(at.timestamp() // DAY_SECONDS)
