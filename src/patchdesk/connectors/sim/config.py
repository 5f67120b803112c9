"""The simulator's parameters: failure rates, timings, outages, devices and scripted fates.

Every rate is a probability in [0, 1]; every span is ``(low, high)`` drawn uniformly.
:meth:`SimulatorRates.none` gives a fleet where nothing ever goes wrong; tests raise one
rate at a time from there. The defaults aim at what an MSP sees in a normal month: a few
percent of devices with an install failure, about one in a hundred reboots hanging, laptops
often away, the RMM down for a short while once or twice a month.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime

from patchdesk.connectors.sim.dice import Span
from patchdesk.domain import OsFamily, Role

Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class SimulatorRates:
    """Probabilities of every kind of trouble (and of a few ordinary events)."""

    # One install of a patch of ordinary difficulty fails; a patch's difficulty (catalogue)
    # scales it as 1 - (1 - rate) ** difficulty, so 0 never fails and 1 always does.
    install_failure: float = 0.008
    # A patch that already failed on this device fails again on a retry (same error code).
    repeat_install_failure: float = 0.35
    # An accepted reboot hangs: the device goes down and never boots (keeps the old boot time).
    hung_reboot: float = 0.008
    # An accepted reboot boots, but the device never checks in again.
    never_returns: float = 0.004
    # An install that installed something breaks a health check that passed before.
    health_regression: float = 0.01
    # A health check is already failing before any patch (not the patch's fault).
    baseline_check_failure: float = 0.01
    # A deferrable reboot request is postponed by the logged-in user (servers never defer).
    deferral_single_user: float = 0.3
    deferral_shared: float = 0.08
    # Chance per UTC day that a device has an offline period (powered off, taken home ...).
    offline_server: float = 0.002
    offline_shared: float = 0.04
    offline_single_user: float = 0.15
    # Chance per hour that a connector outage starts (every call then raises).
    outage_per_hour: float = 0.0015
    rollback_failure: float = 0.03
    # Wake-on-LAN / out-of-band power-on that does not bring the device back.
    wake_failure: float = 0.1
    wake_failure_single_user: float = 0.7
    # At start, a device already has a reboot pending from before.
    pending_reboot: float = 0.03

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"rate {item.name} must be between 0 and 1, got {value}")

    @classmethod
    def none(cls) -> SimulatorRates:
        """Nothing ever fails, defers, goes offline or pends: the happy path."""
        return cls(**{item.name: 0.0 for item in fields(cls)})

    def deferral(self, role: Role) -> float:
        if role is Role.SINGLE_USER:
            return self.deferral_single_user
        if role is Role.SHARED_WORKSTATION:
            return self.deferral_shared
        return 0.0

    def offline(self, role: Role) -> float:
        if role is Role.SERVER:
            return self.offline_server
        if role is Role.SHARED_WORKSTATION:
            return self.offline_shared
        return self.offline_single_user

    def wake_fails(self, role: Role) -> float:
        return self.wake_failure_single_user if role is Role.SINGLE_USER else self.wake_failure


@dataclass(frozen=True, slots=True)
class SimulatorTimings:
    """How long things take, in minutes unless the name says otherwise."""

    queue_minutes: Span = (0.2, 2.0)  # the agent picks the job up
    install_overhead_minutes: Span = (2.0, 6.0)  # scan and download
    install_jitter: Span = (0.75, 1.5)  # times the catalogue's per-patch minutes
    server_install_factor: float = 1.8  # servers install more slowly
    reboot_minutes_server: Span = (4.0, 14.0)
    reboot_minutes_workstation: Span = (1.5, 5.0)
    update_configure_minutes: Span = (2.0, 12.0)  # added when the reboot applies updates
    checkin_minutes: Span = (0.5, 3.0)  # from boot to the agent's first check-in
    rollback_minutes: Span = (4.0, 15.0)
    offline_hours_server: Span = (0.25, 3.0)
    offline_hours_shared: Span = (1.0, 10.0)
    offline_hours_single_user: Span = (2.0, 16.0)
    outage_minutes: Span = (5.0, 45.0)
    uptime_days_server: Span = (3.0, 45.0)  # age of the boot time at start
    uptime_days_workstation: Span = (0.2, 12.0)

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            spans = value if isinstance(value, tuple) else (value, value)
            if not 0 <= spans[0] <= spans[1]:
                raise ValueError(f"timing {item.name} must be 0 <= low <= high, got {value}")
        for role in Role:
            if self.offline_hours(role)[1] >= 24:
                raise ValueError("offline periods must be shorter than 24 hours")
        if self.outage_minutes[1] > 24 * 60:
            raise ValueError("outages drawn by rate must be at most 24 hours")

    def offline_hours(self, role: Role) -> Span:
        if role is Role.SERVER:
            return self.offline_hours_server
        if role is Role.SHARED_WORKSTATION:
            return self.offline_hours_shared
        return self.offline_hours_single_user

    def reboot_minutes(self, role: Role) -> Span:
        return (
            self.reboot_minutes_server if role is Role.SERVER else self.reboot_minutes_workstation
        )

    def uptime_days(self, role: Role) -> Span:
        return self.uptime_days_server if role is Role.SERVER else self.uptime_days_workstation


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Rates, timings, and outages at fixed virtual times ([start, end), aware UTC)."""

    rates: SimulatorRates = field(default_factory=SimulatorRates)
    timings: SimulatorTimings = field(default_factory=SimulatorTimings)
    outages: tuple[Interval, ...] = ()

    def __post_init__(self) -> None:
        for start, end in self.outages:
            check_interval("outage", start, end)


