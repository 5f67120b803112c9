"""The clients of a simulated MSP and their devices (plain values, seeded).

Each client gets about 10% servers (at least one), 25% shared workstations and 65%
single-user devices, with hostnames in the client's prefix: ``NDP-DC01``, ``NDP-FS01``,
``NDP-FRONTDESK01``, ``NDP-LT-JSMITH`` (laptops), ``NDP-DT-MLEE`` (desktops),
``NDP-MBP-AKING`` (Macs). Tags: ``pilot`` (the early ring, on ring clients), ``docked``
(laptops on a dock at the weekend), ``vip``, ``kiosk``, ``build`` (Linux build hosts) and,
for law firms, ``managed`` (their scope includes only managed devices). About one device in
two hundred is in the RMM's maintenance mode (the simulator reports it; the inventory row
cannot carry it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from random import Random

from patchdesk.domain import Criticality, Role
from patchdesk.simulation.names import (
    FIRST_NAMES,
    KIND_ORDER,
    KINDS,
    PLACES,
    PROFILES,
    SURNAMES,
    ZONES,
    Kind,
)

SERVER_OS = (
    ("Windows Server 2022 Standard", 5),
    ("Windows Server 2019 Standard", 3),
    ("Windows Server 2025 Standard", 2),
)
LINUX_OS = (("Ubuntu 24.04 LTS", 5), ("Ubuntu 22.04 LTS", 2), ("Red Hat Enterprise Linux 9.4", 3))
SHARED_OS = (
    ("Windows 11 Pro 24H2", 6),
    ("Windows 11 Pro 23H2", 1),
    ("Windows 10 Pro 22H2", 3),
)
KIOSK_OS = "Windows 10 IoT Enterprise LTSC 2021"
MAINTENANCE_RATE = 0.005  # devices the RMM has in maintenance mode
SINGLE_OS = (
    ("Windows 11 Pro 24H2", 55),
    ("Windows 11 Pro 23H2", 10),
    ("Windows 10 Pro 22H2", 20),
    ("macOS 15 Sequoia", 10),
    ("macOS 14 Sonoma", 5),
)


@dataclass(frozen=True)
class ClientPlan:
    index: int
    slug: str
    name: str
    kind_name: str
    zone: str
    sites: tuple[str, ...]
    prefix: str
    size: int
    rings: bool

    @property
    def kind(self) -> Kind:
        return KINDS[self.kind_name]


@dataclass(frozen=True)
class DeviceDraft:
    hostname: str
    role: Role
    criticality: Criticality
    os_name: str
    site: str
    tags: tuple[str, ...]
    checks: tuple[str, ...]
    maintenance_mode: bool = False  # the RMM reports it (being rebuilt, on a bench ...)


# ----------------------------------------------------------------------------- clients


def client_plans(count: int, devices: int, rng: Random) -> list[ClientPlan]:
    """``count`` clients sharing ``devices`` devices (sizes vary, each has at least one)."""
    sizes = _sizes(count, devices, rng)
    slugs: set[str] = set()
    prefixes: set[str] = set()
    plans = []
    for index, size in enumerate(sizes):
        slug, name, kind, zone_index = _identity(index)
        slug = _unique(slug, slugs, "-")
        zone, towns = ZONES[zone_index]
        sites = towns[: 1 + min(len(towns) - 1, size // 40)]
        prefix = _unique(_prefix(name), prefixes, "")
        plans.append(ClientPlan(index, slug, name, kind, zone, sites, prefix, size, index % 2 == 0))
    return plans


def _identity(index: int) -> tuple[str, str, str, int]:
    if index < len(PROFILES):
        profile = PROFILES[index]
        return profile.slug, profile.name, profile.kind, profile.zone
    kind = KIND_ORDER[index % len(KIND_ORDER)]
    trades = KINDS[kind].trades
    place = PLACES[(index // len(KIND_ORDER)) % len(PLACES)]
    name = f"{place} {trades[index % len(trades)]}"
    return _slug(name), name, kind, index % len(ZONES)


def _sizes(count: int, devices: int, rng: Random) -> list[int]:
    weights = [rng.lognormvariate(0.0, 0.9) for _ in range(count)]
    spare = devices - count
    shares = [spare * weight / sum(weights) for weight in weights]
    sizes = [1 + int(share) for share in shares]
    by_remainder = sorted(range(count), key=lambda i: (-(shares[i] - int(shares[i])), i))
    for i in by_remainder[: devices - sum(sizes)]:
        sizes[i] += 1
    return sizes


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:56]


def _prefix(name: str) -> str:
    letters = [word[0] for word in re.findall(r"[A-Za-z]+", name)]
    prefix = "".join(letters[:3]).upper()
    return (prefix + re.sub(r"[^A-Za-z]", "", name).upper())[:3]


def _unique(value: str, taken: set[str], separator: str) -> str:
    candidate, number = value, 1
    while candidate in taken:
        number += 1
        candidate = f"{value}{separator}{number}"
    taken.add(candidate)
    return candidate


# ----------------------------------------------------------------------------- devices


def role_counts(size: int) -> tuple[int, int, int]:
    """(servers, shared workstations, single-user): about 10% / 25% / 65%."""
    servers = max(1, round(size * 0.10))
    shared = min(size - servers, round(size * 0.25))
    return servers, shared, size - servers - shared


def client_devices(plan: ClientPlan, rng: Random) -> list[DeviceDraft]:
    servers, shared, single = role_counts(plan.size)
    drafts = [
        *(_server(plan, i, rng) for i in range(servers)),
        *(_shared(plan, i, rng) for i in range(shared)),
        *_single_users(plan, single, rng),
    ]
    if plan.kind_name == "law":
        drafts = [_managed(draft, rng) for draft in drafts]
    return [
        replace(draft, maintenance_mode=True) if rng.random() < MAINTENANCE_RATE else draft
        for draft in drafts
    ]


def excluded_hostname(plan: ClientPlan, drafts: list[DeviceDraft]) -> str | None:
    """The device the client keeps out of scope (its kind's excluded stem), if it has one."""
    if not plan.kind.excluded:
        return None
    wanted = f"{plan.prefix}-{plan.kind.excluded}01"
    return wanted if any(draft.hostname == wanted for draft in drafts) else None


def _numbered(stems: tuple[str, ...], index: int) -> tuple[str, int]:
    return stems[index % len(stems)], index // len(stems) + 1


def _server(plan: ClientPlan, index: int, rng: Random) -> DeviceDraft:
    stem = plan.kind.servers[index % len(plan.kind.servers)]
    number = index // len(plan.kind.servers) + 1
    os_name = _pick(LINUX_OS if stem.linux else SERVER_OS, rng)
    tags: tuple[str, ...] = ("build",) if stem.stem == "BUILD" else ()
    if plan.rings and not stem.critical and number == 1:
        tags += ("pilot",)
    return DeviceDraft(
        hostname=f"{plan.prefix}-{stem.stem}{number:02d}",
        role=Role.SERVER,
        criticality=Criticality.CRITICAL if stem.critical else Criticality.STANDARD,
        os_name=os_name,
        site=plan.sites[(number - 1) % len(plan.sites)],
        tags=tags,
        checks=stem.checks,
    )


def _shared(plan: ClientPlan, index: int, rng: Random) -> DeviceDraft:
    stem, number = _numbered(plan.kind.shared, index)
    kiosk = stem == "KIOSK"
    tags: tuple[str, ...] = ("kiosk",) if kiosk else ()
    if plan.rings and index == 0:
        tags += ("pilot",)
    return DeviceDraft(
        hostname=f"{plan.prefix}-{stem}{number:02d}",
        role=Role.SHARED_WORKSTATION,
        criticality=Criticality.STANDARD,
        os_name=KIOSK_OS if kiosk else _pick(SHARED_OS, rng),
        site=_site(plan, rng),
        tags=tags,
        checks=plan.kind.shared_checks,
    )


def _single_users(plan: ClientPlan, count: int, rng: Random) -> list[DeviceDraft]:
    taken: set[str] = set()
    drafts = []
    for _ in range(count):
        os_name = _pick(SINGLE_OS, rng)
        person = rng.choice(FIRST_NAMES)[0] + rng.choice(SURNAMES)
        laptop = rng.random() < 0.75
        form = "MBP" if os_name.startswith("macOS") else "LT" if laptop else "DT"
        hostname = _unique(f"{plan.prefix}-{form}-{person}", taken, "")
        tags = [tag for tag, chance in _person_tags(plan, laptop) if rng.random() < chance]
        drafts.append(
            DeviceDraft(
                hostname=hostname,
                role=Role.SINGLE_USER,
                criticality=Criticality.STANDARD,
                os_name=os_name,
                site=_site(plan, rng),
                tags=tuple(tags),
                checks=(),
            )
        )
    return drafts


def _person_tags(plan: ClientPlan, laptop: bool) -> tuple[tuple[str, float], ...]:
    return (
        ("pilot", 0.1 if plan.rings else 0.0),
        ("docked", 0.35 if laptop else 0.0),
        ("vip", 0.04),
    )


def _managed(draft: DeviceDraft, rng: Random) -> DeviceDraft:
    """Law firms patch only devices tagged ``managed`` (a few personal devices are not)."""
    if draft.role is Role.SINGLE_USER and rng.random() < 0.04:
        return draft
    return replace(draft, tags=(*draft.tags, "managed"))


def _site(plan: ClientPlan, rng: Random) -> str:
    weights = [3] + [1] * (len(plan.sites) - 1)
    return rng.choices(plan.sites, weights)[0]


def _pick(options: tuple[tuple[str, int], ...], rng: Random) -> str:
    return rng.choices([name for name, _ in options], [weight for _, weight in options])[0]
