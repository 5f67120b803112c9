"""The client's post-patch report: a pure projection of the internal report model
(``store.report_model.CycleReport``) onto the client model (``reports.client_model``).

What the projection reads but never copies: technicians' notes, operators' and owners'
names, exception summaries and connector error messages (the engine's wording), error
codes, remediation action and outcome codes (``exception.open``, ``remediate:force_reboot``,
``reboot_no_boot``), approval reasons, scope notes, tags, tiers and ids. A code it knows
becomes fixed plain words (``reboot_no_boot``: "the device did not come back after its
restart"); a code it does not know adds nothing. Every sentence is built here from fixed
phrases, numbers and dates in the client's zone, so each format says the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from patchdesk.domain import ExceptionState, TargetState
from patchdesk.reports.client_model import (
    Branding,
    ClientDevice,
    ClientEmergency,
    ClientEvent,
    ClientReport,
    ClientScope,
    ClientWindow,
    Measure,
    OutsideWindow,
    Outstanding,
    UpcomingWindow,
)
from patchdesk.reports.client_words import (
    ACTION_COMMANDS,
    ACTION_WORDS,
    CAUSE_ACTIONS,
    CAUSE_WORDS,
    CLASS_WORDS,
    DEVICE_MEANING,
    ENGINEER_RESOLUTIONS,
    ESCALATED,
    GENERIC_PROBLEM,
    IN_PROGRESS_STATES,
    NOT_REACHED,
    OPEN_WORDS,
    OUTCOME_WORDS,
    PATCH_MEANING,
    REMEDIATE_PREFIX,
    ROLE_WORDS,
    URGENT_WINDOW,
)
from patchdesk.reports.formatting import client_time, percent, plural, short_day
from patchdesk.store.report_model import (
    CycleReport,
    ExceptionLine,
    RemediationLine,
    TargetLine,
    WindowUsed,
)


def client_view(report: CycleReport, branding: Branding) -> ClientReport:
    """The client's report (pure: the same internal report gives the same client report)."""
    zone = report.zone
    events, by_exception = _events(report, zone)
    outstanding = _outstanding(report, events)
    windows = tuple(_window(w) for w in report.windows)
    used = {w.deployment_id: w for w in report.windows}
    next_windows = tuple(UpcomingWindow(w.name, w.start, w.end) for w in report.next_windows)
    device_compliance, patch_compliance = _measures(report)
    devices = tuple(_device(t, used.get(t.deployment_id), by_exception) for t in report.targets)
    emergencies = tuple(
        ClientEmergency(e.patch, e.title, e.decided_at, e.hostnames, e.targets, e.verified)
        for e in report.emergencies
    )
    return ClientReport(
        branding=branding,
        client_name=report.client_name,
        timezone=report.timezone,
        cycle=report.cycle,
        start=report.start,
        end=report.end,
        as_of=report.as_of,
        summary=_summary(report, events, outstanding, next_windows, device_compliance),
        scope=_scope(report),
        windows=windows,
        outside_windows=tuple(_outside_windows(report)),
        events=tuple(events),
        device_compliance=device_compliance,
        patch_compliance=patch_compliance,
        outstanding=tuple(outstanding),
        emergencies=emergencies,
        next_windows=next_windows,
        devices=devices,
    )


# --------------------------------------------------------------------------- events


def _cause_words(exception: ExceptionLine) -> str:
    words = None
    for record in exception.history:
        if record.action in CAUSE_ACTIONS and record.outcome in CAUSE_WORDS:
            words = CAUSE_WORDS[record.outcome]  # the latest recorded cause wins
    return words or CLASS_WORDS.get(exception.failure_class, GENERIC_PROBLEM)


