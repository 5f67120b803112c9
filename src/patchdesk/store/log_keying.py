"""Keying the remediation log: the key an append signs with, keying a log that is not keyed
(its chain verified first, every record given its MAC, the fingerprint stored, an
``audit.keyed`` record), and the log's key for ``patchdesk audit`` (the rules are in
``store.remediation_log``'s docstring).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from patchdesk.store.log_chain import (
    GENESIS_MAC,
    Head,
    Keying,
    LogEntry,
    read_head,
    record_mac,
    serialise,
    stamp,
    stored_keying,
    walk,
    write_record,
)
from patchdesk.store.log_key import AuditKey, AuditKeyError, Keyring, keyring_of
from patchdesk.store.models import AuditLogKey, RemediationRecord

# Its warnings are the remediation log's: they carry its name in the engine's and the UI's log.
_log = logging.getLogger("patchdesk.store.remediation_log")
_records = cast(Table, RemediationRecord.__table__)
_key_table = cast(Table, AuditLogKey.__table__)
_SET_MAC = (
    update(_records)
    .where(_records.c.id == bindparam("record_id"))
    .values(mac=bindparam("record_mac"))
)
KEYED_ACTION = "audit.keyed"
ENGINE_ACTOR = "engine"
# Session.info: the transaction in which this session keyed the log (its fingerprint row is
# not committed yet, so it does not confirm the key for later appends).
_KEYED_IN = "patchdesk.audit_keyed_in"
_KEYING_PAGE = 1000
_FINGERPRINT = select(AuditLogKey.fingerprint).where(AuditLogKey.id == 1)


class LogNotKeyable(Exception):
    """The log's hash chain is broken: it is not keyed (``str()`` says where, for a person)."""


def signing_key(
    session: Session, connection: Connection, head: Head | None, entry: LogEntry
) -> tuple[AuditKey | None, Head | None]:
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
    head: Head | None,
    *,
    actor: str,
    operator: str,
    at: datetime,
) -> tuple[AuditKey | None, Head | None]:
    """Key a log that is not keyed: verify its chain, MAC every record in order, store the
    key's fingerprint, append the ``audit.keyed`` record. (None, head) when the chain is
    broken (``keyring.refused`` then says why)."""
    report = walk(connection, None)
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
    write_record(
        session,
        connection,
        read_head(connection),
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
    return key, read_head(connection)


def key_log(session: Session, *, operator: str, at: datetime) -> Keying:
    """Key the log now if it is not (``patchdesk audit rekey``), as ``operator``; the log's
    key when it is. LogNotKeyable when its chain is broken, AuditKeyError when it is keyed
    with another key or the key file is unusable."""
    session.flush()
    connection = session.connection()
    serialise(connection)
    keyring = keyring_of(session)
    found = stored_keying(connection)
    if found is not None:
        keyring.check(found.fingerprint)
        return found
    head = read_head(connection)
    key, _after = _key(session, connection, keyring, head, actor=operator, operator=operator, at=at)
    if key is None:
        raise LogNotKeyable(f"the remediation log cannot be keyed: {keyring.refused}")
    keyed = stored_keying(connection)
    assert keyed is not None
    return replace(keyed, now=True)


def log_key(session: Session) -> Keying | None:
    """The log's key (fingerprint, since when, by whom); None when it is not keyed."""
    return stored_keying(session.connection())


def key_problem(session: Session) -> str | None:
    """Why the key file of the session's database cannot write this log (the log is keyed
    with another key, or the file is missing), for a person; None when it can."""
    keying = stored_keying(session.connection())
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
