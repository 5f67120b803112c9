"""Catalogue entries for the simulator, the OS keys that select them, and the patch cycle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from patchdesk.connectors.base import MissingPatch
from patchdesk.domain import Classification, OsFamily, Role, Severity
from patchdesk.rules.calendar import patch_tuesday

C = Classification
S = Severity
WORKSTATIONS = frozenset({Role.SHARED_WORKSTATION, Role.SINGLE_USER})
ANY_ROLE: frozenset[Role] = frozenset()

# OS keys: which patches a device can miss. Labels are as Windows Update titles spell them.
WINDOWS_LABELS = {
    "win11-24h2": "Windows 11 Version 24H2",
    "win11-23h2": "Windows 11 Version 23H2",
    "win10": "Windows 10 Version 22H2",
    "ws2025": "Microsoft server operating system version 24H2",
    "ws2022": "Microsoft server operating system version 21H2",
    "ws2019": "Windows Server 2019",
}
WINDOWS = frozenset(WINDOWS_LABELS)
WINDOWS_CLIENTS = frozenset({"win11-24h2", "win11-23h2", "win10"})
WINDOWS_SERVERS = frozenset({"ws2025", "ws2022", "ws2019"})
MACOS = frozenset({"mac15", "mac14"})


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    patch: MissingPatch
    released_at: datetime  # devices report it from this instant on
    os_keys: frozenset[str]
    roles: frozenset[Role]  # empty: every role
    prevalence: float  # chance that a device it applies to misses it
    minutes: float  # typical install time on a workstation
    difficulty: float  # scales the install failure rate (1: an ordinary patch)
    errors: str  # key into simerrors.ERRORS
    group: str = ""  # entries of one group supersede each other

    @property
    def vendor_id(self) -> str:
        return self.patch.vendor_id

    def applies_to(self, key: str, role: Role) -> bool:
        return key in self.os_keys and (not self.roles or role in self.roles)


# ------------------------------------------------------------------------ OS names


def os_key(family: OsFamily, os_name: str) -> str:
    """The catalogue's key for an OS name as an RMM reports it ("Windows 11 Pro 24H2")."""
    name = os_name.lower()
    if family is OsFamily.WINDOWS:
        return _windows_key(name)
    if family is OsFamily.MACOS:
        return "mac14" if "14" in name or "sonoma" in name else "mac15"
    if family is OsFamily.LINUX:
        if any(word in name for word in ("red hat", "rhel", "rocky", "alma")):
            return "rhel9"
        return "ubuntu2204" if "22.04" in name else "ubuntu2404"
    return "other"


def _windows_key(name: str) -> str:
    if "server" in name:
        for year in ("2025", "2019"):
            if year in name:
                return f"ws{year}"
        return "ws2022"
    if "windows 10" in name:
        return "win10"
    return "win11-23h2" if "23h2" in name else "win11-24h2"


def default_os_name(family: OsFamily, role: Role) -> str:
    if family is OsFamily.WINDOWS:
        return "Windows Server 2022 Standard" if role is Role.SERVER else "Windows 11 Pro 24H2"
    if family is OsFamily.MACOS:
        return "macOS 15 Sequoia"
    if family is OsFamily.LINUX:
        return "Ubuntu 24.04 LTS"
    return "Unknown OS"


def default_checks(family: OsFamily, role: Role) -> tuple[str, ...]:
    """Health checks every device of this kind reports."""
    if family is OsFamily.WINDOWS:
        service = "service:W32Time" if role is Role.SERVER else "service:Spooler"
        return ("disk:C: free space", "service:WinDefend", service)
    if family is OsFamily.LINUX:
        return ("disk:/ free space", "service:sshd", "systemd:no failed units")
    if family is OsFamily.MACOS:
        return ("disk:/ free space", "mdm:profile installed")
    return ("agent:heartbeat",)


def cycle_of(day: date) -> date:
    """The Patch Tuesday that starts the cycle ``day`` belongs to."""
    tuesday = patch_tuesday(day.year, day.month)
    if day >= tuesday:
        return tuesday
    previous = day.replace(day=1) - timedelta(days=1)
    return patch_tuesday(previous.year, previous.month)


# ------------------------------------------------------------------------ building


@dataclass(frozen=True, slots=True)
class Cycle:
    """The patch cycle a catalogue is built for; numbers in titles follow its month."""

    tuesday: date
    months: int  # since 2024-01: drives KB numbers and versions

    @classmethod
    def of(cls, tuesday: date) -> Cycle:
        return cls(tuesday, (tuesday.year - 2024) * 12 + tuesday.month - 1)

    @property
    def ym(self) -> str:
        return f"{self.tuesday.year}-{self.tuesday.month:02d}"

    def kb(self, offset: int) -> str:
        return f"KB{5_034_000 + self.months * 2_300 + offset}"

    def day(self, offset: int, hour: int = 18) -> datetime:
        return datetime.combine(self.tuesday + timedelta(days=offset), time(hour), tzinfo=UTC)


def entry(
    vendor_id: str,
    title: str,
    vendor: str,
    product: str,
    classification: Classification,
    severity: Severity,
    released_at: datetime,
    *,
    reboot: bool,
    os_keys: frozenset[str],
    roles: frozenset[Role] = ANY_ROLE,
    prevalence: float,
    minutes: float,
    difficulty: float = 1.0,
    errors: str,
    group: str = "",
) -> CatalogueEntry:
    patch = MissingPatch(
        vendor_id=vendor_id,
        title=title,
        vendor=vendor,
        product=product,
        classification=classification,
        severity=severity,
        release_date=released_at.date(),
        reboot_required=reboot,
    )
    return CatalogueEntry(
        patch, released_at, os_keys, roles, prevalence, minutes, difficulty, errors, group
    )
