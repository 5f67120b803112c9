"""The health watch reads verified targets on a shared grid of ``health_interval``.

Each watched target is read when it is verified, then at every instant of the grid
(multiples of the interval from 2000-01-01 UTC) until its observation period ends, so the
targets verified at different minutes are read together, once per interval, and a step
between two grid instants has no health read due (the simulation can pass over it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from patchdesk.connectors.base import Connector
from patchdesk.engine.attention import Watch, Watched, next_read

HOUR = timedelta(hours=1)


def at(hhmm: str, day: int = 12) -> datetime:
    hours, minutes = hhmm.split(":")
    return datetime(2026, 11, day, int(hours), int(minutes), tzinfo=UTC)


class Health:
    """A connector that only answers health reads, and remembers them."""

    def __init__(self, answers: Mapping[str, Mapping[str, bool]]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    def health(self, connector_ids: Sequence[str]) -> Mapping[str, Mapping[str, bool]]:
        self.calls.append(list(connector_ids))
        return {cid: self.answers[cid] for cid in connector_ids if cid in self.answers}


def test_next_read_is_the_next_grid_instant() -> None:
    assert next_read(at("10:17"), HOUR) == at("11:00")
    assert next_read(at("10:59"), HOUR) == at("11:00")
    assert next_read(at("11:00"), HOUR) == at("12:00")  # strictly after
    assert next_read(at("23:30"), HOUR) == at("00:00", day=13)
    quarter = timedelta(minutes=15)
    assert next_read(at("10:17"), quarter) == at("10:30")
    assert next_read(at("10:30"), quarter) == at("10:45")


def test_targets_verified_apart_are_read_together_on_the_grid() -> None:
    ok = {"disk": True, "service": True}
    fleet = Health({"A": ok, "B": ok})
    connector = cast(Connector, fleet)
    watch = Watch()
    # Verified at 10:17 and 10:43, each read then (by the step that verified it) ...
    for target_id, cid, verified in ((1, "A", at("10:17")), (2, "B", at("10:43"))):
        watched = Watched(cid, ok, ok, verified + timedelta(hours=24))
        watch.schedule(target_id, next_read(verified, HOUR), watched)
    # ... then at 11:00 both in one call, and nothing is due between two grid instants.
    assert watch.next_due() == at("11:00")
    assert not watch.read(connector, at("10:58"), HOUR).news
    assert fleet.calls == []
    readings = watch.read(connector, at("11:00"), HOUR)
    assert fleet.calls == [["A", "B"]]
    assert not readings.news
    assert not readings.changed
    assert watch.next_due() == at("12:00")


def test_reads_stop_at_the_end_of_the_observation_period() -> None:
    ok: dict[str, Any] = {"disk": True}
    fleet = Health({"A": ok})
    watch = Watch()
    verified = at("10:17")
    watch.schedule(1, next_read(verified, HOUR), Watched("A", ok, ok, verified + 3 * HOUR))
    now = at("10:17")
    while (due := watch.next_due()) is not None:
        now = due
        watch.read(cast(Connector, fleet), now, HOUR)
    # 11:00, 12:00 and 13:00 fall within 10:17 + 3 h; 14:00 does not.
    assert len(fleet.calls) == 3
    assert now == at("13:00")
    assert len(watch) == 0


def test_a_check_failing_anew_is_news_at_the_next_grid_read() -> None:
    before = {"disk": True, "service": True}
    fleet = Health({"A": {"disk": True, "service": False}})
    watch = Watch()
    watch.schedule(1, at("11:00"), Watched("A", before, before, at("10:17", day=13)))
    readings = watch.read(cast(Connector, fleet), at("11:00"), HOUR)
    assert readings.news == {1: {"disk": True, "service": False}}
