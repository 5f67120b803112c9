"""Devices from a CSV inventory file: parse and validate (pure), then apply to the store.

The file is UTF-8 CSV (a byte-order mark is allowed) with a header row naming these
columns, in any order, matched case-insensitively:

    hostname, client, site, role, criticality, os, tags, external_id

Every column is required, except ``client`` when ``--client`` names the client for the
whole file. Values are trimmed of surrounding whitespace and otherwise stored exactly as
given (they are untrusted text; escaping for display is the UI's job), with these rules:

- no value has control characters (C0 such as NUL, tab or ESC, DEL, C1) once trimmed.
- ``hostname``: required; at most 255 characters. A hostname appears once per client in a
  file.
- ``client``: a client id that exists (clients are created by ``patchdesk policy apply``);
  empty means ``--client``; a value different from ``--client`` is an error.
- ``site``: empty means no site; a site the client does not have yet is created.
- ``role``: ``server``, ``shared_workstation`` or ``single_user`` (any letter case).
- ``criticality``: ``critical`` or ``standard``; empty means the role's default
  (servers critical, everything else standard).
- ``os``: free text such as "Windows Server 2022"; the OS family is derived from it.
- ``tags``: separated by ``;``, each trimmed, empty ones dropped, repeats dropped.
- ``external_id``: the RMM connector's id for the device. Empty means "not known": a new
  device gets none and an existing device keeps the one it has. A non-empty one appears once
  in a file, and is refused when another device (not in the file, or keeping it) has it.
  Changing an existing device's external_id, or giving a device one that another device in
  the file gives up, moves an RMM link (and what the RMM reports about the device): refused
  unless moves are allowed (``MoveExternalIds``, ``--move-external-ids``), and then each
  device whose link moves gets a remediation-log record under the operator's name.

Importing is an upsert keyed by (client, hostname): a row updates the device with that
hostname in place or creates it. Devices that are not in the file are left alone (an
import never deletes or retires a device). A device whose values are already those of its
row is not written, so importing the same file twice changes nothing the second time.

Problems are reported per row as ``FILE:LINE: column: message``, where LINE is the
physical line the row starts on (the header is line 1; a quoted field may span lines).
A file with any problem imports nothing. The file itself is read as untrusted
(``patchdesk.untrusted_files``): at most 64 MiB, lines of at most 64 KiB characters.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from patchdesk.domain import Criticality, Role, default_criticality, os_family_of
from patchdesk.store.events import record_event
from patchdesk.store.models import Client, Device, Site
from patchdesk.store.remediation_log import LogEntry, append
from patchdesk.untrusted_files import FileRefused, decode_text

COLUMNS = ("hostname", "client", "site", "role", "criticality", "os", "tags", "external_id")
TAG_SEPARATOR = ";"

# Column widths in the store (PostgreSQL enforces them; the import reports them instead).
MAX_HOSTNAME = 255
MAX_SITE = 200
MAX_OS = 200
MAX_EXTERNAL_ID = 200

# Trimmed from both ends of every value; the inside of a value is never touched.
_SURROUNDING_WHITESPACE = " \t\r\n\f\v"

_ROLES = ", ".join(role.value for role in Role)
_CRITICALITIES = ", ".join(c.value for c in Criticality)
_NO_CLIENT_HINT = "clients are created by 'patchdesk policy apply'"


MOVE_FLAG = "--move-external-ids"
MOVE_ACTION = "device.external_id_moved"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input. ``line`` is None for the file or the options;
    ``column`` is None for the file itself (it cannot be read)."""

    line: int | None
    column: str | None
    message: str

    def render(self, source: str) -> str:
        where = source if self.line is None else f"{source}:{self.line}"
        if self.column is None:
            return f"{where}: {self.message}"
        return f"{where}: {self.column}: {self.message}"


@dataclass(frozen=True)
class Invalid:
    """The file cannot be imported; every problem found, in file order."""

    problems: tuple[Problem, ...]

    def render(self, source: str) -> list[str]:
        return [problem.render(source) for problem in self.problems]


@dataclass(frozen=True)
class InventoryRow:
    """One valid device row, ready to apply."""

    line: int
    client_id: str
    hostname: str
    site: str | None
    role: Role
    criticality: Criticality
    os_name: str
    tags: tuple[str, ...]
    external_id: str | None


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class _Err:
    message: str


