"""The post-patch report as the client receives it: a model with no place for what stays
inside the MSP.

``reports.client_view.client_view`` projects the internal ``store.report_model.CycleReport``
onto it. There is deliberately no field here for a technician's note, an operator's or
owner's name, an approval or block reason, an exception's summary, a connector's error
message or code, an exception id, a remediation action or outcome code, a tier or a client
id: a field added to the internal model reaches the client only if someone adds it here and
fills it in the projection. The words (``happened``, ``done``, ``why``, ``summary``, ...) are
written by the projection from fixed phrases, numbers and dates; the only stored text that
reaches the client is the names of things the client owns or agreed to: its own name,
hostnames, sites, window names, patch ids and titles, operating systems and applications.

Instants are aware UTC; renderers show them in the client's zone, labelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from patchdesk.rules.metrics.cycles import Cycle


@dataclass(frozen=True)
class Branding:
    """Who the report comes from (``[report]`` settings); empty strings are left out."""

    msp_name: str = ""
    contact: str = ""
    logo_text: str = ""


@dataclass(frozen=True)
class ClientScope:
    devices_total: int
    devices_in_scope: int
    in_scope_by_role: tuple[tuple[str, int], ...]  # role words (plural when n != 1), count
    operating_systems: tuple[str, ...]  # () : all
    sites: tuple[str, ...]  # () : all
    operating_system_updates: bool
    applications: tuple[str, ...]
    excluded_devices: tuple[str, ...]


@dataclass(frozen=True)
class ClientWindow:
    """A maintenance window that took place in the cycle, as scheduled."""

    name: str
    urgent: bool  # an urgent (emergency) update's deployment, outside the regular windows
    start: datetime
    end: datetime  # as scheduled: a later retry is listed apart and never moves it
    devices: int
    updated: int
    problems: int


@dataclass(frozen=True)
class OutsideWindow:
    """An installation retried after its window had closed (or before it opened)."""

    hostname: str
    window: str
    window_start: datetime
    at: datetime
    result: str  # plain words: the device's outcome now


@dataclass(frozen=True)
class ClientEvent:
    """Something that went wrong on a device and what was done about it."""

    hostname: str
    at: datetime  # when it was found
    patches: tuple[str, ...]
    happened: str  # plain words: "the device did not come back after its restart"
    done: str  # plain words: "an engineer restarted it remotely; resolved on 17 Nov"
    resolved_at: datetime | None
    why_open: str = ""  # plain words, while unresolved: "an engineer is working on it"

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def sentence(self) -> str:
        text = f"{self.happened}; {self.done}"
        return text[:1].upper() + text[1:] + "."


@dataclass(frozen=True)
class Measure:
    """One compliance figure at the cycle's start and at ``as_of``, and what it counts."""

    name: str
    rate_before: Fraction | None
    rate_after: Fraction | None
    counted_before: int
    of_before: int
    counted_after: int
    of_after: int
    unit: str  # "devices" / "updates"
    meaning: str  # one sentence: what it counts, and why it differs from the other


@dataclass(frozen=True)
class Outstanding:
    hostname: str
    what: str
    why: str


@dataclass(frozen=True)
class ClientEmergency:
    patch: str
    title: str
    approved_at: datetime
    devices: tuple[str, ...]
    targets: int
    updated: int


@dataclass(frozen=True)
class ClientDevice:
    """One device in one window (the appendix, and the CSV's rows)."""

    hostname: str
    role: str  # words
    site: str | None
    window: str
    window_start: datetime
    patches: tuple[str, ...]
    failed_patches: tuple[str, ...]
    outcome: str  # words
    problem: bool
    follow_up: str  # the event's sentence when this device's result raised one, else ""


@dataclass(frozen=True)
class UpcomingWindow:
    name: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class ClientReport:
    branding: Branding
    client_name: str
    timezone: str
    cycle: Cycle
    start: datetime
    end: datetime
    as_of: datetime
    summary: tuple[str, ...]  # the executive summary, 3 to 5 sentences
    scope: ClientScope
    windows: tuple[ClientWindow, ...]
    outside_windows: tuple[OutsideWindow, ...]
    events: tuple[ClientEvent, ...]
    device_compliance: Measure
    patch_compliance: Measure
    outstanding: tuple[Outstanding, ...]
    emergencies: tuple[ClientEmergency, ...]
    next_windows: tuple[UpcomingWindow, ...]
    devices: tuple[ClientDevice, ...]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def in_progress(self) -> bool:
        return self.as_of < self.end
