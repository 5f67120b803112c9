"""The derived device status (engine.presence)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from patchdesk.rules.presence import DEFAULT_STALE_AFTER, Presence, presence

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LIMIT = timedelta(minutes=30)


def test_online_with_a_recent_checkin_is_online() -> None:
    assert presence(True, NOW - timedelta(minutes=5), NOW, LIMIT) is Presence.ONLINE
    assert presence(True, NOW - LIMIT, NOW, LIMIT) is Presence.ONLINE  # inclusive


def test_online_with_an_old_checkin_is_stale() -> None:
    assert presence(True, NOW - timedelta(hours=8), NOW, LIMIT) is Presence.STALE
    assert presence(True, NOW - LIMIT - timedelta(seconds=1), NOW, LIMIT) is Presence.STALE
    assert presence(True, None, NOW, LIMIT) is Presence.STALE


def test_a_recent_fleet_read_is_checkin_evidence() -> None:
    old = NOW - timedelta(hours=8)
    assert presence(True, old, NOW, LIMIT, NOW - timedelta(minutes=1)) is Presence.ONLINE
    assert presence(True, old, NOW, LIMIT, NOW - timedelta(hours=2)) is Presence.STALE


def test_offline_and_unknown_are_never_stale() -> None:
    old = NOW - timedelta(days=3)
    assert presence(False, old, NOW, LIMIT) is Presence.OFFLINE
    assert presence(None, old, NOW, LIMIT) is Presence.UNKNOWN


def test_default_threshold_is_twice_the_checkin_interval() -> None:
    assert timedelta(minutes=30) == DEFAULT_STALE_AFTER


@given(st.integers(min_value=0, max_value=10_000_000))
def test_online_exactly_when_the_evidence_is_within_the_threshold(age: int) -> None:
    seen = NOW - timedelta(seconds=age)
    expected = Presence.ONLINE if timedelta(seconds=age) <= LIMIT else Presence.STALE
    assert presence(True, seen, NOW, LIMIT) is expected
