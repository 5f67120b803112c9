"""The health metrics' pure rules (engine.metrics) on hand-built data, answers by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from patchdesk.domain import FailureClass, TargetState, Tier
from patchdesk.rules.metrics import (
    Cycle,
    DeviceFacts,
    EmergencyFacts,
    Interval,
    PairFacts,
    Resolution,
    TargetOutcome,
    compliance,
    cycle_of,
    emergencies_in,
    failure_class_of,
    failures_by_class,
    is_due,
    mttr,
    mttr_by,
    parse_cycle,
)
from patchdesk.rules.metrics.compliance import combined
from patchdesk.rules.metrics.mttr import resolved_between

NY = ZoneInfo("America/New_York")
AKL = ZoneInfo("Pacific/Auckland")


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


# --- cycles ---------------------------------------------------------------------------------


def test_cycle_runs_from_patch_tuesday_to_the_day_before_the_next() -> None:
    cycle = parse_cycle("2026-11")
    assert cycle.first_day.isoformat() == "2026-11-10"
    assert cycle.last_day.isoformat() == "2026-12-07"
    assert cycle.bounds(UTC) == (at(10), datetime(2026, 12, 8, tzinfo=UTC))
    # Client-local: midnight in New York is 05:00 UTC (EST).
    assert cycle.bounds(NY)[0] == at(10, 5)


def test_cycle_of_uses_the_local_date() -> None:
    assert cycle_of(at(10, 0), UTC) == Cycle(2026, 11)
    assert cycle_of(at(9, 23, 59), UTC) == Cycle(2026, 10)
    # 2026-11-10 03:00 UTC is still Monday 9 November in New York: October's cycle.
    assert cycle_of(at(10, 3), NY) == Cycle(2026, 10)
    # ... and already Tuesday 10 November in Auckland.
    assert cycle_of(at(9, 12), AKL) == Cycle(2026, 11)
    assert cycle_of(datetime(2027, 1, 5, tzinfo=UTC), UTC) == Cycle(2026, 12)


def test_cycle_navigation_and_parsing() -> None:
    assert Cycle(2026, 12).next() == Cycle(2027, 1)
    assert Cycle(2027, 1).previous() == Cycle(2026, 12)
    assert [c.label for c in Cycle(2027, 2).last(3)] == ["2026-12", "2027-01", "2027-02"]
    for bad in ("2026-13", "2026/11", "26-11", ""):
        with pytest.raises(ValueError, match="cycle"):
            parse_cycle(bad)


# --- compliance -----------------------------------------------------------------------------

W1 = Interval(at(11, 2), at(11, 5))  # a window on the 11th, 02:00-05:00 UTC
W2 = Interval(at(18, 2), at(18, 5))


def test_due_needs_a_window_that_started_after_approval_and_ended() -> None:
    approved_10th = PairFacts(1, installed=False, approved_from=at(10))
    assert not is_due(approved_10th, [W1], at(11, 4))  # the window has not ended yet
    assert is_due(approved_10th, [W1], at(11, 5))
    approved_mid_window = PairFacts(1, installed=False, approved_from=at(11, 3))
    assert not is_due(approved_mid_window, [W1], at(12))  # started before the approval
    assert is_due(approved_mid_window, [W1, W2], at(18, 5))
    not_approved = PairFacts(1, installed=False, approved_from=None)
    assert not is_due(not_approved, [W1, W2], at(30))
    emergency = PairFacts(1, installed=False, approved_from=at(12), emergency_until=at(12, 6))
    assert not is_due(emergency, [], at(12, 5))
    assert is_due(emergency, [], at(12, 6))


def test_compliance_worked_example() -> None:
    """Four devices at the 12th, each with window W1 behind it.

    d1: two approved patches, both installed -> compliant.
    d2: approved on the 10th and missing -> due and missing: not compliant.
    d3: approved on the 11th at 03:00 (during W1) and missing -> not due yet: compliant.
    d4: one installed, one pending approval (not approved) missing -> compliant.
    Devices: 3 of 4 compliant. Pairs approved: d1 x2, d2, d3, d4's installed one = 5;
    installed among them: 3 -> 3/5.
    """
    devices = [
        DeviceFacts(
            1,
            (W1,),
            (PairFacts(10, True, at(10)), PairFacts(11, True, at(10))),
        ),
        DeviceFacts(2, (W1,), (PairFacts(10, False, at(10)),)),
        DeviceFacts(3, (W1,), (PairFacts(12, False, at(11, 3)),)),
        DeviceFacts(4, (W1,), (PairFacts(10, True, at(10)), PairFacts(13, False, None))),
    ]
    figures = compliance(devices, at(12))
    assert (figures.devices, figures.compliant_devices) == (4, 3)
    assert figures.device_rate == Fraction(3, 4)
    assert (figures.approved_pairs, figures.installed_pairs) == (5, 3)
    assert figures.patch_rate == Fraction(3, 5)
    assert figures.noncompliant == ((2, 1),)
    assert figures.due_missing == 1


def test_compliance_with_no_devices_and_with_nothing_due() -> None:
    empty = compliance([], at(12))
    assert empty.devices == 0
    assert empty.device_rate is None
    assert empty.patch_rate is None
    nothing_approved = compliance([DeviceFacts(1, (W1,), (PairFacts(1, False, None),))], at(12))
    assert nothing_approved.device_rate == 1
    assert nothing_approved.patch_rate is None  # nothing approved: undefined, not 0 or 100%
    # Approved in the future (after `at`): neither due nor counted.
    later = compliance([DeviceFacts(1, (W1,), (PairFacts(1, False, at(20)),))], at(12))
    assert (later.device_rate, later.approved_pairs) == (1, 0)


def test_combined_adds_counts_not_rates() -> None:
    a = compliance([DeviceFacts(1, (W1,), (PairFacts(1, False, at(10)),))], at(12))  # 0/1
    b = compliance([DeviceFacts(i, (), ()) for i in range(2, 5)], at(12))  # 3/3
    overall = combined([a, b], at(12))
    assert overall.device_rate == Fraction(3, 4)  # not the mean of 0% and 100%
    assert overall.patch_rate == 0


# --- failed installs ------------------------------------------------------------------------


def test_failure_classes_of_target_states() -> None:
    assert failure_class_of(TargetState.INSTALL_FAILED) is FailureClass.INSTALL
    assert failure_class_of(TargetState.REBOOT_FAILED) is FailureClass.REBOOT
    assert failure_class_of(TargetState.NO_CHECKIN) is FailureClass.OFFLINE
    assert failure_class_of(TargetState.REGRESSION) is FailureClass.REGRESSION
    assert (
        failure_class_of(TargetState.MISSED, "missed: offline for the whole window 02:00–05:00")
        is FailureClass.OFFLINE
    )
    capacity = "window closed before dispatch (capacity); carried over"
    assert failure_class_of(TargetState.MISSED, capacity) is None
    for state in (TargetState.VERIFIED, TargetState.SKIPPED, TargetState.PENDING):
        assert failure_class_of(state) is None


def test_failures_by_class_counts_each_target_once() -> None:
    targets = [
        TargetOutcome(TargetState.VERIFIED),
        TargetOutcome(TargetState.INSTALL_FAILED),
        TargetOutcome(TargetState.INSTALL_FAILED),
        TargetOutcome(TargetState.NO_CHECKIN),
        TargetOutcome(TargetState.MISSED, "missed: offline"),
        TargetOutcome(TargetState.MISSED, "window closed before dispatch (capacity)"),
    ]
    assert failures_by_class(targets) == {
        FailureClass.INSTALL: 2,
        FailureClass.REBOOT: 0,
        FailureClass.REGRESSION: 0,
        FailureClass.OFFLINE: 2,
    }
    assert sum(failures_by_class([]).values()) == 0


def test_emergencies_are_counted_by_decision_time_in_the_clients_cycle() -> None:
    decisions = [
        EmergencyFacts(1, "c", "KB1", at(10, 3)),  # 9 Nov 22:00 in New York: October
        EmergencyFacts(2, "c", "KB2", at(10, 6)),
        EmergencyFacts(3, "c", "KB3", datetime(2026, 12, 8, 4, tzinfo=UTC)),  # still 7 Dec
        EmergencyFacts(4, "c", "KB4", datetime(2026, 12, 8, 5, tzinfo=UTC)),  # December's
    ]
    found = emergencies_in(decisions, Cycle(2026, 11), NY)
    assert [d.decision_id for d in found] == [2, 3]


# --- MTTR -----------------------------------------------------------------------------------


def res(eid: int, hours: float, tier: Tier = Tier.SINGLE_USER, client: str = "c") -> Resolution:
    opened = at(12)
    return Resolution(eid, client, tier, opened, opened + timedelta(hours=hours))


def test_mttr_mean_median_p90_worked_example() -> None:
    # 1, 2, 3, 4, 10 hours: mean 4h, median 3h, p90 = ceil(4.5) = 5th smallest = 10h.
    figures = mttr([res(i, h) for i, h in enumerate((4, 1, 10, 3, 2))])
    assert figures.count == 5
    assert figures.mean == timedelta(hours=4)
    assert figures.median == timedelta(hours=3)
    assert figures.p90 == timedelta(hours=10)


def test_mttr_even_count_and_empty() -> None:
    # 1, 2, 3, 6 hours: median (2 + 3) / 2 = 2.5h; p90 = ceil(3.6) = 4th = 6h; mean 3h.
    figures = mttr([res(i, h) for i, h in enumerate((6, 1, 3, 2))])
    assert figures.median == timedelta(hours=2, minutes=30)
    assert figures.p90 == timedelta(hours=6)
    assert figures.mean == timedelta(hours=3)
    empty = mttr([])
    assert (empty.count, empty.mean, empty.median, empty.p90) == (0, None, None, None)


def test_mttr_by_tier_and_period() -> None:
    items = [res(1, 2, Tier.CRITICAL_SERVER), res(2, 4, Tier.CRITICAL_SERVER), res(3, 9)]
    by_tier = mttr_by(items, lambda r: r.tier)
    assert by_tier[Tier.CRITICAL_SERVER].mean == timedelta(hours=3)
    assert by_tier[Tier.SINGLE_USER].count == 1
    # Resolved at 12th 02:00, 04:00 and 09:00: [03:00, 09:00) holds only the 4h one.
    assert [r.exception_id for r in resolved_between(items, at(12, 3), at(12, 9))] == [2]


def test_a_reopened_exception_counts_once_from_first_opening_to_last_resolution() -> None:
    """Opened on the 12th 00:00, resolved 01:00, reopened 05:00, resolved again 08:00.

    The store keeps the first opened_at and only the last resolved_at, so the one resolution
    the metric sees is 8 hours, not 1 hour and not two exceptions."""
    reopened = Resolution(7, "c", Tier.OTHER_SERVER, at(12, 0), at(12, 8))
    figures = mttr([reopened])
    assert (figures.count, figures.mean) == (1, timedelta(hours=8))
