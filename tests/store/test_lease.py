"""The engine lease: one dispatcher, others attached, expiry and take-over."""

from __future__ import annotations

import threading
from datetime import timedelta

from patchdesk.engine.lease import acquire, release
from patchdesk.store.db import Database
from patchdesk.store.events import events_after
from tests.conftest import NOW

TTL = timedelta(seconds=30)


def test_first_engine_takes_the_lease_and_renews_it(database: Database) -> None:
    first = acquire(database, "alice@noc1:10", NOW, TTL)
    assert first.held
    assert first.expires_at == NOW + TTL
    again = acquire(database, "alice@noc1:10", NOW + timedelta(seconds=10), TTL)
    assert again.held
    assert again.expires_at == NOW + timedelta(seconds=40)


def test_second_engine_is_told_who_holds_it(database: Database) -> None:
    acquire(database, "alice@noc1:10", NOW, TTL)
    second = acquire(database, "bob@noc2:20", NOW + timedelta(seconds=5), TTL)
    assert not second.held
    assert second.holder == "alice@noc1:10"
    assert second.expires_at == NOW + TTL


def test_expired_lease_is_taken_over(database: Database) -> None:
    acquire(database, "alice@noc1:10", NOW, TTL)
    at_expiry = acquire(database, "bob@noc2:20", NOW + TTL, TTL)
    assert at_expiry.held
    assert at_expiry.taken_over_from == "alice@noc1:10"
    # the old holder, back from a pause, is now the one refused
    old = acquire(database, "alice@noc1:10", NOW + TTL + timedelta(seconds=1), TTL)
    assert not old.held
    assert old.holder == "bob@noc2:20"
    with database.session() as session:
        kinds = [e.kind for e in events_after(session, 0)]
    assert kinds == ["lease.acquired", "lease.taken_over"]


def test_release_frees_it_only_for_its_holder(database: Database) -> None:
    acquire(database, "alice@noc1:10", NOW, TTL)
    release(database, "bob@noc2:20")
    assert not acquire(database, "bob@noc2:20", NOW, TTL).held
    release(database, "alice@noc1:10")
    assert acquire(database, "bob@noc2:20", NOW, TTL).held


def test_racing_engines_get_one_winner(database: Database) -> None:
    results: dict[str, bool] = {}

    def contend(name: str) -> None:
        results[name] = acquire(database, name, NOW, TTL).held

    threads = [threading.Thread(target=contend, args=(f"e{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()) == [False] * 5 + [True]