@dataclass(frozen=True, slots=True)
class Script:
    """Outcomes forced on one device, ahead of the dice (for tests and demos).

    Counts are used up by the calls they apply to: ``hanging_installs`` then
    ``install_failures`` by install jobs (a hanging job runs forever and installs nothing;
    a failing one's first patch fails with ``error_code``); ``hung_reboots``, then
    ``lost_reboots``, then ``ignored_reboots`` by accepted reboots (an ignored reboot is
    acknowledged but never happens: the device stays up with its old boot time);
    ``deferrals`` by deferrable reboot requests. ``regression`` names a health check that
    breaks after the next install that installs something. ``offline`` adds offline
    periods ([start, end), aware UTC).
    """

    install_failures: int = 0
    error_code: str = "0x80070643"
    hanging_installs: int = 0
    hung_reboots: int = 0
    lost_reboots: int = 0
    ignored_reboots: int = 0
    deferrals: int = 0
    regression: str | None = None
    offline: tuple[Interval, ...] = ()

    def __post_init__(self) -> None:
        counts = (
            self.install_failures,
            self.hanging_installs,
            self.hung_reboots,
            self.lost_reboots,
            self.ignored_reboots,
            self.deferrals,
        )
        if min(counts) < 0:
            raise ValueError("script counts cannot be negative")
        for start, end in self.offline:
            check_interval("offline period", start, end)


@dataclass(frozen=True, slots=True)
class SimDevice:
    """One simulated device as registered with the simulator.

    ``os_name`` picks the patches it can miss (e.g. "Windows 11 Pro 24H2", "Windows Server
    2022 Standard", "macOS 15 Sequoia", "Ubuntu 24.04 LTS"); empty means the usual one for
    the family and role. ``checks`` are extra health checks on top of the OS defaults.
    """

    connector_id: str
    role: Role
    os_family: OsFamily
    os_name: str = ""
    hostname: str = ""
    checks: tuple[str, ...] = ()
    maintenance_mode: bool = False
    script: Script | None = None


def check_interval(what: str, start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError(f"{what} times must be timezone-aware")
    if end <= start:
        raise ValueError(f"{what} must end after it starts ({start} .. {end})")
