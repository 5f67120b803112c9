"""Devices from a CSV inventory file: parse and validate (no store; ``store.inventory_ops``
applies the rows).

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

Problems are reported per row as ``FILE:LINE: column: message``, where LINE is the
physical line the row starts on (the header is line 1; a quoted field may span lines).
A file with any problem imports nothing. The file itself is read as untrusted
(``patchdesk.untrusted_files``): at most 64 MiB, lines of at most 64 KiB characters.

Importing is an upsert keyed by (client, hostname) (``store.inventory_ops.apply_inventory``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from patchdesk.domain import Criticality, Role, default_criticality
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

COLUMNS = ("hostname", "client", "site", "role", "criticality", "os", "tags", "external_id")
TAG_SEPARATOR = ";"

# Column widths in the store (PostgreSQL enforces them; the import reports them instead).
MAX_HOSTNAME = 255
MAX_SITE = 200
MAX_OS = 200
MAX_EXTERNAL_ID = 200

_ROLES = ", ".join(role.value for role in Role)
_CRITICALITIES = ", ".join(c.value for c in Criticality)


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
        message = f"unknown client {default_client!r} ({NO_CLIENT_HINT})"
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
        if is_blank(fields):
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


def parse_header(
    header: Sequence[str], *, line: int, client_given: bool
) -> dict[str, int] | list[Problem]:
    """Column name -> position, or what is wrong with the header."""
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
    cells = {name: trim(fields[position]) for name, position in columns.items()}
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
            external_id = Err(f"{external_id!r} is already on line {first}")
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
    problems = [Problem(line, col, val.message) for col, val in checked if isinstance(val, Err)]
    if (
        not problems
        and isinstance(client, str)
        and isinstance(hostname, str)
        and not isinstance(site, Err)
        and isinstance(role, Role)
        and isinstance(criticality, Criticality)
        and isinstance(os_name, str)
        and not isinstance(external_id, Err)
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


def resolve_client(value: str, default_client: str | None) -> str | Err:
    """The row's client id: its own, else ``--client``; never one different from it."""
    if not value:
        return default_client if default_client is not None else Err("empty, and no --client given")
    if default_client is not None and value != default_client:
        return Err(f"{value!r} is not the --client {default_client!r}")
    return value


def check_known(client_id: str, default_client: str | None, known: Collection[str]) -> str | Err:
    """An unknown ``--client`` is reported once for the file, not on every row."""
    if client_id in known or client_id == default_client:
        return client_id
    return Err(f"unknown client {client_id!r} ({NO_CLIENT_HINT})")


def check_first(
    hostname: str, client_id: str, line: int, seen: dict[tuple[str, str], int]
) -> str | Err:
    """The hostname, unless an earlier line already had it for this client."""
    first = seen.setdefault((client_id, hostname), line)
    if first != line:
        return Err(f"{hostname!r} for client {client_id!r} is already on line {first}")
    return hostname


def check_hostname(value: str) -> str | Err:
    if not value:
        return Err("empty")
    return check_control(value) or check_length(value, MAX_HOSTNAME)


def check_role(value: str) -> Role | Err:
    if not value:
        return Err(f"empty (expected one of {_ROLES})")
    try:
        return Role(value.lower())
    except ValueError:
        return Err(f"unknown role {value!r} (expected one of {_ROLES})")


def check_criticality(value: str, role: Role | Err) -> Criticality | Err | None:
    """The criticality; None when it is empty and the role is bad (nothing to default to)."""
    if not value:
        return default_criticality(role) if isinstance(role, Role) else None
    try:
        return Criticality(value.lower())
    except ValueError:
        expected = f"expected one of {_CRITICALITIES}, or empty for the role's default"
        return Err(f"unknown criticality {value!r} ({expected})")


def check_length(value: str, limit: int) -> str | Err:
    if len(value) > limit:
        return Err(f"longer than {limit} characters ({len(value)})")
    return value


def check_optional(value: str, limit: int) -> str | Err | None:
    """An optional text value: None when empty."""
    return check_length(value, limit) if value else None


def parse_tags(value: str) -> tuple[str, ...]:
    """``"pilot; vip;;pilot"`` -> ``("pilot", "vip")``: trimmed, no empties, first wins."""
    tags = (trim(part) for part in value.split(TAG_SEPARATOR))
    return tuple(dict.fromkeys(tag for tag in tags if tag))