def parse_inventory(
    data: bytes,
    *,
    known_clients: Collection[str],
    default_client: str | None = None,
) -> list[InventoryRow] | Invalid:
    """Validate a whole inventory file: all of its rows, or every problem in it."""
    text = decode(data)
    if isinstance(text, Problem):
        return Invalid((text,))
    problems: list[Problem] = []
    if default_client is not None and default_client not in known_clients:
        message = f"unknown client {default_client!r} ({_NO_CLIENT_HINT})"
        problems.append(Problem(None, "--client", message))
    records, csv_problem = read_records(text)
    if not records:
        expected = f"empty file (expected a header: {', '.join(COLUMNS)})"
        problems.append(csv_problem or Problem(1, "header", expected))
        return Invalid(tuple(problems))
    header_line, header = records[0]
    columns = parse_header(header, line=header_line, client_given=default_client is not None)
    if isinstance(columns, list):
        return Invalid(tuple(problems + columns))
    rows: list[InventoryRow] = []
    seen: dict[tuple[str, str], int] = {}
    seen_external: dict[str, int] = {}
    for line, fields in records[1:]:
        if _is_blank(fields):
            continue
        result = parse_row(
            line,
            fields,
            columns,
            default_client=default_client,
            known_clients=known_clients,
            seen=seen,
            seen_external=seen_external,
        )
        if isinstance(result, InventoryRow):
            rows.append(result)
        else:
            problems.extend(result)
    if csv_problem is not None:
        problems.append(csv_problem)
    if problems:
        return Invalid(tuple(problems))
    return rows


def decode(data: bytes) -> str | Problem:
    """The file's text, or where it stops being UTF-8 or has a line too long."""
    try:
        return decode_text(data, hint="save the file as UTF-8 CSV")
    except FileRefused as refused:
        return refusal(refused)


def refusal(refused: FileRefused) -> Problem:
    """A file-level refusal as a problem (``FILE: message``, ``FILE:LINE: encoding: ...``)."""
    column = {"encoding": "encoding", "line": "row"}.get(refused.part)
    return Problem(refused.line, column, refused.message)


