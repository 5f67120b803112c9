"""Client policies for a simulated MSP, written as a policy file would hold them.

Each client gets four windows covering all three recurrence kinds: servers on a
Patch-Tuesday-relative evening (reboot always, a year-end freeze), shared workstations on
weekly evenings (no deferrals), single-user devices on weekly lunchtimes or evenings (user
deferrals), and a monthly catch-up for everything (or, for engineering firms, the Linux
build hosts). Approval rules: definitions auto, critical security auto after 0-2 days, other
security and rollups after 3-7 days, third-party after a few days, feature upgrades
deferred, drivers manual, everything else manual; some clients block preview builds. Every
other client deploys in rings (``pilot`` then ``broad``).

With ``demo`` the windows are anchored on ``start`` instead: the first client's windows opened
an hour and a half before ``start`` (the demo runs the engine through that head start before
the technician arrives, so failures are due soon after), the others open within the
following half hour, computed in each
client's own zone (windows are wall-clock recurrences, so the local date and time of that
instant become a weekly day, an nth weekday of the month or a Patch Tuesday offset).
Auto-approval delays are capped at the cycle's age so that something is approved at once.

The raw values are validated by the real policy models (:func:`validate`): a simulated MSP
is made of policies ``patchdesk policy validate`` would accept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from patchdesk.policy import crosschecks
from patchdesk.policy.models import PolicyDocument
from patchdesk.rules.calendar import WEEKDAYS, patch_tuesday
from patchdesk.simulation.fleet import ClientPlan, DeviceDraft, excluded_hostname

Raw = dict[str, Any]

BLOCKLIST: tuple[Raw, ...] = (
    {
        "patch_id": "KB5034441",
        "reason": "Windows Recovery Environment update fails with 0x80070643 when the recovery "
        "partition is too small, then retries every cycle.",
        "blocked_by": "noc.lead",
        "blocked_at": datetime(2024, 1, 12, 14, 40, tzinfo=UTC),
    },
)


@dataclass(frozen=True)
class Context:
    """What every client's policy is built against."""

    start: datetime
    cycle: date  # the Patch Tuesday of the catalogue's cycle
    demo: bool


# ------------------------------------------------------------------------------ client


def client_policy(
    plan: ClientPlan, drafts: list[DeviceDraft], context: Context, rng: Random
) -> Raw:
    return {
        "id": plan.slug,
        "name": plan.name,
        "timezone": plan.zone,
        "sla_tier": _sla_tier(plan),
        "scope": _scope(plan, drafts, rng),
        "windows": _windows(plan, context, rng),
        "approval_rules": _rules(plan, context, rng),
        "rings": _rings(context) if plan.rings else [],
    }


def _sla_tier(plan: ClientPlan) -> str:
    if plan.kind_name in ("clinic", "bank", "lab"):
        return "gold"
    return "bronze" if plan.kind_name == "school" else "silver"


def _scope(plan: ClientPlan, drafts: list[DeviceDraft], rng: Random) -> Raw:
    families = sorted({_family(draft.os_name) for draft in drafts})
    apps = [app for app in plan.kind.third_party if app == "Google Chrome" or rng.random() < 0.8]
    scope: Raw = {"include_os": families, "patch_os": True, "third_party": apps}
    excluded = excluded_hostname(plan, drafts)
    if excluded is not None:
        scope["exclude_devices"] = [excluded]
        scope["notes"] = plan.kind.exclusion_note
    if plan.kind_name == "law":
        scope["include_tags"] = ["managed"]
        scope["notes"] = "Only firm-managed devices are patched; personal devices are not."
    return scope


def _family(os_name: str) -> str:
    lowered = os_name.lower()
    if lowered.startswith("windows"):
        return "windows"
    return "macos" if lowered.startswith("macos") else "linux"


# ----------------------------------------------------------------------------- windows


