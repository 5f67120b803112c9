"""The keyed remediation log: MACs under a key kept outside the database, the migration of a
log written before (0008), a wrong or missing key told plainly, and anchors.

The attacker here can write the database (drops the guards, rewrites the whole table and
the ``remediation.logged`` events with every hash recomputed); without the key file the MACs
give them away, and an anchor exported before a rewrite gives away even a holder of the key.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, inspect, select, text
from sqlalchemy.exc import DBAPIError

from patchdesk.cli import main
from patchdesk.store import log_keying
from patchdesk.store.anchors import head_anchor
from patchdesk.store.db import Database, make_engine, open_database
from patchdesk.store.log_key import AuditKey, create_key_file, read_key_file
from patchdesk.store.migrate import alembic_config
from patchdesk.store.models import AuditLogKey, Event, RemediationRecord
from patchdesk.store.remediation_log import (
    EVENT_KIND,
    GENESIS_HASH,
    GENESIS_MAC,
    KEYED_ACTION,
    AuditKeyError,
    LogEntry,
    LogNotKeyable,
    append,
    content_hash,
    key_log,
    log_key,
    record_mac,
    verify_chain,
)
from tests.conftest import NOW

RECORDS = RemediationRecord.__table__


def _entry(n: int, note: str = "", operator: str = "alice") -> LogEntry:
    return LogEntry(
        at=NOW + timedelta(minutes=n),
        actor=operator,
        operator=operator,
        action="note",
        outcome="logged",
        note=note or f"record {n}",
    )


def _log(database: Database, count: int, first: int = 0) -> None:
    for n in range(first, first + count):
        with database.writer() as session:
            append(session, _entry(n))


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


def _records(database: Database) -> list[RemediationRecord]:
    with database.session() as session:
        return list(
            session.scalars(select(RemediationRecord).order_by(RemediationRecord.seq)).all()
        )


def _key_of(database: Database) -> AuditKey:
    key = read_key_file(database.keyring.path)
    assert key is not None
    return key


# --- what an attacker who can write the database does -----------------------------------


def _drop_guards(conn: Connection, *, keyed: bool = True) -> None:
    """``keyed``: the schema has the key's table (0008)."""
    if conn.dialect.name == "sqlite":
        for trigger in (
            "remediation_records_no_update",
            "remediation_records_no_delete",
            "audit_log_key_no_update",
            "audit_log_key_no_delete",
        ):
            conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
    else:
        conn.execute(text("ALTER TABLE remediation_records DISABLE TRIGGER USER"))
        if keyed:
            conn.execute(text("ALTER TABLE audit_log_key DISABLE TRIGGER USER"))


def _entry_of(record: RemediationRecord) -> LogEntry:
    return LogEntry(
        at=record.at,
        actor=record.actor,
        operator=record.operator,
        action=record.action,
        outcome=record.outcome,
        note=record.note,
        client_id=record.client_id,
        exception_id=record.exception_id,
        device_id=record.device_id,
    )


MacMode = str  # "keep": the MAC column as it was; "null": emptied; "key": recomputed


