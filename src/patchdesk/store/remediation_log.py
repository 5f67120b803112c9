"""The remediation log: append-only, hash-chained and keyed.

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

This module appends and verifies; the chain itself (records, hashes, MACs, the walk) is
``store.log_chain`` and keying is ``store.log_keying``. Callers import from here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from patchdesk.store.log_chain import (
    EVENT_KIND,
    GENESIS_HASH,
    GENESIS_MAC,
    ChainReport,
    Keying,
    LogEntry,
    content_hash,
    read_head,
    record_mac,
    serialise,
    stamp,
    stored_keying,
    walk,
    write_record,
)
from patchdesk.store.log_key import AuditKeyError, keyring_of
from patchdesk.store.log_keying import (
    KEYED_ACTION,
    LogNotKeyable,
    key_log,
    key_problem,
    log_key,
    signing_key,
)
from patchdesk.store.models import RemediationRecord

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

_records = cast(Table, RemediationRecord.__table__)


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
    serialise(connection)
    head = read_head(connection)
    key, head = signing_key(session, connection, head, entry)
    return write_record(session, connection, head, entry, key)


def verify_chain(session: Session) -> ChainReport:
    """Verify the whole remediation log, with the key of the session's database: its hash
    chain, its MACs, and against the events feed's last append."""
    connection = session.connection()
    keying = stored_keying(connection)
    if keying is None:
        report = walk(connection, None)
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
    return replace(walk(connection, key), keying=keying)