def _windows(plan: ClientPlan, context: Context, rng: Random) -> list[Raw]:
    servers: Raw = {
        "name": "Servers – after Patch Tuesday",
        "applies_to": {"roles": ["server"]},
        "recurrence": {"type": "patch_tuesday", "offset_days": rng.choice((2, 3, 4, 5))},
        "start": rng.choice(("21:00", "22:00", "23:00")),
        "duration": "4h",
        "reboot": "always",
        "checkin_timeout": rng.choice(("20m", "30m")),
        "max_concurrent": 1 if plan.size < 60 else 2,
    }
    shared: Raw = {
        "name": "Shared workstations",
        "applies_to": {"roles": ["shared_workstation"]},
        "recurrence": {"type": "weekly", "days": rng.choice((["tue", "thu"], ["mon", "wed"]))},
        "start": rng.choice(("19:30", "20:00", "21:00")),
        "duration": "3h",
        "reboot": "if_required",
        "max_deferrals": 0,
        "checkin_timeout": "30m",
        "max_concurrent": _clamp(plan.size // 10, 5, 200),
    }
    single: Raw = {
        "name": "Staff laptops and desktops",
        "applies_to": {"roles": ["single_user"]},
        "recurrence": {"type": "weekly", "days": rng.choice((["wed"], ["mon", "wed", "thu"]))},
        "start": rng.choice(("12:00", "12:15", "18:30")),
        "duration": rng.choice(("1h30m", "2h", "2h30m")),
        "reboot": "if_required",
        "max_deferrals": rng.choice((2, 3)),
        "deferral_minutes": rng.choice((30, 45, 60)),
        "checkin_timeout": rng.choice(("2h", "4h")),
        "max_concurrent": _clamp(plan.size // 4, 10, 1000),
    }
    catch_up: Raw = {
        "name": "Monthly catch-up",
        "recurrence": {"type": "monthly", "nth": -1, "weekday": "sun"},
        "start": rng.choice(("01:00", "02:00")),
        "duration": "3h",
        "reboot": "if_required",
        "checkin_timeout": "1h",
        "max_concurrent": _clamp(plan.size // 5, 5, 1000),
    }
    if plan.kind_name == "engineering":
        catch_up |= {"name": "Linux build hosts", "applies_to": {"tags": ["build"]}}
        catch_up |= {"reboot": "always", "checkin_timeout": "15m"}
    windows = [servers, shared, single, catch_up]
    if context.demo:
        _anchor(windows, plan, context)
    servers["blackouts"] = [_freeze(servers, plan, context)]
    return windows


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _anchor(windows: list[Raw], plan: ClientPlan, context: Context) -> None:
    """Demo: the first client's windows opened 90 minutes before start, the others open
    within half an hour after it."""
    zone = ZoneInfo(plan.zone)
    for number, window in enumerate(windows):
        minutes = -90 if plan.index == 0 else (3 * plan.index + number) % 30 + 1
        local = (context.start + timedelta(minutes=minutes)).astimezone(zone)
        local = local.replace(second=0, microsecond=0)
        kind = window["recurrence"]["type"]
        window["recurrence"] = _recurrence_on(kind, local.date())
        window["start"] = f"{local:%H:%M}"
        window["duration"] = "4h" if kind == "patch_tuesday" else "3h"


def _recurrence_on(kind: str, day: date) -> Raw:
    """A recurrence of ``kind`` that falls on ``day`` (monthly when Patch Tuesday can't)."""
    if kind == "weekly":
        return {"type": "weekly", "days": [WEEKDAYS[day.weekday()]]}
    if kind == "patch_tuesday":
        tuesday = patch_tuesday(day.year, day.month)
        if day < tuesday:
            before = day.replace(day=1) - timedelta(days=1)
            tuesday = patch_tuesday(before.year, before.month)
        if (day - tuesday).days <= 27:
            return {"type": "patch_tuesday", "offset_days": (day - tuesday).days}
    nth = (day.day - 1) // 7 + 1
    return {"type": "monthly", "nth": -1 if nth == 5 else nth, "weekday": WEEKDAYS[day.weekday()]}


def _freeze(window: Raw, plan: ClientPlan, context: Context) -> Raw:
    """The year-end change freeze that is current or next at start; in a demo never one
    that covers the day the window opens."""
    today = context.start.astimezone(ZoneInfo(plan.zone)).date()
    year = today.year - 1 if today <= date(today.year, 1, 2) else today.year
    start, end = date(year, 12, 21), date(year + 1, 1, 2)
    if context.demo and start <= today <= end:
        start, end = date(year + 1, 12, 21), date(year + 2, 1, 2)
    return {"from": start, "to": end, "reason": "Year-end change freeze"}


# ------------------------------------------------------------------- rules and rings


def _rules(plan: ClientPlan, context: Context, rng: Random) -> list[Raw]:
    age = max(0, (context.start.date() - context.cycle).days)

    def auto(days: int) -> int:
        return min(days, age) if context.demo else days

    rules: list[Raw] = []
    if rng.random() < 0.4:
        preview = {"title_pattern": r"(?i)\bpreview\b"}
        rules.append({"name": "Preview builds", "match": preview, "action": "block"})
    rules += [
        {"name": "Definition updates", "match": {"classifications": ["definition"]}},
        {
            "name": "Critical security updates",
            "match": {"classifications": ["security", "critical"], "severities": ["critical"]},
            "days": auto(rng.choice((0, 1, 2))),
        },
        {
            "name": "Security updates and rollups",
            "match": {"classifications": ["security", "critical", "update_rollup"]},
            "days": auto(rng.choice((3, 5, 7))),
        },
    ]
    for rule in rules:
        rule.setdefault("action", "auto")
    return [*rules, *_later_rules(auto, rng)]


def _later_rules(auto: Callable[[int], int], rng: Random) -> list[Raw]:
    third_party: Raw = {"name": "Third-party applications"}
    third_party["match"] = {"classifications": ["third_party"]}
    if rng.random() < 0.8:
        third_party |= {"action": "auto", "days": auto(rng.choice((2, 3, 5)))}
    else:
        third_party["action"] = "manual"
    return [
        third_party,
        {
            "name": "Feature upgrades",
            "match": {"classifications": ["feature_upgrade"]},
            "action": "defer",
            "days": rng.choice((90, 120, 180)),
        },
        {
            "name": "Drivers and firmware",
            "match": {"classifications": ["driver"]},
            "action": "manual",
        },
        {"name": "Everything else", "match": {"any": True}, "action": "manual"},
    ]


def _rings(context: Context) -> list[Raw]:
    soak = "1h" if context.demo else "24h"
    return [
        {"name": "pilot", "tags": ["pilot"], "soak": soak, "min_success_rate": 0.95},
        {"name": "broad", "soak": "0h", "min_success_rate": 0.9},
    ]


# --------------------------------------------------------------------------- validate


def validate(clients: list[Raw]) -> PolicyDocument:
    """The policies as the policy file models read them; a problem is a builder bug."""
    raw: Raw = {"clients": clients, "blocklist": [dict(entry) for entry in BLOCKLIST]}
    findings = crosschecks.file_findings(raw)
    try:
        document = PolicyDocument.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(f"simulated policies do not validate: {exc}") from exc
    if findings:
        raise ValueError(f"simulated policies do not validate: {findings}")
    return document
