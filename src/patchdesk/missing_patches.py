"""Which patches each device misses, from an RMM's missing-patch report (CSV).

Until the connectors report missing patches themselves, ``patchdesk inventory patches``
imports them from a UTF-8 CSV file (a byte-order mark is allowed) whose header names these
columns, in any order, matched case-insensitively:

    client, hostname, patch_id, title, vendor, product, classification, severity,
    release_date, reboot_required

``client`` may be absent or empty when ``--client`` names the client of the whole file.
Values are trimmed of surrounding whitespace and otherwise stored exactly as given; no value
may have control characters (C0 such as NUL, tab or ESC, DEL, C1):

- ``client``: an existing client id; ``hostname``: one of that client's devices (imported
  first with ``patchdesk inventory import``; letter case may differ, the stored spelling is
  kept);
- ``patch_id``: the vendor's id (a KB number, a package and version), up to 200
  characters; ``title``: required; ``vendor``, ``product``: optional,
  up to 200 characters;
- ``classification``: security, critical, definition, update_rollup, update,
  feature_upgrade, driver or third_party; ``severity``: critical, important, moderate, low,
  unspecified, or empty for unspecified (any letter case);
- ``release_date``: YYYY-MM-DD; ``reboot_required``: true or false (also yes/no, 1/0).

A patch appears on many rows (one per device) and must read the same on each of them. One
device and patch appear once per file. Problems are reported as ``FILE:LINE: column:
message`` for every bad row, and a file with any problem imports nothing. The file is read
as untrusted (``patchdesk.untrusted_files``): at most 64 MiB, lines of at most 64 KiB.

Importing upserts the patch by ``patch_id`` (its title, vendor, product ... are updated to the
file's) and records that each device misses it: a new device-patch row (state ``missing``),
or a row that said ``installed`` set back to ``missing``; a ``missing`` or ``failed`` row is
left as it is. Devices and patches not in the file are left alone (an import never marks a
patch installed). Importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from patchdesk.domain import Classification, MissingPatch, MissingPatchState, Severity
from patchdesk.inventory import Invalid, Problem, decode, is_control, read_records
from patchdesk.store.events import record_event
from patchdesk.store.missing_refresh import EVENT_KIND, PATCH_COLUMNS, patch_columns
from patchdesk.store.models import Client, Device, DevicePatch, Patch

COLUMNS = (
    "client",
    "hostname",
    "patch_id",
    "title",
    "vendor",
    "product",
    "classification",
    "severity",
    "release_date",
    "reboot_required",
)
MAX_PATCH_ID = 200
MAX_LABEL = 200

_SURROUNDING_WHITESPACE = " \t\r\n\f\v"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")
_CLASSIFICATIONS = ", ".join(c.value for c in Classification)
_SEVERITIES = ", ".join(s.value for s in Severity)
_NO_CLIENT_HINT = "clients are created by 'patchdesk policy apply'"
_NO_DEVICE_HINT = "devices are added by 'patchdesk inventory import'"


@dataclass(frozen=True)
class MissingRow:
    """One valid row: a device of a client misses a patch."""

    line: int
    client_id: str
    hostname: str  # as stored for the device
    patch: MissingPatch  # the connectors' shape, so a connector sync can apply rows too


@dataclass(frozen=True)
class _Err:
    message: str


# --------------------------------------------------------------------------- parsing


def parse_missing_patches(
    data: bytes,
    *,
    known_devices: Mapping[str, Collection[str]],
    default_client: str | None = None,
) -> list[MissingRow] | Invalid:
    """Validate a whole file: all of its rows, or every problem in it.

    ``known_devices``: each existing client id with its devices' hostnames.
    """
    text = decode(data)
    if isinstance(text, Problem):
        return Invalid((text,))
    problems: list[Problem] = []
    if default_client is not None and default_client not in known_devices:
        problems.append(Problem(None, "--client", f"unknown client {default_client!r}"))
    records, csv_problem = read_records(text)
    if not records:
        expected = f"empty file (expected a header: {', '.join(COLUMNS)})"
        problems.append(csv_problem or Problem(1, "header", expected))
        return Invalid(tuple(problems))
    header_line, header = records[0]
    columns = parse_header(header, line=header_line, client_given=default_client is not None)
    if isinstance(columns, list):
        return Invalid(tuple(problems + columns))
    hostnames = {client: _hostname_index(names) for client, names in known_devices.items()}
    context = _FileContext(default_client, hostnames)
    rows: list[MissingRow] = []
    for line, fields in records[1:]:
        if all(not _trim(value) for value in fields):
            continue
        result = parse_row(line, fields, columns, context)
        if isinstance(result, MissingRow):
            rows.append(result)
        else:
            problems.extend(result)
    if csv_problem is not None:
        problems.append(csv_problem)
    return Invalid(tuple(problems)) if problems else rows


def parse_header(
    header: Sequence[str], *, line: int, client_given: bool
) -> dict[str, int] | list[Problem]:
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
        if name not in columns and not (name == "client" and client_given):
            hint = " (or give --client)" if name == "client" else ""
            problems.append(Problem(line, "header", f"missing column {name!r}{hint}"))
    return problems or columns


@dataclass
class _FileContext:
    """What rows are checked against, and what earlier rows said."""

    default_client: str | None
    hostnames: Mapping[str, Mapping[str, list[str]]]  # client -> folded hostname -> stored
    pairs: dict[tuple[str, str, str], int] = field(default_factory=dict)
    patches: dict[str, tuple[int, MissingPatch]] = field(default_factory=dict)


def parse_row(
    line: int, fields: Sequence[str], columns: dict[str, int], context: _FileContext
) -> MissingRow | list[Problem]:
    if len(fields) != len(columns):
        plural = "s" if len(fields) != 1 else ""
        return [Problem(line, "row", f"{len(fields)} field{plural}, the header has {len(columns)}")]
    cells = {name: _trim(fields[position]) for name, position in columns.items()}
    client = check_client(cells.get("client", ""), context)
    hostname: str | _Err = _Err("empty") if not cells["hostname"] else cells["hostname"]
    if isinstance(client, str) and isinstance(hostname, str):
        hostname = check_device(client, hostname, context)
    checked: dict[str, object] = {
        "client": client,
        "hostname": hostname,
        "patch_id": check_patch_id(cells["patch_id"]),
        "title": check_title(cells["title"]),
        "vendor": check_label(cells["vendor"]),
        "product": check_label(cells["product"]),
        "classification": check_classification(cells["classification"]),
        "severity": check_severity(cells["severity"]),
        "release_date": check_date(cells["release_date"]),
        "reboot_required": check_bool(cells["reboot_required"]),
    }
    for column, cell in cells.items():  # every column, whatever else is wrong with it
        if (control := check_control(cell)) is not None:
            checked[column] = control
    problems = [
        Problem(line, column, value.message)
        for column, value in checked.items()
        if isinstance(value, _Err)
    ]
    if problems:
        return problems
    patch = MissingPatch(
        vendor_id=str(checked["patch_id"]),
        title=str(checked["title"]),
        vendor=str(checked["vendor"]),
        product=str(checked["product"]),
        classification=Classification(str(checked["classification"])),
        severity=Severity(str(checked["severity"])),
        release_date=_as_date(checked["release_date"]),
        reboot_required=checked["reboot_required"] is True,
    )
    row = MissingRow(line, str(client), str(hostname), patch)
    return check_repeats(row, context)


def check_client(value: str, context: _FileContext) -> str | _Err:
    default = context.default_client
    if not value:
        return default if default is not None else _Err("empty, and no --client given")
    if default is not None and value != default:
        return _Err(f"{value!r} is not the --client {default!r}")
    if value not in context.hostnames:
        return _Err(f"unknown client {value!r} ({_NO_CLIENT_HINT})")
    return value


def check_device(client: str, hostname: str, context: _FileContext) -> str | _Err:
    """The device's stored hostname (the same, or the only one equal ignoring case)."""
    stored = context.hostnames.get(client, {}).get(hostname.casefold(), [])
    if hostname in stored:
        return hostname
    if len(stored) == 1:
        return stored[0]
    return _Err(f"{hostname!r} is not a device of client {client!r} ({_NO_DEVICE_HINT})")


