"""The remediation log: append-only and hash-chained (DESIGN section 1).

Every record carries ``seq`` (1, 2, 3 ...), the previous record's hash and its own hash over
its content and that previous hash. Nothing in patchdesk updates or deletes a record, and the
database refuses it too (triggers in the initial migration). ``verify_chain`` walks the chain
and names the first record that was altered, removed or reordered; each append also writes a
``remediation.logged`` event with its seq and hash, which lets ``verify_chain`` notice a
removed tail that the chain alone cannot show.

Time never goes backwards in the log: a record is stamped no earlier than the record before it
(DESIGN section 1). Appends are serialised (see ``append``), so the order of ``seq`` is the
order in which the actions were recorded; when the caller's clock says an earlier instant
than the head's (two technicians on hosts whose clocks differ by a few seconds, a UI that
follows a simulated clock one engine step behind the demo's), the record is stamped at the
head's instant instead. It is not refused: the action did happen, after the record before
it, and refusing would lose it (or an engine step) over clock skew. ``verify_chain`` reports
every record stamped earlier than the one before it (a log written before this rule, or
rewritten by someone who recomputed the hashes).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from patchdesk.store.events import record_event
from patchdesk.store.models import Event, RemediationRecord

_records = cast(Table, RemediationRecord.__table__)
_INSERT = insert(_records).returning(_records.c.id)
GENESIS_HASH = "0" * 64
EVENT_KIND = "remediation.logged"
# Serialises appends on PostgreSQL; on SQLite the caller's Database.writer() session does.
_PG_AUDIT_LOCK = 0x4155_4454


@dataclass(frozen=True)
class AuditEntry:
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


def content_hash(seq: int, entry: AuditEntry, prev_hash: str) -> str:
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


def _entry_of(record: RemediationRecord) -> AuditEntry:
    return AuditEntry(
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
    select(RemediationRecord.seq, RemediationRecord.hash, RemediationRecord.at)
    .order_by(RemediationRecord.seq.desc())
    .limit(1)
)


def stamp(at: datetime, previous: datetime | None) -> datetime:
    """The instant a record asked for at ``at`` is stamped with after a record stamped
    ``previous``: ``at`` in UTC, or ``previous`` when ``at`` is earlier (never backwards)."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    at = at.astimezone(UTC)
    return at if previous is None or at >= previous else previous.astimezone(UTC)


def append(session: Session, entry: AuditEntry) -> RemediationRecord:
    """Append ``entry`` to the log in the caller's transaction, stamped at ``entry.at`` or,
    when that is earlier than the last record's time, at the last record's (``stamp``).

    Use a ``Database.writer()`` session so that two appends cannot read the same head; the
    unique ``seq`` and ``hash`` columns would refuse a fork anyway.
    """
    session.flush()  # what the record refers to is written first
    # (Core on the session's connection from here: the engine appends thousands a cycle.)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(_PG_AUDIT_LOCK)))
    head = connection.execute(_HEAD).first()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    at = stamp(entry.at, head[2] if head else None)
    entry = AuditEntry(**{**entry.__dict__, "at": at})
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
        "hash": content_hash(seq, entry, prev_hash),
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
class ChainReport:
    """The walk's result: ``count`` records verified before ``problem`` (at ``seq``). A
    broken chain (a record altered, removed or reordered) is the problem when there is one;
    otherwise the first record stamped earlier than the record before it. ``earlier``: the
    seqs of every such record among those walked (up to a break in the chain)."""

    ok: bool
    count: int
    problem: str | None = None
    record_id: int | None = None
    seq: int | None = None
    earlier: tuple[int, ...] = ()
    chain_broken: bool = False  # a record altered, removed or reordered


def check_records(records: Iterable[RemediationRecord]) -> ChainReport:
    """Walk records in ``seq`` order; report the first break in the chain, else the first
    record stamped earlier than the one before it, with every such record's seq."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    prev_at: datetime | None = None
    earlier: list[int] = []
    first_earlier: ChainReport | None = None
    for record in records:
        broken = _link_problem(record, expected_seq, prev_hash)
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


def verify_chain(session: Session) -> ChainReport:
    """Verify the whole remediation log, including against the events feed's last append."""
    records = session.scalars(
        select(RemediationRecord).order_by(RemediationRecord.seq).execution_options(yield_per=1000)
    )
    report = check_records(records)
    if report.chain_broken:
        return report
    last_logged = session.execute(
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
