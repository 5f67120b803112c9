"""Anchors: the remediation log's head (seq, time, MAC), kept outside patchdesk.

The MACs stop someone without the key file from rewriting the log; nothing inside the
database stops someone who holds the key. An anchor exported elsewhere (a file on another
machine, a webhook, the shift log through the handover document) fixes what the log said up
to its seq: a log rewritten at or before that seq no longer has the anchor's MAC there
(each MAC chains over every record before it), and a log cut back below it no longer has
that seq at all.

An anchor is one line, ``patchdesk-anchor seq=N at=TIME mac=HEX``, found anywhere in a line
of an anchor file (so that a saved handover document is one too).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from patchdesk.store.models import RemediationRecord

MARK = "patchdesk-anchor"
_ANCHOR = re.compile(
    rf"{MARK}\s+seq=(?P<seq>[1-9][0-9]{{0,17}})\s+at=(?P<at>\S+)"
    r"\s+mac=(?P<mac>[0-9a-f]{64})(?![0-9A-Za-z])"
)
_CHUNK = 500


@dataclass(frozen=True)
class Anchor:
    seq: int
    at: datetime
    mac: str

    @property
    def at_text(self) -> str:
        return _iso(self.at)

    @property
    def line(self) -> str:
        return f"{MARK} seq={self.seq} at={self.at_text} mac={self.mac}"


class BadAnchor(ValueError):
    """A line that names an anchor but is not one; ``str()`` says why."""


def parse_line(line: str) -> Anchor | None:
    """The anchor in ``line``; None when the line names none; BadAnchor when it names one
    that does not parse."""
    if MARK not in line:
        return None
    found = _ANCHOR.search(line)
    if found is None:
        raise BadAnchor(f"not an anchor: expected {MARK} seq=N at=TIME mac=64 hex digits")
    try:
        at = datetime.fromisoformat(found["at"])
    except ValueError:
        raise BadAnchor(f"not an anchor: at={found['at']} is not an ISO time") from None
    if at.tzinfo is None:
        raise BadAnchor(f"not an anchor: at={found['at']} has no UTC offset")
    return Anchor(int(found["seq"]), at.astimezone(UTC), found["mac"])


def head_anchor(session: Session) -> Anchor | None:
    """The log's head as an anchor; None when the log is empty or its head has no MAC (the
    log is not keyed)."""
    row = session.execute(
        select(RemediationRecord.seq, RemediationRecord.at, RemediationRecord.mac)
        .order_by(RemediationRecord.seq.desc())
        .limit(1)
    ).first()
    if row is None or row.mac is None:
        return None
    return Anchor(row.seq, row.at, row.mac)


def anchor_problems(session: Session, anchors: Sequence[Anchor]) -> list[str | None]:
    """For each anchor, what the log no longer matches (None: it matches): its seq is gone,
    its MAC or its time differs. No key is needed."""
    found: dict[int, tuple[datetime, str | None]] = {}
    seqs = sorted({anchor.seq for anchor in anchors})
    for start in range(0, len(seqs), _CHUNK):
        rows = session.execute(
            select(RemediationRecord.seq, RemediationRecord.at, RemediationRecord.mac).where(
                RemediationRecord.seq.in_(seqs[start : start + _CHUNK])
            )
        )
        found.update((row.seq, (row.at, row.mac)) for row in rows)
    last = session.scalar(select(RemediationRecord.seq).order_by(RemediationRecord.seq.desc()))
    problems: list[str | None] = []
    for anchor in anchors:
        record = found.get(anchor.seq)
        if record is None:
            ends = f"it ends at seq {last}" if last is not None else "it is empty"
            problems.append(f"seq {anchor.seq} is missing from the log ({ends})")
        elif record[1] is None:
            problems.append(f"seq {anchor.seq} carries no MAC in the log: it was rewritten")
        elif not hmac.compare_digest(record[1], anchor.mac):
            problems.append(
                f"seq {anchor.seq}: the log's MAC differs from the anchor's: the log was "
                f"rewritten at or before seq {anchor.seq}"
            )
        elif record[0] != anchor.at:
            problems.append(
                f"seq {anchor.seq}: the log says {_iso(record[0])}, the anchor {_iso(anchor.at)}"
            )
        else:
            problems.append(None)
    return problems


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