def read_records(text: str) -> tuple[list[tuple[int, list[str]]], Problem | None]:
    """CSV records with the physical line each starts on, up to the first malformed one."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return records, None
        except csv.Error as exc:
            return records, Problem(start, "row", f"not valid CSV: {exc}")
        records.append((start, fields))


def parse_header(
    header: Sequence[str], *, line: int, client_given: bool
) -> dict[str, int] | list[Problem]:
    """Column name -> position, or what is wrong with the header."""
    problems: list[Problem] = []
    columns: dict[str, int] = {}
    for position, raw in enumerate(header):
        name = _trim(raw).lower()
        if not name:
            problems.append(Problem(line, "header", f"column {position + 1} has no name"))
        elif name not in COLUMNS:
            problems.append(Problem(line, "header", f"unknown column {_trim(raw)!r}"))
        elif name in columns:
            problems.append(Problem(line, "header", f"duplicate column {name!r}"))
        else:
            columns[name] = position
    for name in COLUMNS:
        if name in columns or (name == "client" and client_given):
            continue
        hint = " (or give --client)" if name == "client" else ""
        problems.append(Problem(line, "header", f"missing column {name!r}{hint}"))
    if problems and len(header) == 1:
        for separator, label in ((";", "';'"), ("\t", "tab")):
            if separator in header[0]:
                hint = f"the header is one column: the file looks {label}-separated, not ','"
                problems.append(Problem(line, "header", hint))
                break
    return problems or columns


def parse_row(
    line: int,
    fields: Sequence[str],
    columns: dict[str, int],
    *,
    default_client: str | None,
    known_clients: Collection[str],
    seen: dict[tuple[str, str], int],
    seen_external: dict[str, int] | None = None,
) -> InventoryRow | list[Problem]:
    """One data row; ``seen`` maps (client, hostname) to the line that first had it, and
    ``seen_external`` each external_id to the line that first had it."""
    if len(fields) != len(columns):
        plural = "s" if len(fields) != 1 else ""
        message = f"{len(fields)} field{plural}, the header has {len(columns)}"
        return [Problem(line, "row", message)]
    cells = {name: _trim(fields[position]) for name, position in columns.items()}
    controls = {
        name: problem
        for name, value in cells.items()
        if (problem := check_control(value)) is not None
    }
    client = resolve_client(cells.get("client", ""), default_client)
    hostname = check_hostname(cells["hostname"])
    site = check_optional(cells["site"], MAX_SITE)
    role = check_role(cells["role"])
    criticality = check_criticality(cells["criticality"], role)
    os_name = check_length(cells["os"], MAX_OS)
    external_id = check_optional(cells["external_id"], MAX_EXTERNAL_ID)
    if isinstance(client, str) and isinstance(hostname, str):
        hostname = check_first(hostname, client, line, seen)
    if isinstance(external_id, str) and seen_external is not None:
        first = seen_external.setdefault(external_id, line)
        if first != line:
            external_id = _Err(f"{external_id!r} is already on line {first}")
    if isinstance(client, str):
        client = check_known(client, default_client, known_clients)
    checked: list[tuple[str, object]] = [
        ("hostname", hostname),
        ("client", client),
        ("site", site),
        ("role", role),
        ("criticality", criticality),
        ("os", os_name),
        ("tags", None),
        ("external_id", external_id),
    ]
    checked = [(column, controls.get(column, value)) for column, value in checked]
    problems = [Problem(line, col, val.message) for col, val in checked if isinstance(val, _Err)]
    if (
        not problems
        and isinstance(client, str)
        and isinstance(hostname, str)
        and not isinstance(site, _Err)
        and isinstance(role, Role)
        and isinstance(criticality, Criticality)
        and isinstance(os_name, str)
        and not isinstance(external_id, _Err)
    ):
        return InventoryRow(
            line=line,
            client_id=client,
            hostname=hostname,
            site=site,
            role=role,
            criticality=criticality,
            os_name=os_name,
            tags=parse_tags(cells["tags"]),
            external_id=external_id,
        )
    return problems


def resolve_client(value: str, default_client: str | None) -> str | _Err:
    """The row's client id: its own, else ``--client``; never one different from it."""
    if not value:
        return (
            default_client if default_client is not None else _Err("empty, and no --client given")
        )
    if default_client is not None and value != default_client:
        return _Err(f"{value!r} is not the --client {default_client!r}")
    return value


def check_known(client_id: str, default_client: str | None, known: Collection[str]) -> str | _Err:
    """An unknown ``--client`` is reported once for the file, not on every row."""
    if client_id in known or client_id == default_client:
        return client_id
    return _Err(f"unknown client {client_id!r} ({_NO_CLIENT_HINT})")


def check_first(
    hostname: str, client_id: str, line: int, seen: dict[tuple[str, str], int]
) -> str | _Err:
    """The hostname, unless an earlier line already had it for this client."""
    first = seen.setdefault((client_id, hostname), line)
    if first != line:
        return _Err(f"{hostname!r} for client {client_id!r} is already on line {first}")
    return hostname


def check_hostname(value: str) -> str | _Err:
    if not value:
        return _Err("empty")
    return check_control(value) or check_length(value, MAX_HOSTNAME)


def check_control(value: str) -> _Err | None:
    """A problem when ``value`` has a control character (the first one is named)."""
    found = _CONTROL.search(value)
    if found is None:
        return None
    return _Err(f"contains control character U+{ord(found.group()):04X}")


def check_role(value: str) -> Role | _Err:
    if not value:
        return _Err(f"empty (expected one of {_ROLES})")
    try:
        return Role(value.lower())
    except ValueError:
        return _Err(f"unknown role {value!r} (expected one of {_ROLES})")


def check_criticality(value: str, role: Role | _Err) -> Criticality | _Err | None:
    """The criticality; None when it is empty and the role is bad (nothing to default to)."""
    if not value:
        return default_criticality(role) if isinstance(role, Role) else None
    try:
        return Criticality(value.lower())
    except ValueError:
        expected = f"expected one of {_CRITICALITIES}, or empty for the role's default"
        return _Err(f"unknown criticality {value!r} ({expected})")


def check_length(value: str, limit: int) -> str | _Err:
    if len(value) > limit:
        return _Err(f"longer than {limit} characters ({len(value)})")
    return value


def check_optional(value: str, limit: int) -> str | _Err | None:
    """An optional text value: None when empty."""
    return check_length(value, limit) if value else None


