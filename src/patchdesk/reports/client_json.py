"""The client's post-patch report as one JSON document (``reports.client_model``): the same
content as the other client formats, times as ISO 8601 in the client's zone (with its
offset) and labelled, no UTC, no internal ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from patchdesk.reports.client_model import ClientReport, Measure
from patchdesk.reports.client_text import cycle_name
from patchdesk.reports.formatting import client_time, rate_value


def _at(at: datetime, zone: ZoneInfo) -> dict[str, str]:
    moment = at.astimezone(zone)
    return {"local": moment.isoformat(), "text": client_time(at, zone)}


def _measure(measure: Measure) -> dict[str, Any]:
    return {
        "counts": measure.unit,
        "start": {
            "rate": rate_value(measure.rate_before),
            "counted": measure.counted_before,
            "of": measure.of_before,
        },
        "end": {
            "rate": rate_value(measure.rate_after),
            "counted": measure.counted_after,
            "of": measure.of_after,
        },
        "meaning": measure.meaning,
    }


def document(report: ClientReport) -> dict[str, Any]:
    zone = report.zone
    scope = report.scope
    branding = report.branding
    return {
        "report": "cycle",
        "audience": "client",
        "prepared_by": {
            "name": branding.msp_name,
            "contact": branding.contact,
            "logo_text": branding.logo_text,
        },
        "client": report.client_name,
        "timezone": report.timezone,
        "cycle": report.cycle.label,
        "cycle_name": cycle_name(report),
        "start": _at(report.start, zone),
        "end": _at(report.end, zone),
        "as_of": _at(report.as_of, zone),
        "cycle_running": report.in_progress,
        "summary": list(report.summary),
        "outstanding": [
            {"device": o.hostname, "what": o.what, "why": o.why} for o in report.outstanding
        ],
        "next_windows": [
            {"window": w.name, "start": _at(w.start, zone), "end": _at(w.end, zone)}
            for w in report.next_windows
        ],
        "compliance": {
            "devices": _measure(report.device_compliance),
            "updates": _measure(report.patch_compliance),
        },
        "windows": [
            {
                "window": w.name,
                "urgent": w.urgent,
                "start": _at(w.start, zone),
                "end": _at(w.end, zone),
                "devices": w.devices,
                "updated": w.updated,
                "problems": w.problems,
            }
            for w in report.windows
        ],
        "retried_outside_window": [
            {
                "device": o.hostname,
                "window": o.window,
                "window_start": _at(o.window_start, zone),
                "at": _at(o.at, zone),
                "result": o.result,
            }
            for o in report.outside_windows
        ],
        "events": [
            {
                "device": e.hostname,
                "found": _at(e.at, zone),
                "updates": list(e.patches),
                "what_happened": e.happened,
                "what_was_done": e.done,
                "resolved": _at(e.resolved_at, zone) if e.resolved_at else None,
            }
            for e in report.events
        ],
        "urgent_updates": [
            {
                "update": e.patch,
                "title": e.title,
                "approved": _at(e.approved_at, zone),
                "devices": list(e.devices),
                "targets": e.targets,
                "updated": e.updated,
            }
            for e in report.emergencies
        ],
        "scope": {
            "devices_total": scope.devices_total,
            "devices_in_scope": scope.devices_in_scope,
            "in_scope_by_role": dict(scope.in_scope_by_role),
            "operating_systems": list(scope.operating_systems),
            "sites": list(scope.sites),
            "operating_system_updates": scope.operating_system_updates,
            "applications": list(scope.applications),
            "excluded_devices": list(scope.excluded_devices),
        },
        "devices": [
            {
                "device": d.hostname,
                "role": d.role,
                "site": d.site,
                "window": d.window,
                "window_start": _at(d.window_start, zone),
                "updates": list(d.patches),
                "failed_updates": list(d.failed_patches),
                "result": d.outcome,
                "problem": d.problem,
                "follow_up": d.follow_up,
            }
            for d in report.devices
        ],
    }
