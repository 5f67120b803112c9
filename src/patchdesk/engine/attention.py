"""Which targets a step looks at, and the health watch of verified targets.

A target's verdict (``rules.classify``) changes only when its facts change or when one of
its deadlines passes, so a step looks only at the targets that may have news:

- every target just dispatched, and every target awaiting an install job that finished (a
  connector that reports changes says which jobs did; otherwise all of them are polled). A
  target just dispatched whose job is still queued or running, with nothing else new, only
  moves to installing: that is done without looking at it whole (``Attention.started``);
- targets whose device's new facts can decide what they wait for: a new boot time for a
  target rebooting, or verified and watched (a later reboot takes its proof back); a new
  boot, a new check-in or the device coming online for one awaiting its check-in. (Targets
  waiting on a job, a user deferral or a deadline are looked at when those come: the
  device's facts are not read before. A target installed and not yet further is looked at
  on any news);
- targets whose ``check_at`` has come: the first of the instants their verdict can turn at
  with no news (the window's end, the reboot and check-in deadlines, the end of a user
  deferral);
- verified targets whose health, read when due (:class:`Watch`), differs from the stored
  snapshot.

A step leaves every target it looks at in the state its verdict asks for, so any other
target would get the same verdict as last time and nothing to do: leaving it alone changes
nothing. A step that does not know what changed (``changed`` None: the engine's first step,
or the one after a failed step) looks at every target in flight, watched, or left pending in
a closed window, as every step once did.

The watch lives in memory between steps. That is safe because only the engine holding the
lease writes targets, and the engine forgets the watch (and rebuilds it from the store)
whenever it may be out of date: at its first step, after a failed step, and after a step
without the lease.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from patchdesk.connectors.base import Connector, JobState, JobStatus, ReportsChanges
from patchdesk.domain import TargetState
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.sync import News
from patchdesk.store.attention_views import (
    awaiting_job,
    awaiting_these_jobs,
    check_due,
    in_flight_or_watched,
    just_dispatched,
    pending_in_closed,
    watched_targets,
)
from patchdesk.store.db import Session

FINISHED = (JobState.SUCCEEDED, JobState.FAILED)
CHUNK = 5_000  # ids per IN (...) list

T = TypeVar("T")


def chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for first in range(0, len(items), CHUNK):
        yield items[first : first + CHUNK]


@dataclass(slots=True)
class Watched:
    connector_id: str
    before: Mapping[str, Any] | None  # the stored health_before
    snapshot: Mapping[str, Any] | None  # the stored health_after
    until: datetime  # the end of its observation period


_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def next_read(now: datetime, interval: timedelta) -> datetime:
    """When a watched target's health is read next: the first instant after ``now`` on the
    grid of ``interval`` (its multiples from 2000-01-01 UTC; the whole hours by default).

    Every watched target is read on the same grid rather than ``interval`` after its own
    last read: the gap between two reads of a target is never longer than ``interval``
    (the first read is at its verification), but the reads of all targets fall due at the
    same instants, once per interval, instead of at nearly every step of a large fleet; the
    steps between them have no read due, and a simulation passes over them."""
    return now + (interval - (now - _EPOCH) % interval)


def fails_anew(before: Mapping[str, Any] | None, snapshot: Mapping[str, bool]) -> bool:
    """A check that passed before the patch fails in ``snapshot`` (``classify``'s rule)."""
    if before is None or False not in snapshot.values():  # (the usual case, quickly)
        return False
    return any(not ok and before.get(name) is True for name, ok in snapshot.items())


class Watch:
    """Verified targets in their observation period, when each one's health is read next
    (on the grid of ``next_read``), and the snapshot stored for it (see the module
    docstring for why it may live in memory)."""

    def __init__(self) -> None:
        self._watched: dict[int, Watched] = {}
        self._next: dict[int, datetime] = {}
        self._due: dict[datetime, list[int]] = {}  # targets by the instant they are due
        self._times: list[datetime] = []  # a heap of those instants
        self.loaded = False

    def __len__(self) -> int:
        return len(self._watched)

    def load(self, session: Session, now: datetime, observation: timedelta) -> None:
        """Every target verified within the observation period, each read at once."""
        self.forget()
        rows = watched_targets(session, now, observation)
        for target_id, connector_id, before, snapshot, verified_at in rows:
            if connector_id:
                watched = Watched(connector_id, before, snapshot, verified_at + observation)
                self.schedule(target_id, now, watched)
        self.loaded = True

    def forget(self) -> None:
        self._watched.clear()
        self._next.clear()
        self._due.clear()
        self._times.clear()
        self.loaded = False

    def schedule(self, target_id: int, at: datetime, watched: Watched) -> None:
        """Read the target's health at ``at`` (dropped when that is past its period)."""
        if at >= watched.until:
            self.drop(target_id)
            return
        self._watched[target_id] = watched
        if self._next.get(target_id) != at:
            self._next[target_id] = at
            bucket = self._due.get(at)
            if bucket is None:
                bucket = self._due[at] = []
                heapq.heappush(self._times, at)
            bucket.append(target_id)

    def next_due(self) -> datetime | None:
        """When the next health read is due (perhaps earlier: a read rescheduled since)."""
        return self._times[0] if self._times else None

    def drop(self, target_id: int) -> None:
        self._watched.pop(target_id, None)
        self._next.pop(target_id, None)

    def read(self, connector: Connector, now: datetime, interval: timedelta) -> Readings:
        """Read the health of the targets due. A snapshot that fails a check that passed
        before the patch is news (the step looks at the target); one that merely differs
        from the stored one is to be stored; the target is read again at the next instant of
        the grid of ``interval`` (``next_read``)."""
        # Target -> its Watched (a dict: a target may be listed twice in one instant).
        due: dict[int, Watched] = {}
        all_watched, scheduled = self._watched, self._next
        while self._times and self._times[0] <= now:
            at = heapq.heappop(self._times)
            for t in self._due.pop(at):
                if scheduled.get(t) == at:
                    due[t] = all_watched[t]
        readings = Readings()
        if not due:
            return readings
        health = connector.health([watched.connector_id for watched in due.values()])
        at = next_read(now, interval)
        again: list[int] = []  # read again at ``at`` (``schedule``, written out: a hot loop)
        news, changed = readings.news, readings.changed
        for target_id, watched in due.items():
            snapshot = health.get(watched.connector_id)
            if snapshot is not None:
                # (fails_anew's quick test first, written out)
                if False in snapshot.values() and fails_anew(watched.before, snapshot):
                    news[target_id] = snapshot
                    continue
                if snapshot != watched.snapshot:
                    changed[target_id] = snapshot
                    watched = Watched(watched.connector_id, watched.before, snapshot, watched.until)
                    all_watched[target_id] = watched
            if at >= watched.until:
                self.drop(target_id)
            else:
                again.append(target_id)
        if again:
            self._next.update(dict.fromkeys(again, at))
            bucket = self._due.get(at)
            if bucket is None:
                self._due[at] = again
                heapq.heappush(self._times, at)
            else:
                bucket.extend(again)
        return readings


@dataclass
class Readings:
    news: dict[int, Mapping[str, bool]] = field(default_factory=dict)
    changed: dict[int, Mapping[str, bool]] = field(default_factory=dict)


@dataclass
class Attention:
    """What a step looks at: target ids (ascending), the install jobs polled, and the health
    snapshots read for the watched targets among them."""

    target_ids: list[int]
    jobs: Mapping[str, JobStatus]
    health: Mapping[int, Mapping[str, bool]]  # snapshots read of targets looked at
    snapshots: Mapping[int, Mapping[str, bool]]  # new snapshots of targets not looked at
    started: Mapping[int, Started]  # targets that only move from dispatched to installing


def _news_for(
    state: TargetState, verified_at: datetime | None, news: News, observed: datetime
) -> bool:
    """Whether a device's new facts can change the verdict on its target (``classify``): a
    rebooting target waits for a boot after the command; a verified one keeps its proof
    unless the device boots again; one awaiting its check-in waits for the device to be seen
    after the boot. The other states wait on a job, a deferral or a deadline."""
    if state is TargetState.INSTALLED:
        return True
    if state is TargetState.REBOOTING:
        return news.boot
    if state is TargetState.AWAITING_CHECKIN:
        return news.boot or news.seen or bool(news.online)
    if state is TargetState.VERIFIED:
        return news.boot and verified_at is not None and verified_at > observed
    return False


def needing_attention(
    session: Session,
    connector: Connector,
    now: datetime,
    config: EngineConfig,
    changed: Mapping[int, News] | None,
    watch: Watch,
    jobs_since: datetime | None = None,
) -> Attention:
    """``changed``: devices whose facts changed since the last step; ``jobs_since``: when the
    last step polled the jobs (None for either: unknown, so look at everything)."""
    found: set[int] = set()
    dispatched = just_dispatched(session)
    jobs = _job_news(session, connector, now, jobs_since, found, dispatched)
    started = _starting(now, jobs, found, dispatched)
    found.difference_update(started)
    found.update(check_due(session, now))
    observed = now - config.observation_period
    if changed is None:
        found.update(in_flight_or_watched(session, observed))
        found.update(pending_in_closed(session, now))
    else:
        for news in changed.values():  # (their targets as read at the sync)
            for target in news.targets:
                if _news_for(target.state, target.verified_at, news, observed):
                    found.add(target.id)
    readings = watch.read(connector, now, config.health_interval)
    found.update(readings.news)
    snapshots = {k: v for k, v in readings.changed.items() if k not in found}
    health = {**readings.news, **{k: v for k, v in readings.changed.items() if k in found}}
    started = {k: v for k, v in started.items() if k not in found}  # news after all
    return Attention(sorted(found), jobs, health, snapshots, started)


# A target just dispatched: (id, job id, hostname, client id, window end).
Dispatched = tuple[Any, ...]


@dataclass(frozen=True)
class Started:
    hostname: str
    client_id: str


def _job_news(
    session: Session,
    connector: Connector,
    now: datetime,
    since: datetime | None,
    found: set[int],
    dispatched: Sequence[Dispatched],
) -> dict[str, JobStatus]:
    """Add to ``found`` the targets whose install job has news: every target just dispatched
    (``dispatched``: it moves to installing), and those whose job finished. Returns the jobs
    polled."""
    changes = None
    if since is not None and isinstance(connector, ReportsChanges):
        changes = connector.job_changes(since)
    if changes is None:  # poll every job waited on
        awaiting = awaiting_job(session)
        job_ids = [job_id for _, job_id, _, _ in awaiting if job_id]
        jobs = dict(connector.job_status(job_ids)) if job_ids else {}
        for target_id, job_id, state, check_at in awaiting:
            job = jobs.get(job_id) if job_id else None
            finished = job is not None and job.state in FINISHED
            if state is TargetState.DISPATCHED or finished or (check_at and check_at <= now):
                found.add(target_id)
        return jobs
    jobs = dict(changes)
    found.update(row[0] for row in dispatched)
    done = sorted(job_id for job_id, job in jobs.items() if job.state in FINISHED)
    for chunk in chunks(done):
        found.update(awaiting_these_jobs(session, chunk))
    return jobs


def _starting(
    now: datetime, jobs: Mapping[str, JobStatus], found: set[int], dispatched: Sequence[Dispatched]
) -> dict[int, Started]:
    """Targets dispatched at the last step whose job has not finished (or is unknown to the
    connector), with nothing else new and their window still open: all that following them
    would do is move them to installing, so they are taken out of ``found`` for that."""
    started = {}
    for target_id, job_id, hostname, client_id, end in dispatched:
        job = jobs.get(job_id or "")
        if target_id in found and (job is None or job.state not in FINISHED) and now <= end:
            started[target_id] = Started(hostname, client_id)
    return started
