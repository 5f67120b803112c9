"""The remediation log: append-only, hash-chained and keyed (the README's "The remediation log").

Every record carries ``seq`` (1, 2, 3 ...), the previous record's hash, its own hash over
its content and that previous hash, and a MAC: an HMAC-SHA256 over its hash and the previous
record's MAC, keyed with a secret kept outside the database (``patchdesk.store.log_key``).
Nothing in patchdesk updates or deletes a record, and the database refuses it too (triggers
in the initial migration; since 0008 they let one update through, filling the MAC of a
record that has none). ``verify_chain`` walks the chain and names the first record that was
altered, removed or reordered; each append also writes a ``remediation.logged`` event with
its seq and hash, which lets ``verify_chain`` notice a removed tail that the chain alone
cannot show.

The hashes alone prove nothing to someone who can write the database: they can rewrite every
record and recompute every hash. The MACs cannot be recomputed without the key file, and
anchors (``patchdesk.store.anchors``) exported outside patchdesk bound what even a holder of
the key can rewrite.

Keying. The database keeps the key's fingerprint (``audit_log_key``, insert-only), never
the key. A log is keyed at its first append when it is empty, or when the key file did not
exist yet when the database was opened (the first keyed use on this host: an upgrade); a log
that holds records without a fingerprint while the key file already existed is keyed only
by ``key_log``, which ``patchdesk audit rekey`` runs under a person's name (it may be a log
whose MACs and fingerprint were stripped: keying it automatically would bless the rewrite).
Either way its hash chain is verified first, and a broken chain is not
keyed (appends then go on unkeyed, as before, and ``verify_chain`` keeps reporting the
break); otherwise every record gets its MAC, in order, in the append's transaction, the
fingerprint is stored, and a record ``audit.keyed`` says so, by whom (actor ``engine`` for
the automatic keying, with the operator whose append did it). The key file is created then
when there is none. A log keyed with another key than the key file's, or whose key file is
missing, is never keyed again: appends are refused (``AuditKeyError``) rather than fork the
chain under a second key.

Time never goes backwards in the log: a record is stamped no earlier than the record before
it. Appends are serialised (see ``append``), so the order of ``seq`` is
the order in which the actions were recorded; when the caller's clock says an earlier
instant than the head's (two technicians on hosts whose clocks differ by a few seconds, a UI
that follows a simulated clock one engine step behind the demo's), the record is stamped at
the head's instant instead. It is not refused: the action did happen, after the record
before it, and refusing would lose it (or an engine step) over clock skew. ``verify_chain``
reports every record stamped earlier than the one before it (a log written before this
rule, or rewritten by someone who recomputed the hashes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Generator, Iterable
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from patchdesk.store.events import record_event
from patchdesk.store.log_key import AuditKey, AuditKeyError, Keyring, keyring_of
from patchdesk.store.models import AuditLogKey, Event, RemediationRecord

__all__ = [
    "EVENT_KIND",
    "GENESIS_HASH",
    "GENESIS_MAC",
    "KEYED_ACTION",
    "AuditKeyError",
    "ChainReport",
    "Keying",
    "LogEntry",
    "LogNotKeyable",
    "append",
    "content_hash",
    "key_log",
    "key_problem",
    "log_key",
    "record_mac",
    "stamp",
    "verify_chain",
]

_log = logging.getLogger(__name__)
_records = cast(Table, RemediationRecord.__table__)
_key_table = cast(Table, AuditLogKey.__table__)
_INSERT = insert(_records).returning(_records.c.id)
_SET_MAC = (
    update(_records)
    .where(_records.c.id == bindparam("record_id"))
    .values(mac=bindparam("record_mac"))
)
GENESIS_HASH = "0" * 64
GENESIS_MAC = "0" * 64
EVENT_KIND = "remediation.logged"
KEYED_ACTION = "audit.keyed"
ENGINE_ACTOR = "engine"
# Serialises appends on PostgreSQL; on SQLite the caller's Database.writer() session does.
_PG_AUDIT_LOCK = 0x4155_4454
# Session.info: the transaction in which this session keyed the log (its fingerprint row is
# not committed yet, so it does not confirm the key for later appends).
_KEYED_IN = "patchdesk.audit_keyed_in"
_KEYING_PAGE = 1000


class LogNotKeyable(Exception):
    """The log's hash chain is broken: it is not keyed (``str()`` says where, for a person)."""


