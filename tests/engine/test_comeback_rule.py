"""The rule for an offline exception whose device checks in again (engine.comeback)."""

from __future__ import annotations

from datetime import UTC, datetime

from patchdesk.domain import FailureClass, TargetState
from patchdesk.engine.comeback import Reclassify, Resolve, after_checkin

AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def test_nothing_missing_any_more_is_resolved() -> None:
    for state in (TargetState.NO_CHECKIN, TargetState.MISSED, None):
        decision = after_checkin(state, (), AT)
        assert isinstance(decision, Resolve)
        assert "2026-11-27 09:30 UTC" in decision.note
        assert "verified installed" in decision.note


def test_still_missing_after_a_reported_install_becomes_install() -> None:
    decision = after_checkin(TargetState.NO_CHECKIN, ("KB2", "KB1"), AT)
    assert decision == Reclassify(
        FailureClass.INSTALL,
        "device checked in again at 2026-11-27 09:30 UTC but still misses KB1, KB2 "
        "although the install reported success",
    )


def test_still_missing_never_dispatched_is_resolved_and_carried() -> None:
    decision = after_checkin(TargetState.MISSED, ("KB1",), None)
    assert isinstance(decision, Resolve)
    assert "still missing KB1" in decision.note
    assert "next window" in decision.note
