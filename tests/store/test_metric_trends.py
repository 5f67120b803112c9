"""The Reports screen's trend (store.metric_trends) on hand-built clients, on SQLite and
PostgreSQL; the answers worked out by hand in the docstrings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from sqlalchemy import update

from patchdesk.domain import DeploymentState, FailureClass, TargetState
from patchdesk.rules.metrics import Cycle
from patchdesk.store.db import Database
from patchdesk.store.metric_trends import (
    TrendPoint,
    closed,
    metric_trends,
    overall_trend,
    point_of,
)
from patchdesk.store.metric_views import metrics_summary
from patchdesk.store.models import Deployment, Device, Target
from tests.exception_seed import seed_fleet
from tests.store.test_metric_views import AFTER_WINDOW, NOV, seed

SEP, OCT, DEC = Cycle(2026, 9), Cycle(2026, 10), Cycle(2026, 12)
CREATED = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)


def seed_history(database: Database) -> None:
    """acme (``seed``) with its devices created on 20 Oct, and one October deployment
    (20 Oct 07:00 UTC) in which DC01's reboot failed; beta, a second New York client with
    four devices (created 27 Nov), no windows and no rules."""
    seeded = seed(database)
    seed_fleet(database, client_id="beta", extra=False)
    with database.session() as session:
        session.execute(update(Device).where(Device.client_id == "acme").values(created_at=CREATED))
        start = datetime(2026, 10, 20, 7, 0, tzinfo=UTC)
        deployment = Deployment(
            client_id="acme",
            window_id=None,
            occurrence_start=start,
            occurrence_end=start + timedelta(hours=3),
            state=DeploymentState.CLOSED,
            opened_at=start,
        )
        session.add(deployment)
        session.flush()
        session.add(
            Target(
                deployment_id=deployment.id,
                device_id=seeded.devices["DC01"],
                state=TargetState.REBOOT_FAILED,
                error_message="no new boot time within 30 minutes",
                updated_at=start,
            )
        )


def test_points_per_cycle(database: Database) -> None:
    """acme, New York (EST/EDT):

    - September (8 Sep - 12 Oct local, ends 13 Oct 04:00 UTC): the devices did not exist
      yet -> 0 devices, no rate; no failures.
    - October (13 Oct - 9 Nov, ends 10 Nov 05:00 UTC): 4 devices, none of the missing
      patches detected yet (26 Nov) -> 4 of 4 compliant, nothing approved (no patch rate);
      DC01's failed reboot on 20 Oct -> reboot 1.
    - November as of AFTER_WINDOW: the figures ``metrics_summary`` gives (3 of 4, 1 of 2
      patches, install 1 and offline 1).
    - December had not begun at AFTER_WINDOW -> no figures.
    """
    seed_history(database)
    cycles = [SEP, OCT, NOV, DEC]
    with database.session() as session:
        trends = metric_trends(session, cycles, AFTER_WINDOW)
        summary = metrics_summary(session, NOV, AFTER_WINDOW)
    assert [t.client_id for t in trends] == ["acme", "beta"]
    acme = trends[0]
    sep, oct_, nov, dec = acme.points
    assert [p.cycle for p in acme.points] == cycles

    assert sep.compliance is not None
    assert sep.compliance.devices == 0
    assert sep.compliance.device_rate is None
    assert sep.compliance.at == datetime(2026, 10, 13, 4, 0, tzinfo=UTC)
    assert sep.failed_total == 0

    assert oct_.compliance is not None
    assert oct_.compliance.at == datetime(2026, 11, 10, 5, 0, tzinfo=UTC)
    assert (oct_.compliance.devices, oct_.compliance.compliant_devices) == (4, 4)
    assert oct_.compliance.patch_rate is None
    assert oct_.failures[FailureClass.REBOOT] == 1
    assert oct_.failed_total == 1

    acme_now = summary.clients[0]
    assert nov.compliance == acme_now.compliance_end
    assert nov.compliance is not None
    assert nov.compliance.device_rate == Fraction(3, 4)
    assert nov.failures == acme_now.failures
    assert nov.failed_total == 2

    assert not dec.begun
    assert dec.compliance is None
    assert dec.failed_total == 0


def test_overall_adds_the_clients_up(database: Database) -> None:
    """November: acme 3 of 4 and beta 4 of 4 -> 7 of 8 (not the mean of 75 % and 100 %);
    October: acme 4 of 4, beta had no devices -> 4 of 4; failures add up per class;
    December: nobody had begun -> no figures."""
    seed_history(database)
    cycles = [OCT, NOV, DEC]
    with database.session() as session:
        trends = metric_trends(session, cycles, AFTER_WINDOW)
    oct_, nov, dec = overall_trend(trends, cycles)
    assert oct_.compliance is not None
    assert (oct_.compliance.compliant_devices, oct_.compliance.devices) == (4, 4)
    assert oct_.failures[FailureClass.REBOOT] == 1
    assert nov.compliance is not None
    assert nov.compliance.device_rate == Fraction(7, 8)
    assert (nov.compliance.installed_pairs, nov.compliance.approved_pairs) == (1, 2)
    assert nov.failures[FailureClass.INSTALL] == 1
    assert nov.failures[FailureClass.OFFLINE] == 1
    assert dec.compliance is None


def test_only_the_clients_asked_for(database: Database) -> None:
    seed_history(database)
    with database.session() as session:
        trends = metric_trends(session, [NOV], AFTER_WINDOW, client_ids=["beta"])
        nobody = metric_trends(session, [NOV], AFTER_WINDOW, client_ids=[])
    assert [t.client_id for t in trends] == ["beta"]
    assert nobody == ()
    assert overall_trend(nobody, [NOV])[0].compliance is None


def test_known_points_are_not_read_again(database: Database) -> None:
    """The current cycle's point built from ``metrics_summary`` equals the one read; a point
    passed in as known is used as it is (here a made-up one, to see that it is not read);
    October had ended at AFTER_WINDOW (closed), November had not."""
    seed_history(database)
    with database.session() as session:
        (acme_now, _beta) = metrics_summary(session, NOV, AFTER_WINDOW).clients
        read = metric_trends(session, [OCT, NOV], AFTER_WINDOW, client_ids=["acme"])
        made_up = TrendPoint(OCT, read[0].points[1].compliance, {f: 7 for f in FailureClass})
        known = {("acme", OCT): made_up, ("acme", NOV): point_of(acme_now)}
        reused = metric_trends(session, [OCT, NOV], AFTER_WINDOW, ["acme"], known=known)
    assert point_of(acme_now) == read[0].points[1]
    assert reused[0].points == (made_up, read[0].points[1])
    assert closed(read[0].points[0], AFTER_WINDOW)
    assert not closed(read[0].points[1], AFTER_WINDOW)
