"""Which patches each device misses, from an RMM's missing-patch report (CSV): parsing and
validating (no store).

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

Importing (``store.missing_patch_ops.apply_missing_patches``) upserts the patches and records
that each device misses them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from patchdesk.domain import Classification, MissingPatch, Severity
from patchdesk.inventory.records import (
    NO_CLIENT_HINT,
    Err,
    Invalid,
    Problem,
    check_control,
    decode,
    is_blank,
    read_records,
    trim,
)

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

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")
_CLASSIFICATIONS = ", ".join(c.value for c in Classification)
_SEVERITIES = ", ".join(s.value for s in Severity)
_NO_DEVICE_HINT = "devices are added by 'patchdesk inventory import'"


@dataclass(frozen=True)
class MissingRow:
    """One valid row: a device of a client misses a patch."""

    line: int
    client_id: str
    hostname: str  # as stored for the device
    patch: MissingPatch  # the connectors' shape, so a connector sync can apply rows too


# The columns that describe a patch (all but its key): the same on every row naming it.
_DESCRIPTION = tuple(f.name for f in dataclasses.fields(MissingPatch) if f.name != "vendor_id")


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
        if is_blank(fields):
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
        name = trim(raw).lower()
        if not name:
            problems.append(Problem(line, "header", f"column {position + 1} has no name"))
        elif name not in COLUMNS:
            problems.append(Problem(line, "header", f"unknown column {trim(raw)!r}"))
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
    cells = {name: trim(fields[position]) for name, position in columns.items()}
    client = check_client(cells.get("client", ""), context)
    hostname: str | Err = Err("empty") if not cells["hostname"] else cells["hostname"]
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
        if isinstance(value, Err)
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


def check_client(value: str, context: _FileContext) -> str | Err:
    default = context.default_client
    if not value:
        return default if default is not None else Err("empty, and no --client given")
    if default is not None and value != default:
        return Err(f"{value!r} is not the --client {default!r}")
    if value not in context.hostnames:
        return Err(f"unknown client {value!r} ({NO_CLIENT_HINT})")
    return value


def check_device(client: str, hostname: str, context: _FileContext) -> str | Err:
    """The device's stored hostname (the same, or the only one equal ignoring case)."""
    stored = context.hostnames.get(client, {}).get(hostname.casefold(), [])
    if hostname in stored:
        return hostname
    if len(stored) == 1:
        return stored[0]
    return Err(f"{hostname!r} is not a device of client {client!r} ({_NO_DEVICE_HINT})")


def check_patch_id(value: str) -> str | Err:
    if not value:
        return Err("empty")
    if (problem := check_control(value)) is not None:
        return problem
    return Err(f"longer than {MAX_PATCH_ID} characters") if len(value) > MAX_PATCH_ID else value


def check_title(value: str) -> str | Err:
    if not value:
        return Err("empty")
    return check_control(value) or value


def check_label(value: str) -> str | Err:
    if (problem := check_control(value)) is not None:
        return problem
    return Err(f"longer than {MAX_LABEL} characters") if len(value) > MAX_LABEL else value


def check_classification(value: str) -> str | Err:
    if not value:
        return Err(f"empty (expected one of {_CLASSIFICATIONS})")
    try:
        return Classification(value.lower()).value
    except ValueError:
        return Err(f"unknown classification {value!r} (expected one of {_CLASSIFICATIONS})")


def check_severity(value: str) -> str | Err:
    if not value:
        return Severity.UNSPECIFIED.value
    try:
        return Severity(value.lower()).value
    except ValueError:
        return Err(f"unknown severity {value!r} (expected one of {_SEVERITIES}, or empty)")


def check_date(value: str) -> date | Err:
    if not _DATE.fullmatch(value):
        return Err(f"{value!r} is not a date: use YYYY-MM-DD" if value else "empty (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        return Err(f"{value!r} is not a date: {exc}")


def check_bool(value: str) -> bool | Err:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    shown = f"{value!r}" if value else "empty"
    return Err(f"{shown} (expected true or false)")


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
        for name in _DESCRIPTION:
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