def _action_words(record: RemediationLine, later: Sequence[RemediationLine]) -> str | None:
    """A technician's remediation record in plain words (None: not one, or unknown)."""
    if record.action == "escalate":
        return ESCALATED
    if not record.action.startswith(REMEDIATE_PREFIX):
        return None
    action = record.action.removeprefix(REMEDIATE_PREFIX)
    if action not in ACTION_WORDS:
        return None
    done, to_do = ACTION_WORDS[action]
    command = ACTION_COMMANDS.get(action)
    if command is None:
        return done if record.outcome == "done" else f"tried to {to_do}"
    result = next((r for r in later if r.action == f"command.{command.value}"), None)
    if result is None:
        return f"arranged to {to_do}"
    return done if result.outcome == "done" else f"tried to {to_do}"


def _actions(history: Sequence[RemediationLine]) -> list[str]:
    """What technicians did, in plain words, first time each (unknown actions: nothing)."""
    found: list[str] = []
    for n, record in enumerate(history):
        words = _action_words(record, history[n + 1 :])
        if words is not None and words not in found:
            found.append(words)
    return found


def _and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _why_open(exception: ExceptionLine) -> str:
    if exception.resolved_at is not None:
        return ""
    return OPEN_WORDS.get(exception.state, OPEN_WORDS[ExceptionState.OPEN])


def _done(exception: ExceptionLine, zone: ZoneInfo) -> str:
    actions = _actions(exception.history)
    if exception.resolved_at is None:
        why = _why_open(exception)
        if exception.state is ExceptionState.ESCALATED and ESCALATED in actions:
            why = "being worked on"
        still = f"still open: {why}"
        return f"an engineer {_and(actions)}; {still}" if actions else still
    on = short_day(exception.resolved_at, zone)
    resolutions = [r for r in exception.history if r.action in ENGINEER_RESOLUTIONS]
    by_engineer = bool(resolutions) and resolutions[-1].at == exception.resolved_at
    if actions and by_engineer:
        return f"an engineer {_and(actions)}, then resolved it on {on}"
    if actions:
        return f"an engineer {_and(actions)}; it was resolved on {on}"
    return f"an engineer resolved it on {on}" if by_engineer else f"it was resolved on {on}"


def _events(
    report: CycleReport, zone: ZoneInfo
) -> tuple[list[ClientEvent], dict[int, ClientEvent]]:
    """Every exception of the cycle, and every failed target no exception covers."""
    by_exception = {
        e.id: ClientEvent(
            hostname=e.hostname,
            at=e.opened_at,
            patches=e.patches,
            happened=_cause_words(e),
            done=_done(e, zone),
            resolved_at=e.resolved_at,
            why_open=_why_open(e),
        )
        for e in report.exceptions
    }
    events = list(by_exception.values())
    for target in report.targets:
        if target.failure_class is None or target.exception_id in by_exception:
            continue
        events.append(
            ClientEvent(
                hostname=target.hostname,
                at=target.window_start,
                patches=tuple(p.vendor_id for p in target.patches),
                happened=CLASS_WORDS.get(target.failure_class, GENERIC_PROBLEM),
                done=f"still open: {OPEN_WORDS[ExceptionState.OPEN]}",
                resolved_at=None,
                why_open=OPEN_WORDS[ExceptionState.OPEN],
            )
        )
    events.sort(key=lambda e: (e.at, e.hostname))
    return events, by_exception


# ----------------------------------------------------------------------- outstanding


def _device_reason(targets: Sequence[TargetLine]) -> str:
    """Why a device still misses due updates, from its latest target of the cycle."""
    if not targets:
        return "no maintenance window of this cycle has installed them yet"
    latest = targets[-1]
    if latest.state is TargetState.DEFERRED:
        return (
            "its user postponed the installation; it goes ahead once the allowed "
            "postponements are used up"
        )
    if latest.state in IN_PROGRESS_STATES:
        return "they are being installed now"
    if latest.state is TargetState.MISSED:
        return (
            "its last window closed before the device could be updated; it is carried to the "
            "next window"
        )
    if latest.state is TargetState.SKIPPED:
        return "it was skipped in its last window (in maintenance, or the update was withdrawn)"
    return "they will be installed in its next maintenance window"


