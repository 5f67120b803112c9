"""A client's policy in plain words, for the client's IT contact (pure functions over models).

Every function that puts policy text (names, tags, notes ...) into a sentence takes ``quote``,
which the markdown export uses to escape it; the default leaves text as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta

from patchdesk.ages import age
from patchdesk.domain import Classification, OsFamily, RebootPolicy, Role, RuleAction
from patchdesk.policy.durations import format_clock, hours_and_minutes
from patchdesk.policy.models import (
    AppliesTo,
    ApprovalRule,
    BlockEntry,
    Monthly,
    Recurrence,
    Ring,
    Scope,
    Weekly,
    Window,
)

Quote = Callable[[str], str]
Lines = list[tuple[str, str]]

DAY_NAMES = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
ROLE_WORDS = {
    Role.SERVER: "servers",
    Role.SHARED_WORKSTATION: "shared workstations",
    Role.SINGLE_USER: "single-user computers",
}
OS_WORDS = {
    OsFamily.WINDOWS: "Windows",
    OsFamily.MACOS: "macOS",
    OsFamily.LINUX: "Linux",
    OsFamily.OTHER: "other operating systems",
}
CLASSIFICATION_WORDS = {
    Classification.SECURITY: "security updates",
    Classification.CRITICAL: "critical updates",
    Classification.DEFINITION: "definition updates",
    Classification.UPDATE_ROLLUP: "update rollups",
    Classification.UPDATE: "non-security updates",
    Classification.FEATURE_UPGRADE: "feature upgrades",
    Classification.DRIVER: "driver updates",
    Classification.THIRD_PARTY: "third-party application updates",
}
REBOOT_WORDS = {
    RebootPolicy.NEVER: "never restarted during the window; updates that need a restart "
    "wait until the computer is restarted",
    RebootPolicy.IF_REQUIRED: "restarted only when an update requires it",
    RebootPolicy.ALWAYS: "always restarted after patching",
}
PATCH_TUESDAY = "Patch Tuesday (the second Tuesday of the month)"
NO_RULE_MATCHES = "A patch that no rule matches waits for a technician's approval."
NO_WINDOWS = "No maintenance windows: nothing is installed on a schedule."
RULES_INTRO = "Rules apply in order; the first rule that matches a patch decides."
NO_RINGS = "No rings: approved patches go to every device in scope in its windows."
RINGS_INTRO = (
    "Approved patches reach the rings in this order. A ring starts only after the ring "
    "before it has soaked for its period with at least its success rate; a problem found in "
    "an earlier ring halts the later ones."
)


def _plain(text: str) -> str:
    return text


def _quoted(text: str) -> str:
    return f'"{text}"'


def join_words(items: Sequence[str], last: str = "and") -> str:
    """["a"] -> "a"; ["a", "b", "c"] -> "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


# --- scope ----------------------------------------------------------------------------------


def scope_lines(scope: Scope, quote: Quote = _plain) -> Lines:
    """Labelled lines describing which devices and software are patched."""
    roles = [ROLE_WORDS[role] for role in scope.include_roles]
    families = [OS_WORDS[family] for family in scope.include_os]
    lines: Lines = [
        ("Device roles", join_words(roles) if roles else "all roles"),
        (
            "Device tags",
            f"only devices tagged {join_words([quote(t) for t in scope.include_tags], 'or')}"
            if scope.include_tags
            else "any (no tag filter)",
        ),
        (
            "Sites",
            "only devices at " + join_words([quote(s) for s in scope.include_sites], "or")
            if scope.include_sites
            else "all sites",
        ),
        ("Operating systems", join_words(families) if families else "all"),
        (
            "Excluded devices",
            ", ".join(quote(d) for d in scope.exclude_devices) if scope.exclude_devices else "none",
        ),
        (
            "Operating-system updates",
            "installed" if scope.patch_os else "not installed (only the applications below)",
        ),
        (
            "Third-party applications",
            ", ".join(quote(a) for a in scope.third_party) if scope.third_party else "none",
        ),
    ]
    if scope.notes.strip():
        lines.append(("Notes", quote(scope.notes)))
    return lines


