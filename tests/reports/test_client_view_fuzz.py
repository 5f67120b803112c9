"""Property test of the client projection (``reports.client_view``), pure: for internal
reports Hypothesis makes up (any states, any history, any action and outcome codes), a
marker placed in every free-text field (notes, operator, actor and owner names, exception
summaries, error messages and codes, emergency operators and reasons, scope notes, tags,
record actions and outcomes that are not codes) never appears in any client format, and
neither does any code the report holds. Names the client owns (its name, hostnames, sites,
window names, patch ids and titles) come from an alphabet without the marker."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from patchdesk.domain import ExceptionState, FailureClass, TargetState, Tier
from patchdesk.reports.client_model import Branding
from patchdesk.reports.cycle_formats import FORMATS, document
from patchdesk.rules.metrics.compliance import ComplianceFigures
from patchdesk.rules.metrics.cycles import Cycle
from patchdesk.rules.metrics.mttr import EMPTY
from patchdesk.rules.response_paths import RESPONSE_PATHS
from patchdesk.rules.verdicts import Cause
from patchdesk.store.report_model import (
    CycleReport,
    EmergencyLine,
    ExceptionLine,
    NextWindow,
    PatchLine,
    RemediationLine,
    ScopeSummary,
    TargetLine,
    WindowUsed,
)

MARK = "QQMARKQQ"
NOV = Cycle(2026, 11)
START = datetime(2026, 11, 10, 5, 0, tzinfo=UTC)
END = datetime(2026, 12, 8, 5, 0, tzinfo=UTC)

ACTION_CODES = [
    "exception.open",
    "exception.update",
    "acknowledge",
    "assign",
    "take_over",
    "release",
    "escalate",
    "note",
    "resolve",
    "reopen",
    "install.retry",
    *(f"remediate:{a.id}" for path in RESPONSE_PATHS.values() for a in path),
    *(f"command.{a.command.value}" for path in RESPONSE_PATHS.values() for a in path if a.command),
    "command.resolve",
]
OUTCOME_CODES = ["done", "failed", "queued", "resolved", "reopened", *(c.value for c in Cause)]
CODES = {c for c in [*ACTION_CODES, *OUTCOME_CODES] if re.search(r"[._:]", c)}

# The client's own names: no marker, no code (no "_", ".", ":").
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789- ", min_size=1, max_size=12)
# Free text: anything around the marker.
free = st.builds(lambda a, b: f"{a}{MARK}{b}", st.text(max_size=8), st.text(max_size=8))
instants = st.datetimes(
    min_value=datetime(2026, 11, 1), max_value=datetime(2026, 12, 20), timezones=st.just(UTC)
)


@st.composite
def records(draw: st.DrawFn) -> RemediationLine:
    return RemediationLine(
        seq=draw(st.integers(1, 10_000)),
        at=draw(instants),
        actor=draw(free),
        operator=draw(free),
        action=draw(st.one_of(st.sampled_from(ACTION_CODES), free)),
        outcome=draw(st.one_of(st.sampled_from(OUTCOME_CODES), free)),
        note=draw(free),
    )


@st.composite
def exceptions(draw: st.DrawFn, hostnames: list[str]) -> ExceptionLine:
    state = draw(st.sampled_from(ExceptionState))
    opened = draw(instants)
    history = sorted(draw(st.lists(records(), max_size=6)), key=lambda r: r.at)
    return ExceptionLine(
        id=draw(st.integers(1, 1000)),
        hostname=draw(st.sampled_from(hostnames)),
        tier=draw(st.sampled_from(Tier)),
        failure_class=draw(st.sampled_from(FailureClass)),
        state=state,
        owner=draw(st.none() | free),
        summary=draw(free),
        patches=tuple(draw(st.lists(names, max_size=3))),
        opened_at=opened,
        acknowledged_at=None,
        escalated_at=None,
        resolved_at=opened + timedelta(hours=3) if state is ExceptionState.RESOLVED else None,
        reopened_count=draw(st.integers(0, 2)),
        history=tuple(history),
    )


@st.composite
def reports(draw: st.DrawFn) -> CycleReport:
    hostnames = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    windows = []
    for n in range(draw(st.integers(0, 3))):
        start = draw(instants)
        scheduled = start + timedelta(hours=3)
        windows.append(
            WindowUsed(
                deployment_id=n + 1,
                name=draw(names),
                emergency=draw(st.booleans()),
                start=start,
                end=scheduled + timedelta(hours=draw(st.integers(0, 2))),
                scheduled_end=scheduled,
                state="closed",
                targets=1,
                verified=0,
                failed=0,
            )
        )
    the_exceptions = draw(st.lists(exceptions(hostnames), max_size=5))
    ids = [e.id for e in the_exceptions]
    targets = []
    for n, window in enumerate(windows):
        for hostname in draw(st.lists(st.sampled_from(hostnames), max_size=3, unique=True)):
            state = draw(st.sampled_from(TargetState))
            targets.append(
                TargetLine(
                    target_id=100 * n + len(targets),
                    deployment_id=window.deployment_id,
                    window=window.name,
                    window_start=window.start,
                    device_id=hostnames.index(hostname),
                    hostname=hostname,
                    role=draw(st.sampled_from(["server", "shared_workstation", "single_user"])),
                    tier=draw(st.sampled_from(Tier)),
                    site=draw(st.none() | names),
                    state=state,
                    failure_class=draw(st.none() | st.sampled_from(FailureClass)),
                    attempts=draw(st.integers(0, 3)),
                    deferrals_used=draw(st.integers(0, 3)),
                    dispatched_at=draw(st.none() | instants),
                    installed_at=None,
                    verified_at=None,
                    error_code=draw(st.none() | free),
                    error_message=draw(st.none() | free),
                    patches=tuple(
                        PatchLine(draw(names), draw(names), "security", "critical", s, draw(free))
                        for s in draw(st.lists(st.sampled_from(["missing", "failed"]), max_size=2))
                    ),
                    exception_id=draw(st.none() | st.sampled_from(ids)) if ids else None,
                )
            )
    devices = draw(st.integers(0, 10))
    figures = ComplianceFigures(END, devices, devices // 2, 10, 5)
    return CycleReport(
        client_id=draw(free),
        client_name=draw(names),
        timezone=draw(st.sampled_from(["America/New_York", "Europe/London", "Asia/Kolkata"])),
        sla_tier=draw(free),
        cycle=NOV,
        start=START,
        end=END,
        as_of=draw(instants.filter(lambda at: START <= at <= END)),
        scope=ScopeSummary(
            include_roles=(),
            include_tags=(draw(free),),
            include_sites=tuple(draw(st.lists(names, max_size=2))),
            include_os=("windows",),
            exclude_devices=tuple(draw(st.lists(names, max_size=2))),
            patch_os=draw(st.booleans()),
            third_party=tuple(draw(st.lists(names, max_size=2))),
            notes=draw(free),
            devices_total=devices,
            devices_in_scope=devices,
            in_scope_by_role=(("server", devices),),
        ),
        windows=tuple(windows),
        targets=tuple(targets),
        exceptions=tuple(the_exceptions),
        compliance_before=figures,
        compliance_after=figures,
        noncompliant_after=tuple((h, 2) for h in draw(st.lists(st.sampled_from(hostnames)))),
        emergencies=tuple(
            EmergencyLine(
                n,
                draw(names),
                draw(names),
                draw(instants),
                draw(free),
                draw(free),
                tuple(hostnames[:1]),
                1,
                0,
            )
            for n in range(draw(st.integers(0, 2)))
        ),
        mttr=EMPTY,
        next_windows=tuple(
            NextWindow(draw(names), END, END + timedelta(hours=2))
            for _ in range(draw(st.integers(0, 2)))
        ),
    )


@settings(max_examples=150)
@given(report=reports(), branding=st.builds(Branding, names, names, names))
def test_no_free_text_and_no_code_reaches_the_client(
    report: CycleReport, branding: Branding
) -> None:
    for fmt in FORMATS:
        text = document(report, fmt, "client", branding)
        assert MARK not in text, fmt
        shown = sorted(code for code in CODES if code in text)
        assert shown == [], fmt


@settings(max_examples=30)
@given(report=reports())
def test_the_internal_report_does_show_them(report: CycleReport) -> None:
    """The property can fail: the same reports rendered for the MSP carry the marker."""
    assert MARK in document(report, "json", "internal", Branding())
