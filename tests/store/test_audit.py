"""The remediation log: append-only, hash-chained, tampering detected."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DBAPIError

from patchdesk.cli import main
from patchdesk.store.db import Database
from patchdesk.store.models import RemediationRecord
from patchdesk.store.remediation_log import (
    GENESIS_HASH,
    LogEntry,
    append,
    content_hash,
    verify_chain,
)
from tests.conftest import NOW


def _entry(n: int, note: str = "") -> LogEntry:
    return LogEntry(
        at=NOW + timedelta(minutes=n),
        actor="alice",
        operator="alice",
        action="note",
        outcome="logged",
        note=note or f"record {n}",
    )


def _log(database: Database, count: int) -> None:
    for n in range(count):
        with database.writer() as session:
            append(session, _entry(n))


def _drop_guards(conn: Connection) -> None:
    """What an attacker with database access does first."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("DROP TRIGGER IF EXISTS remediation_records_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS remediation_records_no_delete"))
    else:
        conn.execute(text("ALTER TABLE remediation_records DISABLE TRIGGER USER"))


def _tamper(database: Database, sql: str) -> None:
    with database.engine.begin() as conn:
        _drop_guards(conn)
        conn.execute(text(sql))


def _verify(database: Database) -> tuple[bool, int, str | None, int | None]:
    with database.session() as session:
        report = verify_chain(session)
    return report.ok, report.count, report.problem, report.seq


def test_chain_links_each_record_to_the_one_before(database: Database) -> None:
    _log(database, 3)
    with database.session() as session:
        records = session.scalars(select(RemediationRecord).order_by(RemediationRecord.seq)).all()
    assert [r.seq for r in records] == [1, 2, 3]
    assert records[0].prev_hash == GENESIS_HASH
    assert records[1].prev_hash == records[0].hash
    assert records[2].prev_hash == records[1].hash
    assert len({r.hash for r in records}) == 3
    assert _verify(database) == (True, 3, None, None)


def test_empty_log_verifies(database: Database) -> None:
    assert _verify(database) == (True, 0, None, None)


def test_database_refuses_update_and_delete(database: Database) -> None:
    _log(database, 1)
    with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
        conn.execute(text("UPDATE remediation_records SET note = 'x'"))
    with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
        conn.execute(text("DELETE FROM remediation_records"))
    assert _verify(database)[0]


def test_altered_note_is_detected(database: Database) -> None:
    _log(database, 4)
    _tamper(database, "UPDATE remediation_records SET note = 'nothing happened' WHERE seq = 2")
    ok, count, problem, seq = _verify(database)
    assert not ok
    assert count == 1
    assert seq == 2
    assert problem == "record seq 2 was altered"


def test_altered_time_is_detected(database: Database) -> None:
    _log(database, 3)
    with database.session() as session:
        at = session.scalars(select(RemediationRecord.at).where(RemediationRecord.seq == 3)).one()
    shifted = (at - timedelta(hours=1)).replace(tzinfo=None).isoformat(sep=" ")
    _tamper(database, f"UPDATE remediation_records SET at = '{shifted}' WHERE seq = 3")
    assert _verify(database)[2] == "record seq 3 was altered"


def test_deleted_middle_record_is_detected(database: Database) -> None:
    _log(database, 5)
    _tamper(database, "DELETE FROM remediation_records WHERE seq = 3")
    ok, count, problem, seq = _verify(database)
    assert not ok
    assert (count, seq) == (2, 4)
    assert problem == "seq 3 removed (found seq 4 next)"


def test_deleted_then_renumbered_record_is_detected(database: Database) -> None:
    """Deleting a row and closing the gap in seq still breaks the hash links."""
    _log(database, 4)
    _tamper(database, "DELETE FROM remediation_records WHERE seq = 2")
    _tamper(database, "UPDATE remediation_records SET seq = seq - 1 WHERE seq > 2")
    ok, _count, problem, seq = _verify(database)
    assert not ok
    assert seq == 2
    assert problem is not None
    assert "does not follow" in problem


def test_deleted_last_record_is_detected(database: Database) -> None:
    _log(database, 3)
    _tamper(database, "DELETE FROM remediation_records WHERE seq = 3")
    ok, count, problem, _seq = _verify(database)
    assert not ok
    assert count == 2
    assert problem is not None
    assert "seq 3 was appended" in problem


def test_reordered_records_are_detected(database: Database) -> None:
    _log(database, 3)
    _tamper(
        database,
        "UPDATE remediation_records SET seq = CASE seq WHEN 1 THEN 1002 WHEN 2 THEN 1001 END "
        "WHERE seq IN (1, 2)",
    )
    _tamper(database, "UPDATE remediation_records SET seq = seq - 1000 WHERE seq > 1000")
    ok, count, _problem, seq = _verify(database)
    assert not ok
    assert (count, seq) == (0, 1)