def _outstanding(report: CycleReport, events: Sequence[ClientEvent]) -> list[Outstanding]:
    """Each problem still open (with the due updates its device misses), then each other
    device still missing due updates, with why."""
    missing = dict(report.noncompliant_after)
    found: list[Outstanding] = []
    listed: set[str] = set()
    for event in events:
        if event.resolved:
            continue
        what = event.happened[:1].upper() + event.happened[1:]
        n = missing.get(event.hostname)
        if n and event.hostname not in listed:
            what += f"; {plural(n, 'approved update')} not installed yet"
        found.append(Outstanding(event.hostname, what, event.why_open))
        listed.add(event.hostname)
    for hostname, n in report.noncompliant_after:
        if hostname in listed:
            continue
        targets = [t for t in report.targets if t.hostname == hostname]
        targets.sort(key=lambda t: (t.window_start, t.target_id))
        found.append(
            Outstanding(
                hostname,
                f"{plural(n, 'approved update')} not installed yet",
                _device_reason(targets),
            )
        )
    return found


# --------------------------------------------------------------------------- windows


def _window_name(window: WindowUsed | None, fallback: str) -> str:
    if window is None:
        return fallback
    return URGENT_WINDOW if window.emergency else window.name


def _window(window: WindowUsed) -> ClientWindow:
    return ClientWindow(
        name=_window_name(window, window.name),
        urgent=window.emergency,
        start=window.start,
        end=window.scheduled_end,
        devices=window.targets,
        updated=window.verified,
        problems=window.failed,
    )


def _outcome(target: TargetLine) -> str:
    if target.state is TargetState.MISSED and target.failure_class is None:
        return NOT_REACHED
    return OUTCOME_WORDS.get(target.state, "in progress")


def _retries(report: CycleReport) -> dict[int, set[datetime]]:
    """Install retries a technician had carried out, by the target they acted on: the
    device's target whose window started last before the retry."""
    found: dict[int, set[datetime]] = {}
    for exception in report.exceptions:
        for record in exception.history:
            if record.action != "command.retry_install" or record.outcome != "done":
                continue
            candidates = [
                t
                for t in report.targets
                if t.hostname == exception.hostname and t.window_start <= record.at
            ]
            if candidates:
                target = max(candidates, key=lambda t: (t.window_start, t.target_id))
                found.setdefault(target.target_id, set()).add(record.at)
    return found


def _outside_windows(report: CycleReport) -> list[OutsideWindow]:
    """Installations retried outside their window: listed apart, the window keeps its
    scheduled times."""
    windows = {w.deployment_id: w for w in report.windows}
    retries = _retries(report)
    found = []
    for target in report.targets:
        window = windows.get(target.deployment_id)
        if window is None:
            continue
        instants = set(retries.get(target.target_id, ()))
        if target.dispatched_at is not None:
            instants.add(target.dispatched_at)
        for at in sorted(instants):
            if window.start <= at < window.scheduled_end:
                continue
            found.append(
                OutsideWindow(
                    target.hostname,
                    _window_name(window, target.window),
                    window.start,
                    at,
                    _outcome(target),
                )
            )
    found.sort(key=lambda o: (o.at, o.hostname))
    return found


# ---------------------------------------------------------------------- the rest


def _device(
    target: TargetLine, window: WindowUsed | None, by_exception: dict[int, ClientEvent]
) -> ClientDevice:
    event = by_exception.get(target.exception_id) if target.exception_id is not None else None
    role = ROLE_WORDS.get(target.role, (target.role.replace("_", " "),) * 2)[0]
    return ClientDevice(
        hostname=target.hostname,
        role=role,
        site=target.site,
        window=_window_name(window, target.window),
        window_start=target.window_start,
        patches=tuple(p.vendor_id for p in target.patches),
        failed_patches=tuple(p.vendor_id for p in target.patches if p.state == "failed"),
        outcome=_outcome(target),
        problem=target.failure_class is not None,
        follow_up=event.sentence if event is not None else "",
    )


