"""The store serves the queue in triage order (``store.triage_order``), page by page."""

from __future__ import annotations

import random
from datetime import timedelta

from patchdesk.domain import (
    CLASS_RANK,
    Criticality,
    ExceptionState,
    FailureClass,
    OsFamily,
    Role,
    Tier,
)
from patchdesk.store.db import Database
from patchdesk.store.exception_views import QueueFilter
from patchdesk.store.models import Client, Device, PatchException
from patchdesk.store.queue_views import read_page
from tests.conftest import NOW
from tests.triage_order import TriageItem, sort_queue


def _fill(database: Database, count: int, seed: int) -> list[PatchException]:
    rng = random.Random(seed)
    with database.session() as session:
        session.add(
            Client(
                id="c", name="C", timezone="UTC", sla_tier="gold", created_at=NOW, updated_at=NOW
            )
        )
        devices = [
            Device(
                client_id="c",
                hostname=f"H{n:03d}",
                role=Role.SERVER,
                criticality=Criticality.CRITICAL,
                os_family=OsFamily.WINDOWS,
                created_at=NOW,
                updated_at=NOW,
            )
            for n in range(count)
        ]
        session.add_all(devices)
        session.flush()
        rows = []
        for device in devices:
            failure_class = rng.choice(list(FailureClass))
            rows.append(
                PatchException(
                    client_id="c",
                    device_id=device.id,
                    failure_class=failure_class,
                    tier=rng.choice(list(Tier)),
                    class_rank=CLASS_RANK[failure_class],
                    state=rng.choice(list(ExceptionState)),
                    # few distinct times, so ties on age are common
                    opened_at=NOW - timedelta(minutes=10 * rng.randrange(6)),
                    updated_at=NOW,
                )
            )
        rng.shuffle(rows)
        session.add_all(rows)
    return rows


def test_queue_pages_follow_the_triage_order(database: Database) -> None:
    rows = _fill(database, 120, seed=7)
    expected = sort_queue(
        TriageItem(r.id, r.tier, r.failure_class, r.opened_at)
        for r in rows
        if r.state is not ExceptionState.RESOLVED
    )
    with database.session() as session:
        first = read_page(session, QueueFilter(), offset=0, limit=50)
        rest = read_page(session, QueueFilter(), offset=50, limit=len(expected) - 50)
    lines = first.lines + rest.lines
    assert [line.row.id for line in lines] == [i.id for i in expected]
    assert all(line.row.state is not ExceptionState.RESOLVED for line in lines)
    assert len(first.lines) == 50
    assert first.total == len(expected)
