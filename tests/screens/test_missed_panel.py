"""The handover panel counts the devices a window did not patch this cycle, by reason."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from patchdesk.domain import Tier
from patchdesk.screens.handover import summary_text
from patchdesk.store.handover import HandoverSummary
from patchdesk.store.not_patched import NextWindow, NotPatched

NOW = datetime(2026, 12, 11, 9, 0, tzinfo=UTC)


def _row(hostname: str, reason: str) -> NotPatched:
    start = datetime(2026, 12, 12, 2, 0, tzinfo=UTC)
    return NotPatched(
        device_id=1,
        hostname=hostname,
        client_id="acme",
        client_name="Acme",
        tier=Tier.CRITICAL_SERVER,
        reason=reason,
        window_end=NOW,
        next_window=NextWindow("nightly", start, start),
        exception_id=7,
    )


def _summary(*rows: NotPatched) -> HandoverSummary:
    return HandoverSummary(
        since=NOW,
        now=NOW,
        open_by_tier={},
        unassigned_by_tier={},
        opened_count=0,
        opened=(),
        resolved_count=0,
        resolved=(),
        escalated_count=0,
        escalated=(),
        notes=(),
        not_patched_count=len(rows),
        not_patched=rows,
    )


def test_the_panel_counts_what_was_not_patched_by_reason() -> None:
    summary = _summary(_row("DC01", "capacity"), _row("DC02", "capacity"), _row("LT1", "offline"))
    text = summary_text(summary, ZoneInfo("UTC"), 120).plain
    assert "Not patched this cycle 3: 1 offline · 2 not reached  (N lists them)" in text


def test_the_panel_says_nothing_was_missed() -> None:
    text = summary_text(_summary(), ZoneInfo("UTC"), 120).plain
    assert "Not patched this cycle 0" in text
