"""Triage: tiers from role and criticality, and the queue order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from patchdesk.domain import Criticality, FailureClass, Role, Tier, default_criticality, tier_of
from tests.triage_order import TriageItem, sort_queue, triage_key

T0 = datetime(2026, 11, 12, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("role", "criticality", "tier"),
    [
        (Role.SERVER, Criticality.CRITICAL, Tier.CRITICAL_SERVER),
        (Role.SERVER, Criticality.STANDARD, Tier.OTHER_SERVER),
        (Role.SHARED_WORKSTATION, Criticality.CRITICAL, Tier.SHARED_WORKSTATION),
        (Role.SHARED_WORKSTATION, Criticality.STANDARD, Tier.SHARED_WORKSTATION),
        (Role.SINGLE_USER, Criticality.CRITICAL, Tier.SINGLE_USER),
        (Role.SINGLE_USER, Criticality.STANDARD, Tier.SINGLE_USER),
    ],
)
def test_tier_from_role_and_criticality(role: Role, criticality: Criticality, tier: Tier) -> None:
    assert tier_of(role, criticality) is tier


def test_servers_default_to_critical() -> None:
    assert default_criticality(Role.SERVER) is Criticality.CRITICAL
    assert default_criticality(Role.SHARED_WORKSTATION) is Criticality.STANDARD
    assert default_criticality(Role.SINGLE_USER) is Criticality.STANDARD


def item(n: int, tier: Tier, cls: FailureClass, minutes: int) -> TriageItem:
    return TriageItem(n, tier, cls, T0 + timedelta(minutes=minutes))


def test_queue_order_tier_then_class_then_age_then_id() -> None:
    items = [
        item(1, Tier.SINGLE_USER, FailureClass.OFFLINE, 0),
        item(2, Tier.SHARED_WORKSTATION, FailureClass.INSTALL, 0),
        item(3, Tier.CRITICAL_SERVER, FailureClass.INSTALL, 0),
        item(4, Tier.OTHER_SERVER, FailureClass.OFFLINE, 50),
        item(5, Tier.CRITICAL_SERVER, FailureClass.REBOOT, 30),
        item(6, Tier.CRITICAL_SERVER, FailureClass.REGRESSION, 90),
        item(7, Tier.CRITICAL_SERVER, FailureClass.OFFLINE, 60),
        item(8, Tier.CRITICAL_SERVER, FailureClass.OFFLINE, 10),
        item(9, Tier.CRITICAL_SERVER, FailureClass.OFFLINE, 10),
    ]
    assert [i.id for i in sort_queue(items)] == [8, 9, 7, 6, 5, 3, 4, 2, 1]


def test_triage_key_is_total_and_stable() -> None:
    a = triage_key(Tier.OTHER_SERVER, FailureClass.REBOOT, T0, 2)
    b = triage_key(Tier.OTHER_SERVER, FailureClass.REBOOT, T0, 3)
    assert a < b
    assert triage_key(Tier.CRITICAL_SERVER, FailureClass.INSTALL, T0 + timedelta(days=9), 99) < a