@dataclass(frozen=True)
class LogEntry:
    """What a caller logs. ``actor`` did it (a person, or ``engine``); ``operator`` asked."""

    at: datetime
    actor: str
    operator: str
    action: str
    outcome: str
    note: str = ""
    client_id: str | None = None
    exception_id: int | None = None
    device_id: int | None = None


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def content_hash(seq: int, entry: LogEntry, prev_hash: str) -> str:
    """SHA-256 over a canonical JSON of the record's content and the previous hash."""
    document = {
        "seq": seq,
        "at": _iso(entry.at),
        "actor": entry.actor,
        "operator": entry.operator,
        "action": entry.action,
        "outcome": entry.outcome,
        "note": entry.note,
        "client_id": entry.client_id,
        "exception_id": entry.exception_id,
        "device_id": entry.device_id,
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record_mac(key: AuditKey, seq: int, record_hash: str, prev_mac: str) -> str:
    """HMAC-SHA256 of a record: its seq and hash (which covers its content and the previous
    hash) and the previous record's MAC (``GENESIS_MAC`` before seq 1)."""
    message = f"patchdesk remediation log v1\n{seq}\n{record_hash}\n{prev_mac}".encode("ascii")
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()


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


_HEAD = (
    select(
        RemediationRecord.seq, RemediationRecord.hash, RemediationRecord.at, RemediationRecord.mac
    )
    .order_by(RemediationRecord.seq.desc())
    .limit(1)
)
_FINGERPRINT = select(AuditLogKey.fingerprint).where(AuditLogKey.id == 1)


@dataclass(frozen=True)
class _Head:
    """The last record, as the next one follows it."""

    seq: int
    hash: str
    at: datetime
    mac: str | None


def _head(connection: Connection) -> _Head | None:
    row = connection.execute(_HEAD).first()
    return None if row is None else _Head(row.seq, row.hash, row.at, row.mac)


def stamp(at: datetime, previous: datetime | None) -> datetime:
    """The instant a record asked for at ``at`` is stamped with after a record stamped
    ``previous``: ``at`` in UTC, or ``previous`` when ``at`` is earlier (never backwards)."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    at = at.astimezone(UTC)
    return at if previous is None or at >= previous else previous.astimezone(UTC)


def _serialise(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(_PG_AUDIT_LOCK)))


def append(session: Session, entry: LogEntry) -> RemediationRecord:
    """Append ``entry`` to the log in the caller's transaction, stamped at ``entry.at`` or,
    when that is earlier than the last record's time, at the last record's (``stamp``),
    with its MAC under the key of the session's database.

    A log not keyed yet is keyed first (see the module's docstring). AuditKeyError when the
    log is keyed with another key than the key file's, or the key file is missing: nothing
    is appended.

    Use a ``Database.writer()`` session so that two appends cannot read the same head; the
    unique ``seq`` and ``hash`` columns would refuse a fork anyway.
    """
    session.flush()  # what the record refers to is written first
    # (Core on the session's connection from here: the engine appends thousands a cycle.)
    connection = session.connection()
    _serialise(connection)
    head = _head(connection)
    key, head = _signing_key(session, connection, head, entry)
    return _write(session, connection, head, entry, key)


def _write(
    session: Session,
    connection: Connection,
    head: _Head | None,
    entry: LogEntry,
    key: AuditKey | None,
) -> RemediationRecord:
    seq, prev_hash, prev_mac = (
        (head.seq + 1, head.hash, head.mac) if head else (1, GENESIS_HASH, None)
    )
    at = stamp(entry.at, head.at if head else None)
    entry = replace(entry, at=at)
    digest = content_hash(seq, entry, prev_hash)
    mac = None
    if key is not None:
        if head is not None and prev_mac is None:  # (_signing_key keys such a log first)
            raise RuntimeError("a MAC cannot follow a record without one")
        mac = record_mac(key, seq, digest, prev_mac or GENESIS_MAC)
    values = {
        "seq": seq,
        "at": at,
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
    record_id = connection.execute(_INSERT, values).scalar_one()
    record = RemediationRecord(id=record_id, **values)  # as written (not in the session)
    record_event(
        session,
        at=at,
        kind=EVENT_KIND,
        entity="remediation",
        entity_id=record.id,
        client_id=entry.client_id,
        payload={"seq": seq, "hash": record.hash, "exception_id": entry.exception_id},
    )
    return record


def _signing_key(
    session: Session, connection: Connection, head: _Head | None, entry: LogEntry
) -> tuple[AuditKey | None, _Head | None]:
    """The key this append signs with (None: the log is not keyed and cannot be), and the
    head it follows (the ``audit.keyed`` record when the log was keyed just now)."""
    keyring = keyring_of(session)
    if keyring.confirmed and keyring.key is not None and head is not None and head.mac:
        return keyring.key, head
    fingerprint = connection.execute(_FINGERPRINT).scalar_one_or_none()
    if fingerprint is not None:
        key = keyring.check(fingerprint)
        if head is not None and head.mac is None:
            raise AuditKeyError(
                f"the remediation log is keyed but its last record (seq {head.seq}) carries no "
                "MAC: it was tampered with (patchdesk audit verify); nothing was appended"
            )
        if session.info.get(_KEYED_IN) is not session.get_transaction():
            keyring.confirmed = True  # a committed fingerprint (not this transaction's own)
        return key, head
    if keyring.refused is not None:
        return None, head
    if head is not None and keyring.key is not None:
        # Records, no fingerprint, and a key file that was already there: a log written
        # before 0008 on a host that keys other logs, or a keyed log whose MACs and
        # fingerprint were stripped. Keying it here would bless a rewrite; a person decides.
        keyring.refused = (
            f"its {head.seq} records were written without a key although the key file "
            f"{keyring.path} exists: if it was written before keying existed, run "
            "patchdesk audit rekey; if it was keyed before, it was tampered with"
        )
        _log.warning("the remediation log is not keyed: %s", keyring.refused)
        return None, head
    return _key(
        session, connection, keyring, head, actor=ENGINE_ACTOR, operator=entry.operator, at=entry.at
    )


def _key(
    session: Session,
    connection: Connection,
    keyring: Keyring,
    head: _Head | None,
    *,
    actor: str,
    operator: str,
    at: datetime,
) -> tuple[AuditKey | None, _Head | None]:
    """Key a log that is not keyed: verify its chain, MAC every record in order, store the
    key's fingerprint, append the ``audit.keyed`` record. (None, head) when the chain is
    broken (``keyring.refused`` then says why)."""
    report = _walk(connection, None)
    problem = f"its hash chain is broken: {report.problem}" if report.chain_broken else None
    if problem is None and _macs_present(connection):
        problem = "records carry MACs but the log's key fingerprint is gone (tampered with)"
    if problem is not None:
        keyring.refused = problem
        _log.warning("the remediation log is not keyed: %s", problem)
        return None, head
    key = keyring.for_keying()
    keyed = 0
    prev_mac = GENESIS_MAC
    while True:  # a page at a time, in seq order (a log may hold millions of records)
        page = connection.execute(
            select(_records.c.id, _records.c.seq, _records.c.hash)
            .where(_records.c.seq > keyed)
            .order_by(_records.c.seq)
            .limit(_KEYING_PAGE)
        ).all()
        if not page:
            break
        macs = []
        for record_id, seq, record_hash in page:
            prev_mac = record_mac(key, seq, record_hash, prev_mac)
            macs.append({"record_id": record_id, "record_mac": prev_mac})
        connection.execute(_SET_MAC, macs)
        keyed = page[-1][1]
    connection.execute(
        insert(_key_table).values(
            id=1,
            fingerprint=key.fingerprint,
            keyed_at=stamp(at, head.at if head else None),
            actor=actor,
            operator=operator,
            records_keyed=keyed,
        )
    )
    session.info[_KEYED_IN] = session.get_transaction()
    if not keyed:
        return key, head
    _write(
        session,
        connection,
        _head(connection),
        LogEntry(
            at=at,
            actor=actor,
            operator=operator,
            action=KEYED_ACTION,
            outcome="keyed",
            note=(
                f"remediation log keyed with key {key.fingerprint}: its {keyed} records "
                f"(seq 1-{keyed}) verified and given their MACs"
            ),
        ),
        key,
    )
    return key, _head(connection)


@dataclass(frozen=True)
class Keying:
    """What ``key_log`` found or did: the log's key, since when and by whom, and how many
    records written before were given their MACs (``now``: keyed by this call)."""

    fingerprint: str
    keyed_at: datetime
    actor: str
    operator: str
    records_keyed: int
    now: bool


def key_log(session: Session, *, operator: str, at: datetime) -> Keying:
    """Key the log now if it is not (``patchdesk audit rekey``), as ``operator``; the log's
    key when it is. LogNotKeyable when its chain is broken, AuditKeyError when it is keyed
    with another key or the key file is unusable."""
    session.flush()
    connection = session.connection()
    _serialise(connection)
    keyring = keyring_of(session)
    found = _keyed(connection)
    if found is not None:
        keyring.check(found.fingerprint)
        return found
    head = _head(connection)
    key, _after = _key(session, connection, keyring, head, actor=operator, operator=operator, at=at)
    if key is None:
        raise LogNotKeyable(f"the remediation log cannot be keyed: {keyring.refused}")
    keyed = _keyed(connection)
    assert keyed is not None
    return replace(keyed, now=True)


def log_key(session: Session) -> Keying | None:
    """The log's key (fingerprint, since when, by whom); None when it is not keyed."""
    return _keyed(session.connection())


def key_problem(session: Session) -> str | None:
    """Why the key file of the session's database cannot write this log (the log is keyed
    with another key, or the file is missing), for a person; None when it can."""
    keying = _keyed(session.connection())
    if keying is None:
        return None
    try:
        keyring_of(session).check(keying.fingerprint)
    except AuditKeyError as exc:
        return str(exc)
    return None


def _macs_present(connection: Connection) -> bool:
    found = connection.execute(select(_records.c.id).where(_records.c.mac.is_not(None)).limit(1))
    return found.first() is not None


def _keyed(connection: Connection) -> Keying | None:
    row = connection.execute(
        select(
            AuditLogKey.fingerprint,
            AuditLogKey.keyed_at,
            AuditLogKey.actor,
            AuditLogKey.operator,
            AuditLogKey.records_keyed,
        ).where(AuditLogKey.id == 1)
    ).first()
    return None if row is None else Keying(*row, now=False)


@dataclass(frozen=True)
class ChainReport:
    """The walk's result: ``count`` records verified before ``problem`` (at ``seq``). A
    broken chain (a record altered, removed or reordered, or failing its MAC) is the problem
    when there is one; otherwise the first record stamped earlier than the record before it.
    ``earlier``: the seqs of every such record among those walked (up to a break).

    ``keying``: the log's key (None: not keyed; ``count`` records then carry no MAC, which
    makes the log not ``ok`` unless it is empty). ``key_problem``: the key file cannot
    verify this log (missing, or another key): nothing was walked."""

    ok: bool
    count: int
    problem: str | None = None
    record_id: int | None = None
    seq: int | None = None
    earlier: tuple[int, ...] = ()
    chain_broken: bool = False  # a record altered, removed or reordered
    keying: Keying | None = None
    key_problem: str | None = None

    @property
    def unkeyed(self) -> bool:
        """Records without a MAC in a log that is not keyed (its chain may be intact)."""
        return self.keying is None and self.key_problem is None and self.count > 0


def check_records(records: Iterable[RemediationRecord], key: AuditKey | None = None) -> ChainReport:
    """Walk records in ``seq`` order; report the first break in the chain (with ``key``,
    a MAC that fails too), else the first record stamped earlier than the one before it,
    with every such record's seq."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    prev_mac = GENESIS_MAC
    prev_at: datetime | None = None
    earlier: list[int] = []
    first_earlier: ChainReport | None = None
    for record in records:
        broken = _link_problem(record, expected_seq, prev_hash)
        if broken is None and key is not None:
            broken = _mac_problem(record, key, prev_mac)
        if broken is not None:
            return ChainReport(
                False, expected_seq - 1, broken, record.id, record.seq, (*earlier,), True
            )
        if prev_at is not None and record.at < prev_at:
            earlier.append(record.seq)
            if first_earlier is None:
                problem = (
                    f"record seq {record.seq} is stamped {_iso(record.at)}, earlier than the "
                    f"record before it ({_iso(prev_at)})"
                )
                first_earlier = ChainReport(False, 0, problem, record.id, record.seq)
        prev_hash = record.hash
        prev_mac = record.mac or GENESIS_MAC
        prev_at = record.at
        expected_seq += 1
    count = expected_seq - 1
    if first_earlier is not None:
        return replace(first_earlier, count=count, earlier=(*earlier,))
    return ChainReport(True, count)


def _link_problem(record: RemediationRecord, expected_seq: int, prev_hash: str) -> str | None:
    """What breaks the chain at ``record`` (removed, reordered, altered), or None."""
    if record.seq != expected_seq:
        if record.seq > expected_seq:
            missing = (
                f"seq {expected_seq}"
                if record.seq == expected_seq + 1
                else f"seq {expected_seq}..{record.seq - 1}"
            )
            return f"{missing} removed (found seq {record.seq} next)"
        return f"seq {record.seq} out of order (expected {expected_seq})"
    if record.prev_hash != prev_hash:
        return (
            f"record seq {record.seq} does not follow the record before it "
            "(removed or reordered records)"
        )
    if content_hash(record.seq, _entry_of(record), record.prev_hash) != record.hash:
        return f"record seq {record.seq} was altered"
    return None


def _mac_problem(record: RemediationRecord, key: AuditKey, prev_mac: str) -> str | None:
    if record.mac is None:
        return f"record seq {record.seq} carries no MAC in a keyed log"
    if not hmac.compare_digest(record.mac, record_mac(key, record.seq, record.hash, prev_mac)):
        return (
            f"record seq {record.seq} fails its MAC check: it was rewritten (hashes recomputed "
            "by someone without the key)"
        )
    return None


def _records_in_order(connection: Connection) -> Generator[RemediationRecord]:
    rows = connection.execute(
        select(_records).order_by(_records.c.seq).execution_options(yield_per=1000)
    )
    try:
        for row in rows:
            yield RemediationRecord(**row._mapping)
    finally:
        rows.close()


def _walk(connection: Connection, key: AuditKey | None) -> ChainReport:
    """The chain (with ``key``: and its MACs), and then against the events feed's last append."""
    with closing(_records_in_order(connection)) as records:
        report = check_records(records, key)
    if report.chain_broken:
        return report
    last_logged = connection.execute(
        select(Event.payload).where(Event.kind == EVENT_KIND).order_by(Event.id.desc()).limit(1)
    ).scalar_one_or_none()
    if last_logged is not None and int(last_logged.get("seq", 0)) > report.count:
        seq = int(last_logged["seq"])
        return ChainReport(
            False,
            report.count,
            f"the log ends at seq {report.count} but seq {seq} was appended: "
            "records at the end were removed",
            None,
            report.count + 1,
            report.earlier,
            True,
        )
    return report


def verify_chain(session: Session) -> ChainReport:
    """Verify the whole remediation log, with the key of the session's database: its hash
    chain, its MACs, and against the events feed's last append."""
    connection = session.connection()
    keying = _keyed(connection)
    if keying is None:
        report = _walk(connection, None)
        if (
            not report.chain_broken
            and connection.execute(
                select(func.count()).select_from(_records).where(_records.c.mac.is_not(None))
            ).scalar_one()
        ):
            return ChainReport(
                False,
                0,
                "records carry MACs but the log's key fingerprint is gone: it was tampered with",
                chain_broken=True,
            )
        return replace(report, ok=report.ok and report.count == 0)
    try:
        key = keyring_of(session).check(keying.fingerprint)
    except AuditKeyError as exc:
        return ChainReport(False, 0, keying=keying, key_problem=str(exc))
    return replace(_walk(connection, key), keying=keying)