def check_patch_id(value: str) -> str | _Err:
    if not value:
        return _Err("empty")
    if (problem := check_control(value)) is not None:
        return problem
    return _Err(f"longer than {MAX_PATCH_ID} characters") if len(value) > MAX_PATCH_ID else value


def check_title(value: str) -> str | _Err:
    if not value:
        return _Err("empty")
    return check_control(value) or value


def check_label(value: str) -> str | _Err:
    if (problem := check_control(value)) is not None:
        return problem
    return _Err(f"longer than {MAX_LABEL} characters") if len(value) > MAX_LABEL else value


def check_control(value: str) -> _Err | None:
    """A problem when ``value`` has a control character (C0, DEL, C1; the first is named)."""
    for char in value:
        if is_control(char):
            return _Err(f"contains control character U+{ord(char):04X}")
    return None


def check_classification(value: str) -> str | _Err:
    if not value:
        return _Err(f"empty (expected one of {_CLASSIFICATIONS})")
    try:
        return Classification(value.lower()).value
    except ValueError:
        return _Err(f"unknown classification {value!r} (expected one of {_CLASSIFICATIONS})")


def check_severity(value: str) -> str | _Err:
    if not value:
        return Severity.UNSPECIFIED.value
    try:
        return Severity(value.lower()).value
    except ValueError:
        return _Err(f"unknown severity {value!r} (expected one of {_SEVERITIES}, or empty)")