def parse_tags(value: str) -> tuple[str, ...]:
    """``"pilot; vip;;pilot"`` -> ``("pilot", "vip")``: trimmed, no empties, first wins."""
    tags = (_trim(part) for part in value.split(TAG_SEPARATOR))
    return tuple(dict.fromkeys(tag for tag in tags if tag))


def is_control(char: str) -> bool:
    """C0 controls (NUL, TAB, ESC ...), DEL and C1 controls: never part of an imported value."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _trim(value: str) -> str:
    return value.strip(_SURROUNDING_WHITESPACE)


def _is_blank(fields: Sequence[str]) -> bool:
    """An empty line, or a row of empty cells (spreadsheets write those at the end)."""
    return all(not _trim(value) for value in fields)


# --------------------------------------------------------------------------- applying


class UnknownClientsError(Exception):
    """Rows name clients the database does not have (deleted since validation)."""

    def __init__(self, client_ids: Sequence[str]) -> None:
        super().__init__(", ".join(client_ids))
        self.client_ids = tuple(client_ids)

    def problems(self) -> list[Problem]:
        return [
            Problem(None, "client", f"unknown client {client_id!r} ({_NO_CLIENT_HINT})")
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
        text = f"{self.client_id}: {self.hostname}: external_id {_shown(self.old)} -> {self.new!r}"
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


def _shown(external_id: str | None) -> str:
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


def known_client_ids(session: Session) -> frozenset[str]:
    return frozenset(session.scalars(select(Client.id)))


def apply_inventory(
    session: Session,
    rows: Sequence[InventoryRow],
    *,
    now: datetime,
    moves: MoveExternalIds | None = None,
) -> ImportSummary:
    """Create or update the rows' devices (and sites) in the caller's transaction.

    Use a ``Database.writer()`` session so the whole import is one transaction. Before
    writing anything, raises ``UnknownClientsError`` if a row's client does not exist, and
    ``ExternalIdConflicts`` if, after the import, two devices would have the same external
    id, or if a row would move an RMM link and ``moves`` is None. With ``moves``, every
    device whose link moves gets a remediation-log record by ``moves.operator``.
    """
    client_ids = sorted({row.client_id for row in rows})
    missing = sorted(set(client_ids) - set(_existing_clients(session, client_ids)))
    if missing:
        raise UnknownClientsError(missing)
    existing = _devices_by_key(session, client_ids)
    linked = _linked_devices(session)
    planned, conflicts = plan_external_ids(rows, existing, linked, moves is not None)
    if conflicts:
        raise ExternalIdConflicts(conflicts)
    summaries = {client_id: ClientSummary(client_id) for client_id in client_ids}
    site_ids = _ensure_sites(session, rows, summaries)
    # An id moving between devices is released first, so that no statement ever sees it twice.
    for move in planned:
        released = existing.get((move.client_id, move.hostname))
        if released is not None and released.connector_id is not None:
            released.connector_id = None
    session.flush()
    devices: dict[tuple[str, str], Device | _NewDevice] = {**existing}
    created: list[_NewDevice] = []  # written in one statement (imports can be large)
    for row in rows:
        summary = summaries[row.client_id]
        site_id = site_ids[(row.client_id, row.site)] if row.site is not None else None
        device = devices.get((row.client_id, row.hostname))
        if device is None:
            new = _NewDevice(new_device_values(row, site_id, now))
            created.append(new)
            devices[(row.client_id, row.hostname)] = new
            summary.created += 1
        elif update_device(device, desired_values(row, site_id), now):
            summary.updated += 1
        else:
            summary.unchanged += 1
    session.flush()
    if created:
        session.execute(insert(cast(Table, Device.__table__)), [new.values for new in created])
    for summary in summaries.values():
        if summary.touched:
            record_event(
                session,
                at=now,
                kind="inventory.imported",
                entity="client",
                entity_id=summary.client_id,
                client_id=summary.client_id,
                payload={"created": summary.created, "updated": summary.updated},
            )
    logged = _log_moves(session, planned, moves, now) if moves is not None else []
    session.flush()
    return ImportSummary(tuple(summaries.values()), tuple(logged))


Key = tuple[str, str]  # (client id, hostname)


def plan_external_ids(
    rows: Sequence[InventoryRow],
    existing: Mapping[Key, Device],
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


def _log_moves(
    session: Session, planned: Sequence[ExternalIdMove], moves: MoveExternalIds, now: datetime
) -> list[ExternalIdMove]:
    """One remediation-log record per device whose RMM link moved, by the operator."""
    if not planned:
        return []
    keys = {(move.client_id, move.hostname) for move in planned}
    ids = {
        key: device.id
        for key, device in _devices_by_key(session, sorted({c for c, _ in keys})).items()
        if key in keys
    }
    logged: list[ExternalIdMove] = []
    for move in planned:
        note = (
            f"inventory import {moves.source}:{move.line}: external_id {_shown(move.old)} -> "
            f"{move.new!r}"
        )
        if move.taken_from is not None:
            note += f", which {move.taken_from[1]!r} of client {move.taken_from[0]!r} had"
        record = append(
            session,
            LogEntry(
                at=now,
                actor=moves.operator,
                operator=moves.operator,
                action=MOVE_ACTION,
                outcome="moved",
                note=note,
                client_id=move.client_id,
                device_id=ids[(move.client_id, move.hostname)],
            ),
        )
        logged.append(replace(move, record_seq=record.seq))
    return logged


def desired_values(row: InventoryRow, site_id: int | None) -> dict[str, object]:
    """The device attributes a row sets. An empty external_id leaves the connector id alone."""
    values: dict[str, object] = {
        "site_id": site_id,
        "role": row.role,
        "criticality": row.criticality,
        "os_name": row.os_name,
        "os_family": os_family_of(row.os_name),
        "tags": list(row.tags),
    }
    if row.external_id is not None:
        values["connector_id"] = row.external_id
    return values


def new_device_values(row: InventoryRow, site_id: int | None, now: datetime) -> dict[str, object]:
    return {
        "client_id": row.client_id,
        "hostname": row.hostname,
        "os_version": "",
        "maintenance_mode": False,
        "created_at": now,
        "updated_at": now,
        "connector_id": None,
        **desired_values(row, site_id),
    }


class _NewDevice:
    """A device this import creates, before it is written (a repeated row updates it)."""

    values: dict[str, object]

    def __init__(self, values: dict[str, object]) -> None:
        object.__setattr__(self, "values", values)

    def __getattr__(self, name: str) -> object:
        return self.values[name]

    def __setattr__(self, name: str, value: object) -> None:
        self.values[name] = value


def update_device(device: Device | _NewDevice, values: dict[str, object], now: datetime) -> bool:
    """Set the values that differ; bump ``updated_at`` only if one did. True if changed."""
    changed = {name: value for name, value in values.items() if getattr(device, name) != value}
    for name, value in changed.items():
        setattr(device, name, value)
    if changed:
        device.updated_at = now
    return bool(changed)


def _existing_clients(session: Session, client_ids: Iterable[str]) -> list[str]:
    return list(session.scalars(select(Client.id).where(Client.id.in_(list(client_ids)))))


def _ensure_sites(
    session: Session, rows: Sequence[InventoryRow], summaries: dict[str, ClientSummary]
) -> dict[tuple[str, str], int]:
    """(client, site name) -> site id for every site the rows name, creating missing ones."""
    wanted = list(dict.fromkeys((row.client_id, row.site) for row in rows if row.site is not None))
    query = select(Site).where(Site.client_id.in_(list(summaries)))
    sites = {(site.client_id, site.name): site for site in session.scalars(query)}
    for client_id, name in wanted:
        if (client_id, name) not in sites:
            sites[(client_id, name)] = Site(client_id=client_id, name=name)
            session.add(sites[(client_id, name)])
            summaries[client_id].sites_created.append(name)
    session.flush()
    return {key: site.id for key, site in sites.items()}


def _devices_by_key(session: Session, client_ids: Sequence[str]) -> dict[tuple[str, str], Device]:
    query = select(Device).where(Device.client_id.in_(list(client_ids)))
    return {(device.client_id, device.hostname): device for device in session.scalars(query)}


def _linked_devices(session: Session) -> dict[Key, str]:
    """Every device that has an external id (of any client), with it."""
    query = select(Device.client_id, Device.hostname, Device.connector_id).where(
        Device.connector_id.is_not(None)
    )
    return {
        (client_id, hostname): connector_id
        for client_id, hostname, connector_id in session.execute(query)
        if connector_id is not None
    }
