"""The remediation log's hash chain (``store.remediation_log`` tells the whole story):
what a record holds, its hash and its MAC, the head the next record follows, writing that
record, the key the log is under as stored, and walking the chain to check it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Generator, Iterable
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Connection, Table, func, insert, select
from sqlalchemy.orm import Session

from patchdesk.store.events import record_event
from patchdesk.store.log_key import AuditKey
from patchdesk.store.models import AuditLogKey, Event, RemediationRecord

_records = cast(Table, RemediationRecord.__table__)
_INSERT = insert(_records).returning(_records.c.id)
GENESIS_HASH = "0" * 64
GENESIS_MAC = "0" * 64
EVENT_KIND = "remediation.logged"
# Serialises appends on PostgreSQL; on SQLite the caller's Database.writer() session does.
_PG_AUDIT_LOCK = 0x4155_4454


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


@dataclass(frozen=True)
class Head:
    """The last record, as the next one follows it."""

    seq: int
    hash: str
    at: datetime
    mac: str | None


def read_head(connection: Connection) -> Head | None:
    row = connection.execute(_HEAD).first()
    return None if row is None else Head(row.seq, row.hash, row.at, row.mac)


def stamp(at: datetime, previous: datetime | None) -> datetime:
    """The instant a record asked for at ``at`` is stamped with after a record stamped
    ``previous``: ``at`` in UTC, or ``previous`` when ``at`` is earlier (never backwards)."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    at = at.astimezone(UTC)
    return at if previous is None or at >= previous else previous.astimezone(UTC)


def serialise(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(_PG_AUDIT_LOCK)))


def write_record(
    session: Session,
    connection: Connection,
    head: Head | None,
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
        if head is not None and prev_mac is None:  # (signing_key keys such a log first)
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


def stored_keying(connection: Connection) -> Keying | None:
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


def walk(connection: Connection, key: AuditKey | None) -> ChainReport:
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
