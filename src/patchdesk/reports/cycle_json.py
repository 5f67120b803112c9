"""The post-patch cycle report as one complete JSON document (text as stored, times in UTC
ISO 8601 and client-local ISO 8601)."""

from __future__ import annotations

from typing import Any

from patchdesk.domain import TIER_LABELS
from patchdesk.reports.formatting import iso, local_iso
from patchdesk.reports.metrics_document import compliance_document, mttr_document
from patchdesk.store.report_model import CycleReport, ExceptionLine, TargetLine


def document(report: CycleReport) -> dict[str, Any]:
    zone = report.zone
    scope = report.scope
    return {
        "report": "cycle",
        "client": {
            "id": report.client_id,
            "name": report.client_name,
            "timezone": report.timezone,
            "sla_tier": report.sla_tier,
        },
        "cycle": report.cycle.label,
        "start": iso(report.start),
        "end": iso(report.end),
        "start_local": local_iso(report.start, zone),
        "end_local": local_iso(report.end, zone),
        "as_of": iso(report.as_of),
        "in_progress": report.in_progress,
        "scope": {
            "include_roles": list(scope.include_roles),
            "include_tags": list(scope.include_tags),
            "include_sites": list(scope.include_sites),
            "include_os": list(scope.include_os),
            "exclude_devices": list(scope.exclude_devices),
            "patch_os": scope.patch_os,
            "third_party": list(scope.third_party),
            "notes": scope.notes,
            "devices_total": scope.devices_total,
            "devices_in_scope": scope.devices_in_scope,
            "in_scope_by_role": dict(scope.in_scope_by_role),
        },
        "windows": [
            {
                "deployment_id": w.deployment_id,
                "name": w.name,
                "emergency": w.emergency,
                "start": iso(w.start),
                "end": iso(w.end),
                "start_local": local_iso(w.start, zone),
                "end_local": local_iso(w.end, zone),
                "state": w.state,
                "targets": w.targets,
                "verified": w.verified,
                "failed": w.failed,
            }
            for w in report.windows
        ],
        "outcomes": {state.value: n for state, n in report.outcome_counts()},
        "failures": {
            failure.value: [t.target_id for t in lines] for failure, lines in report.failures()
        },
        "targets": [_target(t, report) for t in report.targets],
        "exceptions": [exception_document(e) for e in report.exceptions],
        "compliance_before": compliance_document(report.compliance_before),
        "compliance_after": compliance_document(report.compliance_after),
        "noncompliant_after": [
            {"device": host, "due_patches_missing": n} for host, n in report.noncompliant_after
        ],
        "emergencies": [
            {
                "decision_id": e.decision_id,
                "patch": e.patch,
                "title": e.title,
                "decided_at": iso(e.decided_at),
                "operator": e.operator,
                "reason": e.reason,
                "devices": list(e.hostnames),
                "targets": e.targets,
                "verified": e.verified,
            }
            for e in report.emergencies
        ],
        "mttr": mttr_document(report.mttr),
    }


def _target(target: TargetLine, report: CycleReport) -> dict[str, Any]:
    return {
        "target_id": target.target_id,
        "deployment_id": target.deployment_id,
        "window": target.window,
        "window_start": iso(target.window_start),
        "window_start_local": local_iso(target.window_start, report.zone),
        "device_id": target.device_id,
        "device": target.hostname,
        "role": target.role,
        "tier": int(target.tier.value),
        "site": target.site,
        "state": target.state.value,
        "failure_class": target.failure_class.value if target.failure_class else None,
        "attempts": target.attempts,
        "deferrals_used": target.deferrals_used,
        "dispatched_at": iso(target.dispatched_at),
        "installed_at": iso(target.installed_at),
        "verified_at": iso(target.verified_at),
        "error_code": target.error_code,
        "error_message": target.error_message,
        "exception_id": target.exception_id,
        "patches": [
            {
                "patch_id": p.vendor_id,
                "title": p.title,
                "classification": p.classification,
                "severity": p.severity,
                "state": p.state,
                "error_code": p.error_code,
            }
            for p in target.patches
        ],
    }


def exception_document(exception: ExceptionLine) -> dict[str, Any]:
    return {
        "id": exception.id,
        "device": exception.hostname,
        "tier": int(exception.tier.value),
        "tier_label": TIER_LABELS[exception.tier],
        "class": exception.failure_class.value,
        "state": exception.state.value,
        "owner": exception.owner,
        "summary": exception.summary,
        "patches": list(exception.patches),
        "opened_at": iso(exception.opened_at),
        "acknowledged_at": iso(exception.acknowledged_at),
        "escalated_at": iso(exception.escalated_at),
        "resolved_at": iso(exception.resolved_at),
        "reopened_count": exception.reopened_count,
        "history": [
            {
                "seq": h.seq,
                "at": iso(h.at),
                "actor": h.actor,
                "operator": h.operator,
                "action": h.action,
                "outcome": h.outcome,
                "note": h.note,
            }
            for h in exception.history
        ],
    }