def _rewrite(
    database: Database,
    change: Callable[[int, LogEntry], LogEntry],
    *,
    macs: MacMode = "keep",
    key: AuditKey | None = None,
    forget_key: bool = False,
) -> None:
    """Rewrite the whole table (every record deleted and written again, hashes recomputed
    from seq 1) and the ``remediation.logged`` events; with ``key``: the MACs too."""
    records = _records(database)
    rows = []
    events = []
    prev_hash, prev_mac = GENESIS_HASH, GENESIS_MAC
    for record in records:
        entry = change(record.seq, _entry_of(record))
        digest = content_hash(record.seq, entry, prev_hash)
        if macs == "key":
            assert key is not None
            mac: str | None = record_mac(key, record.seq, digest, prev_mac)
        else:
            mac = record.mac if macs == "keep" else None
        rows.append(
            {
                "id": record.id,
                "seq": record.seq,
                "at": entry.at,
                "actor": entry.actor,
                "operator": entry.operator,
                "client_id": entry.client_id,
                "exception_id": entry.exception_id,
                "device_id": entry.device_id,
                "action": entry.action,
                "outcome": entry.outcome,
                "note": entry.note,
                "prev_hash": prev_hash,
                "hash": digest,
                "mac": mac,
            }
        )
        events.append(
            {
                "at": entry.at,
                "kind": EVENT_KIND,
                "entity": "remediation",
                "entity_id": str(record.id),
                "client_id": entry.client_id,
                "payload": {"seq": record.seq, "hash": digest, "exception_id": None},
            }
        )
        prev_hash, prev_mac = digest, mac or GENESIS_MAC
    with database.engine.begin() as conn:
        _drop_guards(conn)
        conn.execute(RECORDS.delete())
        conn.execute(Event.__table__.delete().where(Event.kind == EVENT_KIND))
        conn.execute(RECORDS.insert(), rows)
        conn.execute(Event.__table__.insert(), events)
        if forget_key:
            conn.execute(AuditLogKey.__table__.delete())


def _renote(seq: int) -> Callable[[int, LogEntry], LogEntry]:
    def change(at_seq: int, entry: LogEntry) -> LogEntry:
        return replace(entry, note="nothing happened") if at_seq == seq else entry

    return change


# --- a keyed log -------------------------------------------------------------------------


def test_every_record_carries_a_mac_chained_over_the_ones_before(database: Database) -> None:
    _log(database, 3)
    key = _key_of(database)
    records = _records(database)
    prev_mac = GENESIS_MAC
    for record in records:
        assert record.mac == record_mac(key, record.seq, record.hash, prev_mac)
        prev_mac = record.mac
    with database.session() as session:
        report = verify_chain(session)
        keying = log_key(session)
    assert keying is not None
    assert (keying.fingerprint, keying.records_keyed, keying.actor) == (
        key.fingerprint,
        0,
        "engine",
    )
    assert report.ok
    assert report.keying == keying
    assert report.count == 3


