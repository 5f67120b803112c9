"""The store serves the queue in the order engine.triage defines, through its index."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from patchdesk.domain import (
    CLASS_RANK,
    Criticality,
    ExceptionState,
    FailureClass,
    OsFamily,
    Role,
    Tier,
)
from patchdesk.rules.triage import TriageItem, sort_queue
from patchdesk.store.db import Database
from patchdesk.store.models import Client, Device, PatchException
from patchdesk.store.queue import open_queue_query, queue_page
from tests.conftest import NOW


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


def test_queue_page_matches_triage_order(database: Database) -> None:
    rows = _fill(database, 120, seed=7)
    expected = sort_queue(
        TriageItem(r.id, r.tier, r.failure_class, r.opened_at)
        for r in rows
        if r.state is not ExceptionState.RESOLVED
    )
    with database.session() as session:
        first = queue_page(session, limit=50)
        rest = queue_page(session, offset=50, limit=500)
    assert [r.id for r in first + rest] == [i.id for i in expected]
    assert all(r.state is not ExceptionState.RESOLVED for r in first + rest)
    assert len(first) == 50


def test_sqlite_walks_the_triage_index_without_sorting(database: Database) -> None:
    if database.backend != "sqlite":
        pytest.skip("the plan check reads SQLite's EXPLAIN QUERY PLAN")
    query = open_queue_query().limit(200)
    sql = str(query.compile(database.engine))
    with database.engine.connect() as conn:
        plan = " ".join(
            str(row[-1])
            for row in conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {sql}", (ExceptionState.RESOLVED.value, 200, 0)
            )
        )
    assert "ix_exceptions_triage" in plan
    assert "TEMP B-TREE" not in plan
