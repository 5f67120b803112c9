"""Words the client report's formats share (numbers, dates and fixed phrases; every stored
name is escaped by each renderer, so nothing here escapes)."""

from __future__ import annotations

from patchdesk.reports.client_model import Branding, ClientReport, Measure
from patchdesk.reports.formatting import MONTH_NAMES, client_time, day_text, percent, plural

NO_MSP = "your IT service provider"


def cycle_name(report: ClientReport) -> str:
    """``November 2026``: the month whose Patch Tuesday opens the cycle."""
    return f"{MONTH_NAMES[report.cycle.month - 1]} {report.cycle.year}"


def title(report: ClientReport) -> tuple[str, str]:
    """The heading, as (fixed words, the client's name): the name is escaped by the caller."""
    return f"Patch report, {cycle_name(report)} cycle: ", report.client_name


def period(report: ClientReport) -> str:
    """``Tue 10 Nov 2026 to Mon 7 Dec 2026`` (the last day inclusive)."""
    return f"{day_text(report.cycle.first_day)} to {day_text(report.cycle.last_day)}"


def as_of(report: ClientReport) -> str:
    state = "the cycle is still running" if report.in_progress else "the cycle is complete"
    return f"{client_time(report.as_of, report.zone)} ({state})"


def zone_note(report: ClientReport) -> str:
    """Trusted apart from the zone's name (an IANA name from the client's policy)."""
    return f"All dates and times are {report.timezone} time, labelled with the zone."


def prepared_by(branding: Branding) -> str:
    """The MSP's name (escaped by the caller) or the neutral words."""
    return branding.msp_name or NO_MSP


def measure_cell(measure: Measure, *, after: bool) -> str:
    rate = measure.rate_after if after else measure.rate_before
    counted = measure.counted_after if after else measure.counted_before
    total = measure.of_after if after else measure.of_before
    if not total:
        return "n/a (no devices in scope)" if measure.unit == "devices" else "n/a (none approved)"
    done = "compliant" if measure.unit == "devices" else "installed"
    return f"{percent(rate)} ({counted} of {plural(total, measure.unit[:-1], measure.unit)} {done})"


def when_after(report: ClientReport) -> str:
    return "Now" if report.in_progress else "End of cycle"


def in_scope_line(report: ClientReport) -> str:
    scope = report.scope
    roles = ", ".join(f"{n} {words}" for words, n in scope.in_scope_by_role)
    return f"{scope.devices_in_scope} of {plural(scope.devices_total, 'managed device')}" + (
        f" ({roles})" if roles else ""
    )


def yes_no(value: bool) -> str:
    return "yes" if value else "no"
