"""What applying a device inventory file does and reports, before and after the store is
written: the summaries, the RMM links (external ids) it moves, and the plan for them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from patchdesk.inventory.devices import InventoryRow
from patchdesk.inventory.records import NO_CLIENT_HINT, Problem

MOVE_FLAG = "--move-external-ids"
MOVE_ACTION = "device.external_id_moved"


class UnknownClientsError(Exception):
    """Rows name clients the database does not have (deleted since validation)."""

    def __init__(self, client_ids: Sequence[str]) -> None:
        super().__init__(", ".join(client_ids))
        self.client_ids = tuple(client_ids)

    def problems(self) -> list[Problem]:
        return [
            Problem(None, "client", f"unknown client {client_id!r} ({NO_CLIENT_HINT})")
            for client_id in self.client_ids
        ]


@dataclass
class ClientSummary:
    client_id: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    sites_created: list[str] = field(default_factory=list)

    @property
    def touched(self) -> bool:
        return self.created + self.updated > 0

    def describe(self) -> str:
        text = f"{self.client_id}: {self.created} created, {self.updated} updated, "
        text += f"{self.unchanged} unchanged"
        if self.sites_created:
            count = len(self.sites_created)
            text += f", {count} new site{'s' if count != 1 else ''}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "client": self.client_id,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "sites_created": list(self.sites_created),
        }


class ExternalIdConflicts(Exception):
    """Rows whose external_id another device has, or that move RMM links without leave.
    Raised before anything is written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(f"line {p.line}: {p.column}: {p.message}" for p in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class MoveExternalIds:
    """Leave to move external ids (RMM links) between devices, given explicitly: who moves
    them (their remediation-log records name this technician) and from which file."""

    operator: str
    source: str


@dataclass(frozen=True)
class ExternalIdMove:
    """A device whose RMM link an import moves: it had ``old`` and now has ``new``, which
    ``taken_from`` (client id, hostname) had before."""

    line: int
    client_id: str
    hostname: str
    old: str | None
    new: str
    taken_from: tuple[str, str] | None = None
    record_seq: int | None = None  # its remediation-log record

    def describe(self) -> str:
        text = f"{self.client_id}: {self.hostname}: external_id {shown(self.old)} -> {self.new!r}"
        if self.taken_from is not None:
            text += f" (from {self.taken_from[1]!r} of client {self.taken_from[0]!r})"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "client": self.client_id,
            "hostname": self.hostname,
            "from": self.old,
            "to": self.new,
            "taken_from": (
                None
                if self.taken_from is None
                else {"client": self.taken_from[0], "hostname": self.taken_from[1]}
            ),
            "record_seq": self.record_seq,
        }


def shown(external_id: str | None) -> str:
    return "(none)" if external_id is None else repr(external_id)


@dataclass(frozen=True)
class ImportSummary:
    clients: tuple[ClientSummary, ...]
    moves: tuple[ExternalIdMove, ...] = ()

    @property
    def created(self) -> int:
        return sum(c.created for c in self.clients)

    @property
    def updated(self) -> int:
        return sum(c.updated for c in self.clients)

    @property
    def unchanged(self) -> int:
        return sum(c.unchanged for c in self.clients)


class Linked(Protocol):
    """A stored device as the plan sees it: its external id, if any."""

    @property
    def connector_id(self) -> str | None: ...


Key = tuple[str, str]  # (client id, hostname)


def plan_external_ids(
    rows: Sequence[InventoryRow],
    existing: Mapping[Key, Linked],
    linked: Mapping[Key, str],
    allow_moves: bool,
) -> tuple[list[ExternalIdMove], list[Problem]]:
    """The RMM links the rows move, and what is wrong with the rows' external ids (the
    import is refused when that is not empty).

    ``existing``: the rows' clients' devices; ``linked``: every device with an external id,
    and that id. After the import no two devices may share an external id; a row that
    changes its device's external id, or takes one another device gives up in the same
    file, moves an RMM link (refused unless ``allow_moves``).
    """
    by_key = {(row.client_id, row.hostname): row for row in rows}
    final: dict[Key, str] = dict(linked)
    for key, row in by_key.items():
        if row.external_id is not None:
            final[key] = row.external_id
    holders: dict[str, list[Key]] = {}
    for key, external_id in final.items():
        holders.setdefault(external_id, []).append(key)
    before: dict[str, list[Key]] = {}
    for key, external_id in linked.items():
        before.setdefault(external_id, []).append(key)
    conflicts: list[Problem] = []
    moved: list[ExternalIdMove] = []
    for key, row in by_key.items():
        new = row.external_id
        if new is None:
            continue
        others = [other for other in holders[new] if other != key]
        if others:
            conflicts.append(Problem(row.line, "external_id", _taken(new, others[0], by_key)))
            continue
        device = existing.get(key)
        old = device.connector_id if device is not None else None
        if old == new:
            continue
        giver = next((other for other in before.get(new, []) if other != key), None)
        if old is not None or giver is not None:
            moved.append(ExternalIdMove(row.line, key[0], key[1], old, new, giver))
    if conflicts:
        return [], sorted(conflicts, key=_by_line)
    if moved and not allow_moves:
        return [], [Problem(m.line, "external_id", _move_refused(m, by_key)) for m in moved]
    return sorted(moved, key=lambda move: move.line), []


def _by_line(problem: Problem) -> int:
    return problem.line or 0


def _taken(external_id: str, other: Key, rows: Mapping[Key, InventoryRow]) -> str:
    row = rows.get(other)
    if row is not None and row.external_id == external_id:
        return f"{external_id!r} is also on line {row.line}"
    text = (
        f"{external_id!r} is already the external_id of device {other[1]!r} of client {other[0]!r}"
    )
    return text + (f" (line {row.line} keeps it)" if row is not None else "")


def _move_refused(move: ExternalIdMove, rows: Mapping[Key, InventoryRow]) -> str:
    parts = []
    if move.old is not None:
        parts.append(
            f"would change the external_id of {move.hostname!r} from {move.old!r} to {move.new!r}"
        )
    if move.taken_from is not None:
        giver = rows[move.taken_from]
        parts.append(
            f"{move.new!r} is the external_id of {move.taken_from[1]!r} of client "
            f"{move.taken_from[0]!r} (line {giver.line} changes it)"
        )
    return f"{'; '.join(parts)}: moving an RMM link needs {MOVE_FLAG}"