def check_date(value: str) -> date | _Err:
    if not _DATE.fullmatch(value):
        return _Err(f"{value!r} is not a date: use YYYY-MM-DD" if value else "empty (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        return _Err(f"{value!r} is not a date: {exc}")


def check_bool(value: str) -> bool | _Err:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    shown = f"{value!r}" if value else "empty"
    return _Err(f"{shown} (expected true or false)")


def check_repeats(row: MissingRow, context: _FileContext) -> MissingRow | list[Problem]:
    """A device and patch once per file; a patch described the same on every row."""
    problems: list[Problem] = []
    key = (row.client_id, row.hostname, row.patch.vendor_id)
    first = context.pairs.setdefault(key, row.line)
    if first != row.line:
        message = f"{row.patch.vendor_id!r} for {row.hostname!r} is already on line {first}"
        problems.append(Problem(row.line, "patch_id", message))
    earlier_line, earlier = context.patches.setdefault(row.patch.vendor_id, (row.line, row.patch))
    if earlier_line != row.line:
        for name in PATCH_COLUMNS:
            if getattr(earlier, name) != getattr(row.patch, name):
                message = f"differs from line {earlier_line} for patch {row.patch.vendor_id!r}"
                problems.append(Problem(row.line, name, message))
    return problems or row


def _hostname_index(names: Collection[str]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for name in names:
        index.setdefault(name.casefold(), []).append(name)
    return index


def _as_date(value: object) -> date:
    assert isinstance(value, date)
    return value


def _trim(value: str) -> str:
    return value.strip(_SURROUNDING_WHITESPACE)


# --------------------------------------------------------------------------- applying


class UnknownDevicesError(Exception):
    """Rows name clients or devices the database no longer has (removed since validation)."""

    def __init__(self, missing: Sequence[tuple[str, str]]) -> None:
        super().__init__(", ".join(f"{client}/{host}" for client, host in missing))
        self.missing = tuple(missing)

    def problems(self) -> list[Problem]:
        return [
            Problem(None, "hostname", f"{host!r} is no longer a device of client {client!r}")
            for client, host in self.missing
        ]


@dataclass
class ClientPatchSummary:
    client_id: str
    added: int = 0  # device-patch rows created
    reopened: int = 0  # rows that said installed, now missing again
    unchanged: int = 0

    def describe(self) -> str:
        return (
            f"{self.client_id}: {self.added} missing patches recorded, {self.reopened} "
            f"reopened, {self.unchanged} unchanged"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "client": self.client_id,
            "added": self.added,
            "reopened": self.reopened,
            "unchanged": self.unchanged,
        }


@dataclass(frozen=True)
class PatchImportSummary:
    patches_created: tuple[str, ...]
    patches_updated: tuple[str, ...]
    patches_unchanged: int
    clients: tuple[ClientPatchSummary, ...]

    def describe(self) -> list[str]:
        lines = [
            f"patches: {len(self.patches_created)} created, {len(self.patches_updated)} "
            f"updated, {self.patches_unchanged} unchanged"
        ]
        return lines + [client.describe() for client in self.clients]


def known_devices(session: Session) -> dict[str, list[str]]:
    """Each client id with its devices' hostnames (clients without devices included)."""
    found: dict[str, list[str]] = {
        client_id: [] for client_id in session.scalars(select(Client.id))
    }
    for client_id, hostname in session.execute(select(Device.client_id, Device.hostname)):
        found.setdefault(client_id, []).append(hostname)
    return found


def apply_missing_patches(
    session: Session, rows: Sequence[MissingRow], *, now: datetime
) -> PatchImportSummary:
    """Upsert the rows' patches and device-patch rows in the caller's transaction.

    Use a ``Database.writer()`` session. Raises ``UnknownDevicesError`` before writing
    anything when a row's device no longer exists.
    """
    device_ids = _device_ids(session, rows)
    patches, created, updated, unchanged = _upsert_patches(session, rows)
    summaries = {row.client_id: ClientPatchSummary(row.client_id) for row in rows}
    existing = _device_patches(session, device_ids.values(), [p.id for p in patches.values()])
    added: list[dict[str, Any]] = []
    reopened: list[dict[str, Any]] = []
    for row in rows:
        summary = summaries[row.client_id]
        device_id = device_ids[(row.client_id, row.hostname)]
        patch_id = patches[row.patch.vendor_id].id
        current = existing.get((device_id, patch_id))
        if current is None:
            added.append(
                {
                    "device_id": device_id,
                    "patch_id": patch_id,
                    "state": MissingPatchState.MISSING,
                    "detected_at": now,
                    "installed_at": None,
                    "updated_at": now,
                }
            )
            summary.added += 1
        elif current[1] is MissingPatchState.INSTALLED:
            reopened.append({"b_id": current[0], "b_now": now})
            summary.reopened += 1
        else:
            summary.unchanged += 1
    if added:
        session.connection().execute(_INSERT_DEVICE_PATCHES, added)
    if reopened:
        session.connection().execute(_REOPEN, reopened)
    for summary in summaries.values():
        if summary.added or summary.reopened:
            record_event(
                session,
                at=now,
                kind=EVENT_KIND,
                entity="client",
                entity_id=summary.client_id,
                client_id=summary.client_id,
                payload={"added": summary.added, "reopened": summary.reopened},
            )
    session.flush()
    return PatchImportSummary(
        tuple(created), tuple(updated), unchanged, tuple(sorted(summaries.values(), key=_by_id))
    )


def _by_id(summary: ClientPatchSummary) -> str:
    return summary.client_id


def _device_ids(session: Session, rows: Sequence[MissingRow]) -> dict[tuple[str, str], int]:
    wanted = sorted({(row.client_id, row.hostname) for row in rows})
    found: dict[tuple[str, str], int] = {}
    for client_id in sorted({client for client, _ in wanted}):
        query = select(Device.hostname, Device.id).where(Device.client_id == client_id)
        for hostname, device_id in session.execute(query):
            found[(client_id, hostname)] = device_id
    missing = [key for key in wanted if key not in found]
    if missing:
        raise UnknownDevicesError(missing)
    return found


def _upsert_patches(
    session: Session, rows: Sequence[MissingRow]
) -> tuple[dict[str, Patch], list[str], list[str], int]:
    """vendor id -> Patch row for every patch in ``rows``, and what was created/updated."""
    wanted = {row.patch.vendor_id: row.patch for row in rows}
    stored = {
        patch.vendor_id: patch
        for patch in session.scalars(select(Patch).where(Patch.vendor_id.in_(list(wanted))))
    }
    created: list[str] = []
    updated: list[str] = []
    unchanged = 0
    for vendor_id, values in wanted.items():
        patch = stored.get(vendor_id)
        if patch is None:
            stored[vendor_id] = Patch(vendor_id=vendor_id, **patch_columns(values))
            session.add(stored[vendor_id])
            created.append(vendor_id)
            continue
        changed = {k: v for k, v in patch_columns(values).items() if getattr(patch, k) != v}
        for name, value in changed.items():
            setattr(patch, name, value)
        if changed:
            updated.append(vendor_id)
        else:
            unchanged += 1
    session.flush()
    return stored, created, updated, unchanged


_DEVICE_PATCHES = cast(Table, DevicePatch.__table__)
_INSERT_DEVICE_PATCHES = insert(_DEVICE_PATCHES)
_REOPEN = (
    update(_DEVICE_PATCHES)
    .where(_DEVICE_PATCHES.c.id == bindparam("b_id"))
    .values(
        state=MissingPatchState.MISSING,
        installed_at=None,
        detected_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
    )
)


def _device_patches(
    session: Session, device_ids: Collection[int], patch_ids: Collection[int]
) -> dict[tuple[int, int], tuple[int, MissingPatchState]]:
    """(device id, patch id) -> (row id, state) of the rows already stored."""
    if not device_ids or not patch_ids:
        return {}
    table = _DEVICE_PATCHES
    query = select(table.c.device_id, table.c.patch_id, table.c.id, table.c.state).where(
        table.c.device_id.in_(sorted(set(device_ids))),
        table.c.patch_id.in_(sorted(set(patch_ids))),
    )
    return {
        (device_id, patch_id): (row_id, state)
        for device_id, patch_id, row_id, state in session.execute(query)
    }