def test_the_key_is_never_in_the_database(database: Database) -> None:
    _log(database, 2)
    secret = _key_of(database).secret.hex()
    with database.engine.connect() as conn:
        for table in ("remediation_records", "audit_log_key", "events"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                assert secret not in repr(tuple(row))


def test_a_whole_table_rewritten_with_recomputed_hashes_fails_its_mac_check(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """Records and events rewritten from seq 1, every SHA-256 recomputed: the hash chain is
    flawless, and without the key the MACs cannot follow (before 0008 this passed)."""
    _log(database, 5)
    _rewrite(database, _renote(3))
    with database.session() as session:
        report = verify_chain(session)
    assert not report.ok
    assert report.chain_broken
    assert (report.count, report.seq) == (2, 3)
    assert report.problem == (
        "record seq 3 fails its MAC check: it was rewritten (hashes recomputed by someone "
        "without the key)"
    )
    assert _run(["--db", database.url, "audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "remediation log BROKEN after 2 good records: record seq 3 fails its MAC" in err


def test_a_rewrite_that_also_removes_the_keying_is_not_intact(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """MACs emptied and the fingerprint deleted: the log passes for one never keyed, which
    audit verify does not call intact."""
    _log(database, 4)
    _rewrite(database, _renote(2), macs="null", forget_key=True)
    assert _run(["--db", database.url, "audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "remediation log not keyed: its 4 records carry no MAC" in err
    assert _run(["--db", database.url, "audit", "verify", "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert (document["ok"], document["keyed"]) == (False, False)


def test_a_rewrite_keyed_with_another_key_is_told_as_another_key(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _log(database, 3)
    theirs, _created = create_key_file(tmp_path / "theirs.key")
    _rewrite(database, _renote(2), macs="key", key=theirs, forget_key=True)
    with database.engine.begin() as conn:
        conn.execute(
            AuditLogKey.__table__.insert().values(
                id=1,
                fingerprint=theirs.fingerprint,
                keyed_at=NOW,
                actor="engine",
                operator="mallory",
                records_keyed=0,
            )
        )
    assert _run(["--db", database.url, "audit", "verify"]) == 2
    err = capsys.readouterr().err
    assert f"this log is keyed with key {theirs.fingerprint}" in err
    assert "BROKEN" not in err


# --- wrong or missing key ----------------------------------------------------------------


def test_a_wrong_key_is_told_plainly_and_appends_are_refused(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _log(database, 2)
    ours = _key_of(database)
    other_path = tmp_path / "other.key"
    other, _created = create_key_file(other_path)
    elsewhere = open_database(database.url, audit_key_file=other_path)
    try:
        with elsewhere.session() as session:
            report = verify_chain(session)
        expected = (
            f"this log is keyed with key {ours.fingerprint}; the key file {other_path} holds "
            f"another (key {other.fingerprint})"
        )
        assert report.key_problem == expected
        assert not report.ok
        assert not report.chain_broken
        with pytest.raises(AuditKeyError, match="holds another"), elsewhere.writer() as session:
            append(session, _entry(9))
    finally:
        elsewhere.dispose()
    assert len(_records(database)) == 2
    env = {"PATCHDESK_AUDIT_KEY_FILE": str(other_path)}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        assert _run(["--db", database.url, "audit", "verify"]) == 2
        err = capsys.readouterr().err
        assert err == f"remediation log not verified: {expected}\n"
        assert _run(["--db", database.url, "audit", "verify", "--json"]) == 2
        document = json.loads(capsys.readouterr().out)
        assert document["key_problem"] == expected
        assert document["key_fingerprint"] == ours.fingerprint


def test_a_missing_key_file_is_told_plainly_and_never_made_anew(
    database: Database, tmp_path: Path
) -> None:
    _log(database, 2)
    ours = _key_of(database)
    missing = tmp_path / "nowhere" / "audit.key"
    elsewhere = open_database(database.url, audit_key_file=missing)
    try:
        with elsewhere.session() as session:
            report = verify_chain(session)
        assert report.key_problem == (
            f"this log is keyed with key {ours.fingerprint}; the key file {missing} is "
            "missing (copy it from a host that writes this log)"
        )
        with pytest.raises(AuditKeyError, match="is missing"), elsewhere.writer() as session:
            append(session, _entry(9))
    finally:
        elsewhere.dispose()
    assert not missing.exists()
    assert not missing.parent.exists()
    assert len(_records(database)) == 2


def test_a_cli_write_with_the_wrong_key_exits_2_in_one_line(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _log(database, 1)
    other_path = tmp_path / "other.key"
    create_key_file(other_path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATCHDESK_AUDIT_KEY_FILE", str(other_path))
        code = _run(["--db", database.url, "--operator", "alice", "audit", "rekey"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("patchdesk: this log is keyed with key ")


# --- the append-only guards --------------------------------------------------------------


def test_the_guards_refuse_every_change_to_a_keyed_log(database: Database) -> None:
    _log(database, 2)
    refused = [
        "UPDATE remediation_records SET note = 'x' WHERE seq = 1",
        "UPDATE remediation_records SET mac = NULL WHERE seq = 1",
        "UPDATE remediation_records SET mac = 'f00d' WHERE seq = 1",
        "DELETE FROM remediation_records WHERE seq = 2",
        "UPDATE audit_log_key SET fingerprint = '0000000000000000'",
        "DELETE FROM audit_log_key",
    ]
    for sql in refused:
        with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
            conn.execute(text(sql))
    with database.session() as session:
        assert verify_chain(session).ok


def test_the_guards_let_only_a_missing_mac_be_filled(database_url: str) -> None:
    engine = _legacy_database(database_url, 2)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE remediation_records SET mac = 'ab' WHERE seq = 1"))
        for sql in (
            "UPDATE remediation_records SET mac = 'cd' WHERE seq = 1",  # has one now
            "UPDATE remediation_records SET mac = 'cd', note = 'x' WHERE seq = 2",
            "UPDATE remediation_records SET note = 'x' WHERE seq = 2",
        ):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(sql))
    finally:
        engine.dispose()


# --- a log written before the key: the migration -----------------------------------------


def _upgrade_to(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _legacy_database(url: str, count: int, *, altered: int | None = None) -> Engine:
    """A database migrated up to 0006 (before the key) with ``count`` records appended as
    patchdesk then did (hash chain and events), then to the newest schema; ``altered``:
    that record's note changed afterwards (a broken chain)."""
    engine = make_engine(url)
    _upgrade_to(engine, "0006")
    prev_hash = GENESIS_HASH
    with engine.begin() as conn:
        for seq in range(1, count + 1):
            entry = _entry(seq, operator="bob")
            digest = content_hash(seq, entry, prev_hash)
            conn.execute(  # (0006's columns: no mac)
                RECORDS.insert().values(
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
            conn.execute(
                Event.__table__.insert().values(
                    at=entry.at,
                    kind=EVENT_KIND,
                    entity="remediation",
                    entity_id=str(seq),
                    payload={"seq": seq, "hash": digest, "exception_id": None},
                )
            )
            prev_hash = digest
        if altered is not None:
            _drop_guards(conn, keyed=False)
            conn.execute(
                text("UPDATE remediation_records SET note = 'changed' WHERE seq = :seq"),
                {"seq": altered},
            )
    if altered is not None and engine.dialect.name == "sqlite":
        with engine.begin() as conn:  # the guards as 0001 made them, for 0008 to replace
            for verb in ("UPDATE", "DELETE"):
                conn.execute(
                    text(
                        f"CREATE TRIGGER remediation_records_no_{verb.lower()} BEFORE {verb} "
                        "ON remediation_records BEGIN SELECT RAISE(ABORT, "
                        "'remediation log is append-only'); END"
                    )
                )
    elif altered is not None:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE remediation_records ENABLE TRIGGER USER"))
    _upgrade_to(engine, "head")
    return engine


def test_0008_downgrades_with_the_guards_intact_and_upgrades_again(
    database_url: str, tmp_path: Path
) -> None:
    engine = _legacy_database(database_url, 2)
    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0008-1")
        inspector = inspect(engine)
        assert "audit_log_key" not in inspector.get_table_names()
        assert "mac" not in {c["name"] for c in inspector.get_columns("remediation_records")}
        for sql in (
            "UPDATE remediation_records SET note = 'x' WHERE seq = 1",
            "DELETE FROM remediation_records",
        ):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(sql))
        _upgrade_to(engine, "head")
    finally:
        engine.dispose()
    # a host with no key file yet: the append keys the log (see test_a_log_without_macs_...)
    database = open_database(database_url, audit_key_file=tmp_path / "audit.key")
    try:
        _log(database, 1, first=10)
        with database.session() as session:
            assert verify_chain(session).ok
    finally:
        database.dispose()


@pytest.fixture
def legacy(database_url: str) -> Iterator[Database]:
    """A log of 4 records written before 0008, on the newest schema, not keyed yet."""
    _legacy_database(database_url, 4).dispose()
    database = open_database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def upgraded(database_url: str, tmp_path: Path) -> Iterator[Database]:
    """``legacy`` on a host with no key file yet: the first keyed use, after an upgrade."""
    _legacy_database(database_url, 4).dispose()
    database = open_database(database_url, audit_key_file=tmp_path / "state" / "audit.key")
    yield database
    database.dispose()


def test_a_migrated_log_is_not_keyed_until_its_first_append(legacy: Database) -> None:
    records = _records(legacy)
    assert [r.mac for r in records] == [None] * 4
    with legacy.session() as session:
        report = verify_chain(session)
        assert log_key(session) is None
    assert not report.ok
    assert not report.chain_broken
    assert report.unkeyed
    assert report.count == 4


def test_the_first_append_keys_a_migrated_log_verified_and_logged(
    upgraded: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy = upgraded
    assert not legacy.keyring.path.exists()
    monkeypatch.setattr(log_keying, "_KEYING_PAGE", 3)  # 4 records: two pages
    with legacy.writer() as session:
        appended = append(session, _entry(30, operator="carol"))
    key = _key_of(legacy)
    records = _records(legacy)
    assert [r.seq for r in records] == [1, 2, 3, 4, 5, 6]
    keyed = records[4]
    assert (keyed.action, keyed.actor, keyed.operator) == (KEYED_ACTION, "engine", "carol")
    assert keyed.note == (
        f"remediation log keyed with key {key.fingerprint}: its 4 records (seq 1-4) verified "
        "and given their MACs"
    )
    assert appended.seq == 6
    assert all(r.mac for r in records)
    with legacy.session() as session:
        report = verify_chain(session)
        keying = log_key(session)
    assert report.ok, report
    assert report.count == 6
    assert keying is not None
    assert (keying.fingerprint, keying.records_keyed, keying.operator) == (
        key.fingerprint,
        4,
        "carol",
    )


def test_audit_rekey_keys_a_migrated_log_under_the_operators_name(
    legacy: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["--db", legacy.url, "--operator", "dana", "audit", "rekey"]) == 0
    key = _key_of(legacy)
    out = capsys.readouterr().out
    assert out.startswith(f"remediation log keyed with key {key.fingerprint} (key file ")
    assert "4 records verified and given their MACs, logged as dana" in out
    keyed = _records(legacy)[-1]
    assert (keyed.seq, keyed.action, keyed.actor, keyed.operator) == (
        5,
        KEYED_ACTION,
        "dana",
        "dana",
    )
    assert _run(["--db", legacy.url, "--operator", "dana", "audit", "rekey"]) == 0
    assert "already keyed with key" in capsys.readouterr().out
    assert len(_records(legacy)) == 5
    assert _run(["--db", legacy.url, "audit", "verify"]) == 0
    assert f"5 records verified (key {key.fingerprint})" in capsys.readouterr().out


def test_a_log_without_macs_is_not_keyed_by_an_append_where_the_key_file_exists(
    legacy: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key file already there and records without MACs or fingerprint: an old log, or a
    keyed one whose MACs and fingerprint were stripped after a rewrite. An append must not
    bless it; it goes on unkeyed and verify keeps saying so until a person runs rekey."""
    assert legacy.keyring.path.exists()
    with legacy.writer() as session:
        appended = append(session, _entry(30, operator="carol"))
    assert appended.mac is None
    assert [r.action for r in _records(legacy)].count(KEYED_ACTION) == 0
    with legacy.session() as session:
        assert log_key(session) is None
        assert verify_chain(session).unkeyed
    assert _run(["--db", legacy.url, "audit", "verify"]) == 1
    assert "not keyed" in capsys.readouterr().err
    assert _run(["--db", legacy.url, "--operator", "dana", "audit", "rekey"]) == 0
    capsys.readouterr()
    assert _run(["--db", legacy.url, "audit", "verify"]) == 0


def test_a_stripped_rewrite_is_not_re_keyed_by_the_next_append(database: Database) -> None:
    """Rewritten with recomputed hashes, MACs emptied, fingerprint deleted: the engine's
    next append leaves it unkeyed (verify fails) instead of keying the forgery."""
    _log(database, 4)
    _rewrite(database, _renote(2), macs="null", forget_key=True)
    reopened = open_database(database.url, audit_key_file=database.keyring.path)
    try:
        with reopened.writer() as session:
            append(session, _entry(30))
        with reopened.session() as session:
            report = verify_chain(session)
        assert not report.ok
        assert report.unkeyed
    finally:
        reopened.dispose()


def test_a_broken_legacy_chain_is_refused_not_keyed(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _legacy_database(database_url, 4, altered=2).dispose()
    assert _run(["--db", database_url, "--operator", "dana", "audit", "rekey"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "patchdesk: the remediation log cannot be keyed: its hash chain is broken: record "
        "seq 2 was altered\n"
    )
    database = open_database(database_url)
    try:
        with database.session() as session:
            assert log_key(session) is None
        with database.writer() as session:  # appends go on, unkeyed, as before 0008
            appended = append(session, _entry(30))
        assert appended.mac is None
        assert [r.mac for r in _records(database)] == [None] * 5
        with database.session() as session:
            report = verify_chain(session)
            with pytest.raises(LogNotKeyable):
                key_log(session, operator="dana", at=NOW)
        assert report.chain_broken
        assert report.problem == "record seq 2 was altered"
    finally:
        database.dispose()


def test_concurrent_first_appends_key_a_migrated_log_once(upgraded: Database) -> None:
    legacy = upgraded
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for n in range(5):
                with legacy.writer() as session:
                    append(session, _entry(40 + n, note=f"worker {worker} #{n}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    records = _records(legacy)
    assert [r.action for r in records].count(KEYED_ACTION) == 1
    assert len(records) == 4 + 1 + 15
    with legacy.session() as session:
        assert verify_chain(session).ok


# --- anchors -----------------------------------------------------------------------------


def _anchor(database: Database, path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["--db", database.url, "audit", "anchor", "--append", str(path)]) == 0
    capsys.readouterr()


def test_an_anchor_is_the_heads_seq_time_and_mac(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _log(database, 3)
    head = _records(database)[-1]
    assert _run(["--db", database.url, "audit", "anchor"]) == 0
    line = capsys.readouterr().out.strip()
    assert line == f"patchdesk-anchor seq=3 at=2026-11-27T14:02:00.000000Z mac={head.mac}"
    assert _run(["--db", database.url, "audit", "anchor", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["anchor"] == line
    assert (document["seq"], document["mac"]) == (3, head.mac)
    assert document["key_fingerprint"] == _key_of(database).fingerprint


def test_anchor_append_creates_a_0600_file_and_adds_a_line_each_time(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchors = tmp_path / "anchors.txt"
    _log(database, 2)
    assert _run(["--db", database.url, "audit", "anchor", "--append", str(anchors)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"patchdesk: anchor seq 2 appended to {anchors}\n"
    assert anchors.stat().st_mode & 0o777 == 0o600
    anchors.write_text(anchors.read_text() + "# a comment without a newline")
    _log(database, 1, first=5)
    _anchor(database, anchors, capsys)
    lines = anchors.read_text().splitlines()
    assert [line.split()[1] for line in lines if line.startswith("patchdesk-anchor")] == [
        "seq=2",
        "seq=3",
    ]
    assert _run(["--db", database.url, "audit", "verify", "--anchors", str(anchors)]) == 0
    assert f"2 anchors in {anchors} match the log" in capsys.readouterr().out


def test_anchors_catch_a_whole_table_rewrite(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchors = tmp_path / "anchors.txt"
    _log(database, 3)
    _anchor(database, anchors, capsys)
    _log(database, 2, first=3)
    _anchor(database, anchors, capsys)
    _rewrite(database, _renote(2), macs="null", forget_key=True)
    argv = ["--db", database.url, "audit", "verify", "--anchors", str(anchors)]
    assert _run(argv) == 1
    err = capsys.readouterr().err.splitlines()
    assert f"{anchors}:1: seq 3 carries no MAC in the log: it was rewritten" in err
    assert f"{anchors}:2: seq 5 carries no MAC in the log: it was rewritten" in err
    assert err[-1] == f"2 of 2 anchors in {anchors} no longer match the log"


def test_an_anchor_exported_before_catches_a_rewrite_by_a_key_holder(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Someone with the key file rewrites seq 3 and recomputes every hash and MAC: the log
    verifies, but not against the anchor taken at seq 5 (what it says was changed before)."""
    anchors = tmp_path / "anchors.txt"
    _log(database, 5)
    _anchor(database, anchors, capsys)
    _log(database, 3, first=5)
    key = _key_of(database)
    _rewrite(database, _renote(3), macs="key", key=key)
    with database.session() as session:
        assert verify_chain(session).ok  # the key makes a perfect forgery ...
    argv = ["--db", database.url, "audit", "verify", "--anchors", str(anchors), "--json"]
    assert _run(argv) == 1  # ... that the anchor gives away
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False
    assert document["anchors"]["mismatched"] == [
        {
            "line": 1,
            "seq": 5,
            "problem": "seq 5: the log's MAC differs from the anchor's: the log was rewritten "
            "at or before seq 5",
        }
    ]


def test_a_key_holders_rewrite_after_the_last_anchor_is_beyond_it(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What anchors bound: records after the last anchor can still be rewritten by someone
    who holds the key (the next anchor, or the events feed, is what shows it)."""
    anchors = tmp_path / "anchors.txt"
    _log(database, 3)
    _anchor(database, anchors, capsys)
    _log(database, 2, first=3)
    _rewrite(database, _renote(5), macs="key", key=_key_of(database))
    assert _run(["--db", database.url, "audit", "verify", "--anchors", str(anchors)]) == 0


def test_anchors_name_a_log_cut_back_below_them(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchors = tmp_path / "anchors.txt"
    _log(database, 4)
    _anchor(database, anchors, capsys)
    with database.engine.begin() as conn:
        _drop_guards(conn)
        conn.execute(RECORDS.delete().where(RECORDS.c.seq > 2))
        conn.execute(Event.__table__.delete().where(Event.kind == EVENT_KIND))
    assert _run(["--db", database.url, "audit", "verify", "--anchors", str(anchors)]) == 1
    err = capsys.readouterr().err
    assert f"{anchors}:1: seq 4 is missing from the log (it ends at seq 2)" in err


def test_a_saved_handover_is_an_anchor_file(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _log(database, 3)
    for fmt in ("md", "json"):
        saved = tmp_path / f"handover.{fmt}"
        assert _run(["--db", database.url, "handover", "--format", fmt]) == 0
        saved.write_text(capsys.readouterr().out)
        assert _run(["--db", database.url, "audit", "verify", "--anchors", str(saved)]) == 0
        assert f"1 anchor in {saved} matches the log" in capsys.readouterr().out
    _rewrite(database, _renote(1), macs="key", key=_key_of(database))
    assert _run(["--db", database.url, "audit", "verify", "--anchors", str(saved)]) == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "patchdesk-anchor seq=3 at=2026-11-27T14:02:00Z mac=xyz\n",
            "{path}:1: not an anchor: expected patchdesk-anchor seq=N at=TIME mac=64 hex digits",
        ),
        (
            "# anchors\n\npatchdesk-anchor seq=3 at=yesterday mac=" + "a" * 64 + "\n",
            "{path}:3: not an anchor: at=yesterday is not an ISO time",
        ),
        (
            "patchdesk-anchor seq=3 at=2026-11-27T14:02:00 mac=" + "a" * 64 + "\n",
            "{path}:1: not an anchor: at=2026-11-27T14:02:00 has no UTC offset",
        ),
        ("just some notes\n", "{path}: no anchors in the file"),
    ],
)
def test_a_malformed_anchor_file_exits_2_naming_the_line(
    database: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    expected: str,
) -> None:
    _log(database, 1)
    path = tmp_path / "anchors.txt"
    path.write_text(content)
    assert _run(["--db", database.url, "audit", "verify", "--anchors", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(expected.format(path=path))
    assert captured.out == ""


def test_a_missing_anchor_file_exits_2(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nope.txt"
    assert _run(["--db", database.url, "audit", "verify", "--anchors", str(path)]) == 2
    assert capsys.readouterr().err == f"patchdesk: --anchors: no anchor file at {path}\n"


def test_there_is_no_anchor_of_an_empty_log(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["--db", database.url, "audit", "anchor"]) == 1
    assert "no keyed record to anchor" in capsys.readouterr().err
    with database.session() as session:
        assert head_anchor(session) is None


# --- the webhook -------------------------------------------------------------------------


class _Posts:
    """httpx.post, recorded: what was posted, and whether a database connection was held."""

    def __init__(self, response: Callable[[Any], Any]) -> None:
        self.calls: list[tuple[str, Any, float]] = []
        self.response = response
        self.databases: list[Database] = []

    def post(self, url: Any, *, json: Any, timeout: float) -> Any:
        for database in self.databases:  # no connection (so no transaction) is held
            assert database.engine.pool.checkedout() == 0
        self.calls.append((str(url), json, timeout))
        return self.response(url)


@pytest.fixture
def posts(monkeypatch: pytest.MonkeyPatch) -> _Posts:
    import httpx

    from patchdesk.cli import audit as audit_command
    from patchdesk.cli import context

    recorder = _Posts(lambda url: httpx.Response(204, request=httpx.Request("POST", url)))
    opened = context.open_database

    def opening(*args: Any, **kwargs: Any) -> Database:
        db = opened(*args, **kwargs)
        recorder.databases.append(db)
        return db

    monkeypatch.setattr(context, "open_database", opening)
    monkeypatch.setattr(audit_command.httpx, "post", recorder.post)
    return recorder


def test_anchor_webhook_posts_the_anchor_as_json_with_no_transaction_open(
    database: Database, posts: _Posts, capsys: pytest.CaptureFixture[str]
) -> None:
    _log(database, 2)
    url = "https://hooks.example/anchor?team=noc"
    assert _run(["--db", database.url, "audit", "anchor", "--webhook", url]) == 0
    captured = capsys.readouterr()
    line = captured.out.strip()
    assert captured.err == f"patchdesk: anchor seq 2 posted to {url}\n"
    ((posted_to, document, timeout),) = posts.calls
    assert posted_to == url
    assert timeout > 0
    assert document["anchor"] == line
    assert document["seq"] == 2
    assert posts.databases


def test_a_failed_webhook_exits_1_naming_the_url(
    database: Database, posts: _Posts, capsys: pytest.CaptureFixture[str]
) -> None:
    import httpx

    _log(database, 1)
    posts.response = lambda url: httpx.Response(503, request=httpx.Request("POST", url))
    url = "https://user:secret@hooks.example/anchor"
    assert _run(["--db", database.url, "audit", "anchor", "--webhook", url]) == 1
    err = capsys.readouterr().err
    assert (
        err == "patchdesk: anchor not posted to https://user:***@hooks.example/anchor: HTTP 503\n"
    )


def test_an_unreachable_webhook_exits_1_naming_the_url(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real POST to a closed port on this host."""
    import socket

    _log(database, 1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/anchor"
    assert _run(["--db", database.url, "audit", "anchor", "--webhook", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"patchdesk: anchor not posted to {url}: ")


@pytest.mark.parametrize("url", ["ftp://hooks.example/x", "hooks.example/anchor", "http://"])
def test_a_webhook_that_is_no_http_url_exits_2(
    database: Database, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    _log(database, 1)
    assert _run(["--db", database.url, "audit", "anchor", "--webhook", url]) == 2
    assert "is not an http(s) URL" in capsys.readouterr().err


# --- the engine and the UI do not start on a log they could not write -------------------


@pytest.mark.parametrize("argv", [["engine", "--once"], []], ids=["engine", "tui"])
def test_the_engine_and_the_ui_refuse_a_log_keyed_with_another_key(
    database: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    from patchdesk.app import PatchdeskApp

    def no_ui(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the UI was started")

    monkeypatch.setattr(PatchdeskApp, "run", no_ui)
    _log(database, 1)
    ours = _key_of(database)
    other_path = tmp_path / "other.key"
    create_key_file(other_path)
    monkeypatch.setenv("PATCHDESK_AUDIT_KEY_FILE", str(other_path))
    code = _run(["--db", database.url, "--operator", "alice", *argv])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"patchdesk: this log is keyed with key {ours.fingerprint}; ")
    assert len(_records(database)) == 1