# --- windows --------------------------------------------------------------------------------


def recurrence_text(recurrence: Recurrence) -> str:
    """E.g. "every Tuesday and Thursday" or "on the last Friday of every month"."""
    if isinstance(recurrence, Weekly):
        if set(recurrence.days) == set(DAY_NAMES):
            return "every day"
        return "every " + join_words([DAY_NAMES[day] for day in recurrence.days])
    if isinstance(recurrence, Monthly):
        day = DAY_NAMES[recurrence.weekday]
        return f"on the {ORDINALS[recurrence.nth]} {day} of every month"
    offset = recurrence.offset_days
    if offset == 0:
        return f"on {PATCH_TUESDAY}"
    weekday = list(DAY_NAMES.values())[(1 + offset) % 7]  # Patch Tuesday is a Tuesday
    return f"on the {weekday} {_plural(offset, 'day')} after {PATCH_TUESDAY}"


def time_span(start: time, minutes: int) -> str:
    """E.g. "22:00 to 02:00 the next day (4 hours)", in wall-clock time as defined."""
    end = datetime.combine(datetime.min, start) + timedelta(minutes=minutes)
    days = (end.date() - datetime.min.date()).days
    later = {0: "", 1: " the next day"}.get(days, f" {days} days later")
    return (
        f"{format_clock(start)} to {format_clock(end.time())}{later} ({hours_and_minutes(minutes)})"
    )


def applies_to_text(applies_to: AppliesTo, quote: Quote = _plain) -> str:
    parts: list[str] = []
    if applies_to.roles:
        parts.append(join_words([ROLE_WORDS[role] for role in applies_to.roles], "or"))
    if applies_to.tags:
        parts.append("tagged " + join_words([quote(t) for t in applies_to.tags], "or"))
    if applies_to.sites:
        parts.append("at " + join_words([quote(s) for s in applies_to.sites], "or"))
    if not parts:
        return "every device in scope"
    return "devices in scope that are " + ", ".join(parts)


def wall_clock_note(timezone: str) -> str:
    return (
        f"All times are local wall-clock times in {timezone} and follow its "
        "daylight-saving changes."
    )


def window_lines(window: Window, timezone: str, quote: Quote = _plain) -> Lines:
    """Labelled lines describing one maintenance window."""
    if window.max_deferrals:
        deferrals = (
            f"users may postpone up to {_plural(window.max_deferrals, 'time')}, "
            f"{_plural(window.deferral_minutes, 'minute')} each; after that the update goes ahead"
        )
    else:
        deferrals = "users cannot postpone"
    lines: Lines = [
        (
            "When",
            f"{recurrence_text(window.recurrence)}, "
            f"{time_span(window.start, window.duration)}, {timezone} time",
        ),
        ("Applies to", applies_to_text(window.applies_to, quote)),
        ("Restarts", REBOOT_WORDS[window.reboot]),
        ("User deferrals", deferrals),
        (
            "Check-in after restart",
            f"within {hours_and_minutes(window.checkin_timeout)}, or the device is reported "
            "as a failed patch",
        ),
        ("Devices at a time", f"at most {window.max_concurrent}"),
    ]
    blackouts = [
        f"{b.start.isoformat()} to {b.end.isoformat()}"
        + (f" – {quote(b.reason)}" if b.reason else "")
        for b in window.blackouts
    ]
    lines.append(("No patching (blackouts)", "; ".join(blackouts) if blackouts else "none"))
    return lines


# --- occurrences ----------------------------------------------------------------------------


def occurrence_status(start: datetime, end: datetime, now: datetime) -> str:
    """``open now, 2h10m left``, ``in 3h12m`` or ``ended 5m ago`` (aware times)."""
    if start <= now < end:
        return f"open now, {age(end - now)} left"
    if start > now:
        return f"in {age(start - now)}"
    return f"ended {age(now - end)} ago"


