"""One format for ages and durations (``1h33m``) on every screen, on the command line and in
the technicians' documents: ``patchdesk.ages.age`` and the places that print it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from patchdesk.ages import age
from patchdesk.cli.exceptions_text import table_lines
from patchdesk.domain import Criticality, ExceptionState, FailureClass, Role, Tier
from patchdesk.policy.describe import occurrence_status
from patchdesk.reports.handover_document import markdown
from patchdesk.screens.widgets.device_sections import ago
from patchdesk.screens.widgets.queue_cells import layout_for
from patchdesk.screens.widgets.queue_current import current_text
from patchdesk.screens.widgets.timetext import duration
from patchdesk.store.exception_views import QueueRow
from patchdesk.store.handover import HandoverSummary
from patchdesk.store.queue_views import QueueLine

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
AGE = timedelta(hours=1, minutes=33, seconds=59)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=-90), "<1m"),
        (timedelta(0), "<1m"),
        (timedelta(seconds=59), "<1m"),
        (timedelta(minutes=1), "1m"),
        (timedelta(minutes=59, seconds=59), "59m"),
        (timedelta(hours=1), "1h00m"),
        (timedelta(hours=1, minutes=33), "1h33m"),
        (timedelta(hours=23, minutes=59), "23h59m"),
        (timedelta(days=1), "1d00h"),
        (timedelta(days=3, hours=4, minutes=59), "3d04h"),
        (timedelta(days=99, hours=23), "99d23h"),
        (timedelta(days=100, hours=5), "100d"),
        (timedelta(days=99_999), "99999d"),
    ],
)
def test_the_format(delta: timedelta, text: str) -> None:
    assert age(delta) == text
    assert len(text) <= 6


def test_the_screens_name_for_it_is_the_same_function() -> None:
    assert duration is age


def _row() -> QueueRow:
    return QueueRow(
        id=42,
        tier=Tier.SHARED_WORKSTATION,
        client_id="acme",
        client_name="Acme",
        device_id=1,
        hostname="FRONTDESK",
        role=Role.SHARED_WORKSTATION,
        criticality=Criticality.STANDARD,
        failure_class=FailureClass.INSTALL,
        state=ExceptionState.OPEN,
        owner=None,
        summary="install failed",
        patch_ids=(1,),
        patches=("KB5044281",),
        opened_at=NOW - AGE,
        acknowledged_at=None,
        escalated_at=None,
        resolved_at=None,
        reopened_count=0,
        last_action="opened by engine",
        last_action_at=NOW - AGE,
        updated_at=NOW - AGE,
    )


def test_the_queue_the_cli_and_the_handover_print_the_same_age() -> None:
    row = _row()
    for width in (80, 120, 200):
        cells = layout_for(width).cells(QueueLine(row, None), NOW)
        assert "1h33m" in [cell.strip() for cell in cells], width
    assert "open 1h33m" in current_text(QueueLine(row, None), NOW, "alice").plain
    assert "  1h33m  " in table_lines([row], NOW)[1]
    summary = HandoverSummary(
        since=NOW - timedelta(hours=8),
        now=NOW,
        open_by_tier=dict.fromkeys(Tier, 0),
        unassigned_by_tier=dict.fromkeys(Tier, 0),
        opened_count=1,
        opened=(row,),
        resolved_count=0,
        resolved=(),
        escalated_count=0,
        escalated=(),
        notes=(),
    )
    document = markdown(summary, (), ZoneInfo("UTC"))
    assert "(1h33m ago)" in document
    assert "(8h00m)" in document  # the shift's length


def test_the_device_screen_and_the_windows_command_print_it_too() -> None:
    assert ago(NOW - AGE, NOW) == "1h33m ago"
    assert ago(NOW + AGE, NOW) == "in 1h33m"
    start, end = NOW - timedelta(hours=1), NOW + AGE
    assert occurrence_status(start, end, NOW) == "open now, 1h33m left"