def test_concurrent_appends_never_fork_the_chain(database: Database) -> None:
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for n in range(10):
                with database.writer() as session:
                    append(session, _entry(n, note=f"worker {worker} #{n}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _verify(database) == (True, 40, None, None)


# --- time never goes backwards -----------------------------------------------------------


def _times(database: Database) -> list[tuple[int, datetime]]:
    with database.session() as session:
        rows = session.execute(
            select(RemediationRecord.seq, RemediationRecord.at).order_by(RemediationRecord.seq)
        ).all()
    return [(seq, at) for seq, at in rows]


def test_a_record_asked_for_earlier_is_stamped_at_the_previous_instant(
    database: Database,
) -> None:
    """A technician whose host's clock is two minutes behind the last writer's: the record
    is kept (the action happened), stamped at the previous record's instant."""
    with database.writer() as session:
        first = append(session, _entry(5))
    with database.writer() as session:
        behind = append(session, _entry(3, note="from a host two minutes behind"))
    with database.writer() as session:
        later = append(session, _entry(6))
    assert behind.at == first.at == NOW + timedelta(minutes=5)
    assert later.at == NOW + timedelta(minutes=6)
    assert _times(database) == [
        (1, NOW + timedelta(minutes=5)),
        (2, NOW + timedelta(minutes=5)),
        (3, NOW + timedelta(minutes=6)),
    ]
    assert _verify(database) == (True, 3, None, None)


def test_concurrent_appends_with_skewed_clocks_never_go_backwards(database: Database) -> None:
    """Four writers whose clocks disagree by minutes, appending at once."""
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for n in range(8):
                with database.writer() as session:
                    append(session, _entry(n - 3 * worker, note=f"worker {worker} #{n}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    times = [at for _seq, at in _times(database)]
    assert len(times) == 32
    assert times == sorted(times)
    assert _verify(database) == (True, 32, None, None)


def _forge(database: Database, minutes: list[int]) -> None:
    """A log whose chain is intact but whose times go back and forth: what appends made
    before times were kept in order (or a rewrite that recomputed every hash) left."""
    prev_hash = GENESIS_HASH
    with database.engine.begin() as conn:
        for seq, n in enumerate(minutes, start=1):
            entry = _entry(n)
            digest = content_hash(seq, entry, prev_hash)
            conn.execute(
                RemediationRecord.__table__.insert().values(
                    seq=seq,
                    at=entry.at,
                    actor=entry.actor,
                    operator=entry.operator,
                    action=entry.action,
                    outcome=entry.outcome,
                    note=entry.note,
                    prev_hash=prev_hash,
                    hash=digest,
                )
            )
            prev_hash = digest


def test_verify_reports_every_record_stamped_earlier_than_the_one_before(
    database: Database,
) -> None:
    _forge(database, [0, 5, 3, 4, 9, 1])
    with database.session() as session:
        report = verify_chain(session)
    assert not report.ok
    assert not report.chain_broken
    assert (report.count, report.seq, report.earlier) == (6, 3, (3, 6))
    assert report.problem == (
        "record seq 3 is stamped 2026-11-27T14:03:00.000000+00:00, earlier than the record "
        "before it (2026-11-27T14:05:00.000000+00:00)"
    )


def test_a_log_rewritten_to_go_backwards_fails_its_mac_check(database: Database) -> None:
    """Someone moves seq 3 an hour back and recomputes the hashes from there on: the hash
    chain holds (before the key, only the time order gave it away), the MAC does not."""
    _log(database, 4)
    with database.session() as session:
        records = session.scalars(select(RemediationRecord).order_by(RemediationRecord.seq)).all()
    prev_hash = records[1].hash
    updates = []
    for record in records[2:]:
        at = record.at - timedelta(hours=1) if record.seq == 3 else record.at
        entry = LogEntry(
            at=at,
            actor=record.actor,
            operator=record.operator,
            action=record.action,
            outcome=record.outcome,
            note=record.note,
        )
        digest = content_hash(record.seq, entry, prev_hash)
        updates.append((record.seq, at, prev_hash, digest))
        prev_hash = digest
    with database.engine.begin() as conn:
        _drop_guards(conn)
        for seq, at, prev, digest in updates:
            conn.execute(
                RemediationRecord.__table__.update()
                .where(RemediationRecord.__table__.c.seq == seq)
                .values(at=at, prev_hash=prev, hash=digest)
            )
    ok, count, problem, seq = _verify(database)
    assert not ok
    assert (count, seq) == (2, 3)
    assert problem is not None
    assert problem.startswith("record seq 3 fails its MAC check")


def test_a_break_in_the_chain_comes_first_with_the_earlier_records_before_it(
    database: Database,
) -> None:
    _forge(database, [0, 5, 3, 4, 9, 1])
    _tamper(database, "UPDATE remediation_records SET note = 'nothing happened' WHERE seq = 5")
    with database.session() as session:
        report = verify_chain(session)
    assert report.chain_broken
    assert (report.count, report.seq, report.earlier) == (4, 5, (3,))
    assert report.problem == "record seq 5 was altered"


def test_cli_verify_names_records_stamped_earlier(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _forge(database, [0, 5, 3, 4, 9, 1])
    with pytest.raises(SystemExit) as text_run:
        main(["--db", database.url, "audit", "verify"])
    assert text_run.value.code == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(
        "remediation log out of time order (6 records, chain intact): record seq 3 is stamped"
    )
    assert err[1] == "records stamped earlier than the record before them: seq 3, 6"
    with pytest.raises(SystemExit) as json_run:
        main(["--db", database.url, "audit", "verify", "--json"])
    assert json_run.value.code == 1
    document = json.loads(capsys.readouterr().out)
    assert (document["ok"], document["seq"], document["stamped_earlier"]) == (False, 3, [3, 6])


def test_cli_verify_exit_codes(
    database: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _log(database, 3)
    with pytest.raises(SystemExit) as ok:
        main(["--db", database.url, "audit", "verify"])
    assert ok.value.code == 0
    assert "3 records verified" in capsys.readouterr().out

    _tamper(database, "UPDATE remediation_records SET outcome = 'fixed' WHERE seq = 2")
    with pytest.raises(SystemExit) as broken:
        main(["--db", database.url, "audit", "verify"])
    assert broken.value.code == 1
    err = capsys.readouterr().err
    assert "record seq 2 was altered" in err
    assert "Traceback" not in err