def _scope(report: CycleReport) -> ClientScope:
    scope = report.scope
    return ClientScope(
        devices_total=scope.devices_total,
        devices_in_scope=scope.devices_in_scope,
        in_scope_by_role=tuple(
            (ROLE_WORDS.get(role, (role, role))[0 if n == 1 else 1], n)
            for role, n in scope.in_scope_by_role
        ),
        operating_systems=scope.include_os,
        sites=scope.include_sites,
        operating_system_updates=scope.patch_os,
        applications=scope.third_party,
        excluded_devices=scope.exclude_devices,
    )


def _measures(report: CycleReport) -> tuple[Measure, Measure]:
    before, after = report.compliance_before, report.compliance_after
    device = Measure(
        name="Device compliance",
        rate_before=before.device_rate,
        rate_after=after.device_rate,
        counted_before=before.compliant_devices,
        of_before=before.devices,
        counted_after=after.compliant_devices,
        of_after=after.devices,
        unit="devices",
        meaning=DEVICE_MEANING,
    )
    patch = Measure(
        name="Patch compliance",
        rate_before=before.patch_rate,
        rate_after=after.patch_rate,
        counted_before=before.installed_pairs,
        of_before=before.approved_pairs,
        counted_after=after.installed_pairs,
        of_after=after.approved_pairs,
        unit="updates",
        meaning=PATCH_MEANING,
    )
    return device, patch


def _summary(
    report: CycleReport,
    events: Sequence[ClientEvent],
    outstanding: Sequence[Outstanding],
    next_windows: Sequence[UpcomingWindow],
    device: Measure,
) -> tuple[str, ...]:
    """Three to five sentences: what was patched, compliance, problems (and urgent
    updates), what is outstanding, the next window."""
    zone = report.zone
    running = report.in_progress
    lines = []
    patched = {t.device_id for t in report.targets}
    updated = {t.device_id for t in report.targets if t.state is TargetState.VERIFIED}
    windows = sum(1 for w in report.windows if not w.emergency)
    reached = plural(windows, "maintenance window") if windows else "urgent updates"
    if report.targets:
        lines.append(
            f"{'So far this' if running else 'This'} cycle, {reached} "
            f"reached {len(patched)} of your {plural(report.scope.devices_in_scope, 'device')} "
            f"in scope; {len(updated)} of them {'have been' if running else 'were'} updated "
            "successfully."
        )
    else:
        lines.append(
            f"No device {'has been' if running else 'was'} patched in this cycle"
            f"{' yet' if running else ''}; {plural(report.scope.devices_in_scope, 'device')} "
            "are in scope."
        )
    when = "now" if running else "at the end of the cycle"
    if device.of_after:
        patch_rate = report.compliance_after.patch_rate
        start = (
            f" ({percent(device.rate_before)} at the start of the cycle)"
            if device.rate_before is not None
            else ""
        )
        lines.append(
            f"Device compliance is {percent(device.rate_after)} {when}{start}"
            + (f"; patch compliance is {percent(patch_rate)}." if patch_rate is not None else ".")
        )
    else:
        lines.append("No device is in scope, so there is no compliance figure.")
    resolved = sum(1 for e in events if e.resolved)
    problems = (
        f"{plural(len(events), 'problem')} needed an engineer: {resolved} resolved, "
        f"{len(events) - resolved} still open."
        if events
        else "No device needed an engineer's attention."
    )
    if report.emergencies:
        problems += (
            f" {plural(len(report.emergencies), 'urgent update was', 'urgent updates were')} "
            "approved for installation outside the regular windows."
        )
    lines.append(problems)
    lines.append(
        f"{plural(len(outstanding), 'item is', 'items are')} outstanding (listed below)."
        if outstanding
        else "Nothing is outstanding."
    )
    if next_windows:
        first = next_windows[0]
        lines.append(
            f"The next maintenance window is {first.name}, {client_time(first.start, zone)}."
        )
    return tuple(lines)
