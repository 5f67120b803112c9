"""``patchdesk metrics``: the health metrics as JSON and as plain text lines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from patchdesk.ages import age
from patchdesk.domain import TIER_LABELS, FailureClass, Tier
from patchdesk.reports.escape import plain
from patchdesk.reports.formatting import iso, percent, rate_value, seconds
from patchdesk.rules.metrics.compliance import ComplianceFigures
from patchdesk.rules.metrics.mttr import MttrFigures
from patchdesk.store.metric_views import ClientMetrics, MetricsSummary


def compliance_document(figures: ComplianceFigures) -> dict[str, Any]:
    return {
        "at": iso(figures.at),
        "devices": figures.devices,
        "compliant_devices": figures.compliant_devices,
        "device_rate": rate_value(figures.device_rate),
        "approved_pairs": figures.approved_pairs,
        "installed_pairs": figures.installed_pairs,
        "patch_rate": rate_value(figures.patch_rate),
        "due_patches_missing": figures.due_missing,
    }


def mttr_document(figures: MttrFigures) -> dict[str, Any]:
    return {
        "resolved": figures.count,
        "mean_seconds": seconds(figures.mean),
        "median_seconds": seconds(figures.median),
        "p90_seconds": seconds(figures.p90),
    }


def tiers_document(by_tier: dict[Tier, MttrFigures]) -> dict[str, Any]:
    return {
        tier.value: {"label": TIER_LABELS[tier], **mttr_document(by_tier[tier])}
        for tier in Tier
        if tier in by_tier
    }


def client_document(metrics: ClientMetrics) -> dict[str, Any]:
    return {
        "client": metrics.client_id,
        "client_name": metrics.client_name,
        "timezone": metrics.timezone,
        "cycle": metrics.cycle.label,
        "start": iso(metrics.start),
        "end": iso(metrics.end),
        "compliance": compliance_document(metrics.compliance_end),
        "compliance_at_start": compliance_document(metrics.compliance_start),
        "failed_installs": {
            "total": metrics.failed_total,
            "by_class": {f.value: n for f, n in metrics.failures.items()},
        },
        "emergency_patches": len(metrics.emergencies),
        "mttr": mttr_document(metrics.mttr),
        "mttr_by_tier": tiers_document(metrics.mttr_by_tier),
    }


def summary_document(summary: MetricsSummary) -> dict[str, Any]:
    failures = summary.failures
    return {
        "cycle": summary.cycle.label,
        "now": iso(summary.now),
        "overall": {
            "compliance": compliance_document(summary.compliance_end),
            "failed_installs": {
                "total": sum(failures.values()),
                "by_class": {f.value: n for f, n in failures.items()},
            },
            "emergency_patches": summary.emergencies,
            "mttr": mttr_document(summary.mttr),
            "mttr_by_tier": tiers_document(summary.mttr_by_tier),
        },
        "clients": [client_document(c) for c in summary.clients],
    }


HEADER = ("CLIENT", "DEVICES", "COMPLIANT", "PATCHES", "FAILED", "BY CLASS", "EMERG", "MTTR", "P90")


def _row(
    name: str,
    figures: ComplianceFigures,
    failures: dict[FailureClass, int],
    emergencies: int,
    mttr: MttrFigures,
) -> tuple[str, ...]:
    classes = " ".join(f"{f.value[:3]} {n}" for f, n in failures.items() if n) or "-"
    return (
        name,
        str(figures.devices),
        percent(figures.device_rate),
        percent(figures.patch_rate),
        str(sum(failures.values())),
        classes,
        str(emergencies),
        _age(mttr.mean),
        _age(mttr.p90),
    )


def _age(delta: timedelta | None) -> str:
    """An MTTR figure in the one format of ages (``patchdesk.ages``); ``n/a`` without one."""
    return "n/a" if delta is None else age(delta)


def summary_lines(summary: MetricsSummary) -> list[str]:
    rows = [
        _row(
            plain(c.client_id),
            c.compliance_end,
            c.failures,
            len(c.emergencies),
            c.mttr,
        )
        for c in summary.clients
    ]
    if len(summary.clients) > 1:
        rows.append(
            _row(
                "(overall)",
                summary.compliance_end,
                summary.failures,
                summary.emergencies,
                summary.mttr,
            )
        )
    widths = [max(len(line[i]) for line in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = [f"cycle {summary.cycle.label} (each client's local Patch Tuesday to the next)"]
    lines += [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in [HEADER, *rows]
    ]
    lines.append(
        "COMPLIANT: in-scope devices with no approved, due patch missing (at the cycle's end, "
        "or now); PATCHES: installed / approved pairs; FAILED: failed targets of the cycle's "
        "windows; MTTR: mean opened -> resolved of exceptions resolved in the cycle."
    )
    return lines
