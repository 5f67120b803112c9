"""The reconcile step (docs/architecture.md): level-triggered and idempotent.

Each step reads the store and the fleet at ``now``, decides, and writes; running it twice,
or again after a crash at any point, does no harm: the store is the truth, every change is
written with its event in one transaction, and every call that changes a device carries an
idempotency key derived from stored state. Only the engine holding the lease dispatches.

Order within a step: fleet facts (and connector health, and devices whose link to the
fleet is inconsistent: ``engine.links`` alerts on them and the step goes on without them);
open deployments for windows that have started; follow targets in flight (so finished ones
free capacity); settle the offline exceptions of devices back online (``engine.comeback``);
dispatch; operator requests; close finished deployments. All but the
operator requests are one transaction (each write of a step costs its pages once, not once
per phase); a crash anywhere in it leaves nothing of the step, and the next step repeats the
connector calls with the same idempotency keys. Operator requests, when any are queued, run
in a transaction of their own (a wake-on-LAN has no key), and the close after them.

Between steps the engine keeps a few things that spare it from re-reading what cannot have
changed: when it last synced the fleet and followed targets (so it asks the connector only
for what changed since), the window schedule, and the health watch (``attention``). Only
the lease holder writes targets and device facts, so these stay true while the engine holds
the lease without a break; the engine drops them all, and starts again from the store,
after any step that failed, when the connector went down, and when its tenure of the lease
was broken (not held, or taken anew). It also keeps the device alerts (``engine.links``),
and reads the whole fleet again after a step that cleared one.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from patchdesk.connectors.base import Connector, ConnectorUnavailable, RefusesDevices
from patchdesk.engine import lease
from patchdesk.engine.attention import Watch
from patchdesk.engine.comeback import settle_back_online
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.deployments import (
    close_finished,
    open_deployment,
    open_now,
    opening_order,
)
from patchdesk.engine.dispatch import dispatch
from patchdesk.engine.emergency import open_emergencies
from patchdesk.engine.links import find_problems, read_alerts, update_alerts
from patchdesk.engine.progress import follow
from patchdesk.engine.requests import run_requests
from patchdesk.engine.schedule import WindowSchedule
from patchdesk.engine.step import Step
from patchdesk.engine.sync import (
    Facts,
    FleetFacts,
    apply_statuses,
    connector_down,
    connector_up,
    fetch_statuses,
)
from patchdesk.store.db import Database, Session
from patchdesk.store.due_views import due as stored_due
from patchdesk.store.events import batched_events
from patchdesk.store.request_views import requests_queued
from patchdesk.text import printable

log = logging.getLogger(__name__)


class Reconciler:
    """One engine: a database, a fleet, and who we are for the lease."""

    def __init__(
        self,
        db: Database,
        connector: Connector,
        *,
        holder: str,
        config: EngineConfig | None = None,
        lease_ttl: timedelta = lease.DEFAULT_TTL,
    ) -> None:
        self.db = db
        self.connector = connector
        self.holder = holder
        self.config = config or EngineConfig()
        self.lease_ttl = lease_ttl
        self.last_lease: lease.LeaseState | None = None
        self._renewed_at: datetime | None = None
        # Taking the lease and giving it up for good never interleave (a signal may release
        # it from another thread while a step takes it): once released, it stays released.
        self._lease_lock = threading.Lock()
        self._released = False
        self.schedule = WindowSchedule()
        self.watch = Watch()
        self._synced_at: datetime | None = None  # the last fleet sync written
        self._up_recorded = False  # the store says the connector is reachable
        self._followed_at: datetime | None = None  # the last step that followed targets
        self._facts: dict[str, Facts] = {}  # device facts as stored, by connector id
        self._alerts: dict[str, dict[str, Any]] | None = None  # device alerts as stored
        self._relink = False  # an alert cleared: the next step reads the whole fleet

    def step(self, now: datetime) -> StepCounts:
        try:
            return self._step(now)
        except BaseException:
            self._forget()  # what the failed step left is for the store to say
            raise

    def _step(self, now: datetime) -> StepCounts:
        report = StepCounts()
        if not self._hold_lease(now):
            report.dispatching = False
            return report
        facts = fetch_statuses(self.connector, self._synced_at)
        if facts is None:
            self._down(now, report, "the connector did not answer")
            return report
        try:
            with self.db.writer() as session, batched_events(session):
                requests_due = self._reconcile(session, facts, now, report)
            self._synced_at = self._followed_at = now
            self._up_recorded = True
            if self._relink:  # a device left alone is back: its facts, whatever changed
                self._relink = False
                self._synced_at = None
            if requests_due:  # in their own transaction, then the close
                with self.db.writer() as session, batched_events(session):
                    run_requests(Step(session, self.connector, now, self.config, report))
                with self.db.writer() as session, batched_events(session):
                    close_finished(Step(session, self.connector, now, self.config, report))
        except ConnectorUnavailable as exc:
            # Went down mid-step: what was written stays; the rest waits for the next step.
            self._down(now, report, str(exc) or "the connector stopped answering")
        return report

    def _reconcile(
        self, session: Session, facts: FleetFacts, now: datetime, report: StepCounts
    ) -> bool:
        """Fleet facts, deployments, targets followed and dispatched, deployments closed: one
        transaction. True when operator requests are queued: the close then waits for them."""
        everything = self._followed_at is None  # not known what changed: follow all
        if not self._up_recorded and connector_up(session, now) is not None:
            everything = True  # deadlines moved with the outage
        changed = apply_statuses(session, facts, now, self._facts)
        self._check_links(session, facts.complete, now)
        step = Step(session, self.connector, now, self.config, report)
        for window, start, end in opening_order(session, open_now(session, now, self.schedule)):
            open_deployment(step, window, start, end)
        open_emergencies(step)
        follow(
            step,
            None if everything else changed,
            self.watch,
            None if everything else self._followed_at,
        )
        settle_back_online(step)
        dispatch(step)
        if requests_queued(session, now):
            return True
        close_finished(step)
        return False

    def _check_links(self, session: Session, complete: bool, now: datetime) -> None:
        """Alert on devices whose link to the fleet is inconsistent (``engine.links``), once
        each; clear the alerts of those repaired."""
        connector = self.connector
        refused = connector.refused_devices if isinstance(connector, RefusesDevices) else {}
        if self._alerts is None:
            self._alerts = read_alerts(session)
        if not (complete or refused or self._alerts):
            return
        ids = None if complete else {str(a.get("connector_id")) for a in self._alerts.values()}
        changes = update_alerts(session, now, find_problems(session, refused, ids), self._alerts)
        for problem in changes.raised:
            log.warning(
                "device %d (%s, connector id %r) left alone: %s",
                problem.device_id,
                printable(problem.hostname),
                printable(problem.connector_id),
                printable(problem.reason),
            )
        if changes.cleared:
            self._relink = True

    def next_due(self, now: datetime, soon: datetime | None = None) -> datetime | None:
        """The first instant, at or after ``now``, at which a step may have something to do
        although nothing new is reported: a window opening or closing, a target's
        ``check_at`` or the end of its wait before a retry, a watched target's health read,
        the time of a scheduled operator request; ``now`` while operator requests are due;
        None when nothing is due. With ``soon``,
        any instant due at or before it may be returned as soon as it is found (the answer
        is then only "something is due by ``soon``"). Windows are as of the last step.

        A driver of virtual time may skip the steps before it as long as the fleet reports
        nothing new meanwhile (``patchdesk simulate``)."""
        instants = [self.watch.next_due(), self.schedule.next_boundary(now)]
        due = min((at for at in instants if at is not None), default=None)
        if due is not None and soon is not None and due <= soon:
            return max(due, now)
        with self.db.session() as session:
            stored = stored_due(session, now)
        if stored.queued is not None:
            return now
        found = (due, *stored[1:])
        due = min((at for at in found if at is not None), default=None)
        return None if due is None else max(due, now)

    def next_boundary(self, now: datetime) -> datetime | None:
        """The next instant a window opens or closes, after ``now``."""
        with self.db.session() as session:
            self.schedule.refresh(session)
        return self.schedule.next_boundary(now)

    def release_lease(self) -> None:
        """Give the lease up for good (the engine is stopping): no later step of this
        engine takes it again, so another engine may take it at once. Safe from any thread,
        and more than once."""
        with self._lease_lock:
            self._released = True
            lease.release(self.db, self.holder)

    def _hold_lease(self, now: datetime) -> bool:
        """Take or renew the lease (renewed once half its time has gone); False: attached,
        or the lease was given up for good (``release_lease``)."""
        with self._lease_lock:
            return False if self._released else self._take_lease(now)

    def _take_lease(self, now: datetime) -> bool:
        held, renewed = self.last_lease, self._renewed_at
        if held is not None and held.held and renewed is not None:
            renew_by = held.expires_at - self.lease_ttl / 2
            if renewed <= now < renew_by:
                return True
        self.last_lease = lease.acquire(self.db, self.holder, now, self.lease_ttl)
        self._renewed_at = now
        continuous = (
            held is not None and held.held and held.acquired_at == self.last_lease.acquired_at
        )
        if not (self.last_lease.held and continuous):
            self._forget()
        return self.last_lease.held

    def _forget(self) -> None:
        """Drop what is kept between steps: the next step starts from the store."""
        self._synced_at = None
        self._up_recorded = False
        self._followed_at = None
        self._facts.clear()
        self._alerts = None
        self._relink = False
        self.schedule.forget()
        self.watch.forget()

    def _down(self, now: datetime, report: StepCounts, reason: str) -> None:
        report.connector_reachable = False
        self._forget()
        with self.db.writer() as session:
            went_down = connector_down(session, now, reason)
        if went_down:
            log.warning("connector unreachable since %s: %s", now.isoformat(), reason)