def span_text(
    start: datetime, end: datetime, *, day_format: str = "%a %Y-%m-%d", compact: bool = False
) -> str:
    """An occurrence in the zone its aware ``start`` and ``end`` are in.

    ``Sat 2026-11-28 01:04 AEDT – 05:04 AEDT`` (the end's weekday when it ends on another
    day); ``compact`` names the zone once when it does not change:
    ``Sat 28 Nov 01:04–05:04 AEDT``, ``Sat 28 Nov 22:00–Sun 02:00 EST``,
    ``Sun 01 Nov 01:30 EDT–03:30 EST`` (``day_format="%a %d %b"``).
    """
    end_day = "" if end.date() == start.date() else f"{end:%a} "
    first = f"{start:{day_format}} {start:%H:%M}"
    if not compact:
        return f"{first} {start.tzname()} – {end_day}{end:%H:%M} {end.tzname()}"
    if start.tzname() == end.tzname():
        return f"{first}–{end_day}{end:%H:%M} {end.tzname()}"
    return f"{first} {start.tzname()}–{end_day}{end:%H:%M} {end.tzname()}"


# --- approval rules, rings, block list ------------------------------------------------------


def rule_text(rule: ApprovalRule, quote: Quote = _plain, code: Quote = _quoted) -> str:
    """E.g. "Security updates of critical severity: approved automatically 3 days after release".

    ``code`` sets off the title pattern (a regular expression) from the sentence.
    """
    return f"{_subject(rule, quote, code)}: {_verdict(rule)}"


def unmatched_text(rules: Sequence[ApprovalRule]) -> str | None:
    """What happens to a patch no rule matches; None when the last rule matches everything."""
    return None if rules and rules[-1].match.any else NO_RULE_MATCHES


def _subject(rule: ApprovalRule, quote: Quote, code: Quote) -> str:
    match = rule.match
    if match.any:
        return "Any other patch"
    words = (
        join_words([CLASSIFICATION_WORDS[c] for c in match.classifications], "or")
        if match.classifications
        else "patches"
    )
    if match.severities:
        words += f" of {join_words([str(s) for s in match.severities], 'or')} severity"
    if match.vendors:
        words += " from " + join_words([quote(v) for v in match.vendors], "or")
    if match.products:
        words += " for " + join_words([quote(p) for p in match.products], "or")
    if match.patch_ids:
        words += " with id " + join_words([quote(p) for p in match.patch_ids], "or")
    if match.title_pattern is not None:
        words += f" whose title matches {code(match.title_pattern)}"
    return words[:1].upper() + words[1:]


def _verdict(rule: ApprovalRule) -> str:
    days = rule.days or 0
    if rule.action is RuleAction.AUTO:
        if days:
            return f"approved automatically {_plural(days, 'day')} after release"
        return "approved automatically"
    if rule.action is RuleAction.DEFER:
        return f"deferred until {_plural(days, 'day')} after release"
    if rule.action is RuleAction.MANUAL:
        return "wait for a technician's approval"
    return "blocked (never installed)"


def ring_text(ring: Ring, is_last: bool, quote: Quote = _plain) -> str:
    if ring.tags:
        devices = "devices tagged " + join_words([quote(t) for t in ring.tags], "or")
    else:
        devices = "every device in scope that is not in an earlier ring"
    if is_last:
        return f"{devices}."
    return (
        f"{devices}. Soaks for {soak_text(ring.soak)}; the next ring starts when at least "
        f"{percent(ring.min_success_rate)} of this ring's devices were patched successfully."
    )


def soak_text(hours: int) -> str:
    if hours and hours % 24 == 0:
        return _plural(hours // 24, "day")
    return _plural(hours, "hour")


def percent(rate: float) -> str:
    return f"{rate * 100:g}%"


def block_text(entry: BlockEntry, quote: Quote = _plain) -> str:
    when = entry.blocked_at.date().isoformat()
    return f"{quote(entry.reason)} (blocked by {quote(entry.blocked_by)} on {when})"
