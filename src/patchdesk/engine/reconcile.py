"""The reconcile step (DESIGN section 2): level-triggered and idempotent.

Each step reads the store and the fleet at ``now``, decides, and writes; running it twice,
or again after a crash at any point, does no harm: the store is the truth, every change is
written with its event in one transaction, and every call that changes a device carries an
idempotency key derived from stored state. Only the engine holding the lease dispatches.

Order within a step: fleet facts (and connector health); open deployments for windows
that have started; follow targets in flight (so finished ones free capacity); dispatch;
operator commands; close finished deployments.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from patchdesk.engine import lease
from patchdesk.engine.commands import run_commands
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.connectors.base import Connector, ConnectorUnavailable
from patchdesk.engine.deployments import close_finished, open_deployment, open_now
from patchdesk.engine.dispatch import dispatch
from patchdesk.engine.progress import follow
from patchdesk.engine.report import StepReport
from patchdesk.engine.sync import apply_statuses, connector_down, connector_up, fetch_statuses
from patchdesk.store.db import Database

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

    def step(self, now: datetime) -> StepReport:
        report = StepReport()
        self.last_lease = lease.acquire(self.db, self.holder, now, self.lease_ttl)
        if not self.last_lease.held:
            report.dispatching = False
            return report
        statuses = fetch_statuses(self.connector)
        if statuses is None:
            self._down(now, report, "the connector did not answer")
            return report
        try:
            with self.db.writer() as session:
                connector_up(session, now)
                apply_statuses(session, statuses, now)
            with self.db.writer() as session:
                for window, start, end in open_now(session, now):
                    open_deployment(session, self.connector, window, start, end, now, report)
            with self.db.writer() as session:
                follow(session, self.connector, now, self.config, report)
            with self.db.writer() as session:
                dispatch(session, self.connector, now, self.config, report)
            with self.db.writer() as session:
                run_commands(session, self.connector, now, self.config, report)
            with self.db.writer() as session:
                close_finished(session, now, report)
        except ConnectorUnavailable as exc:
            # Went down mid-step: what was written stays; the rest waits for the next step.
            self._down(now, report, str(exc) or "the connector stopped answering")
        return report

    def _down(self, now: datetime, report: StepReport, reason: str) -> None:
        report.connector_reachable = False
        with self.db.writer() as session:
            went_down = connector_down(session, now, reason)
        if went_down:
            log.warning("connector unreachable since %s: %s", now.isoformat(), reason)
