"""``patchdesk inventory``: devices from CSV."""

from __future__ import annotations

from pathlib import Path

import click

from patchdesk.cli.context import BadInput, fail, get_context, print_json
from patchdesk.cli.identity import acting_operator
from patchdesk.inventory.device_import import (
    MOVE_FLAG,
    ExternalIdConflicts,
    ImportSummary,
    MoveExternalIds,
    UnknownClientsError,
)
from patchdesk.inventory.devices import parse_inventory
from patchdesk.inventory.patches import (
    PatchImportSummary,
    UnknownDevicesError,
    parse_missing_patches,
)
from patchdesk.inventory.records import Invalid, refusal
from patchdesk.store.errors import IntegrityError
from patchdesk.store.inventory_ops import apply_inventory, known_client_ids
from patchdesk.store.missing_patch_ops import apply_missing_patches, known_devices
from patchdesk.text import printable
from patchdesk.untrusted_files import MAX_CSV_BYTES, FileRefused, read_bytes


@click.group()
def inventory() -> None:
    """The device inventory."""


@inventory.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--client",
    "client_id",
    metavar="ID",
    help="The client of every row; the file's client column may then be absent or empty.",
)
@click.option(
    MOVE_FLAG,
    "move_external_ids",
    is_flag=True,
    help="Let rows change a device's external_id or take one another row gives up "
    "(each move is logged under your name).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def inventory_import(
    file: Path, client_id: str | None, move_external_ids: bool, as_json: bool
) -> None:
    """Create or update devices from a CSV FILE.

    \b
    Columns (header required, any order):
      hostname, client, site, role, criticality, os, tags, external_id
    role: server | shared_workstation | single_user
    criticality: critical | standard | empty (servers critical, others standard)
    tags: separated by ';'    site: created if new    external_id: the RMM's id

    Devices are matched by client and hostname and updated in place; devices not in
    the file are left alone. Any bad row is reported as FILE:LINE: column: message
    and nothing is imported (exit status 2). An external_id belongs to one device:
    changing a device's one moves its RMM link, refused without --move-external-ids.
    """
    source = str(file)
    data = read_csv(file)
    moves = MoveExternalIds(acting_operator(), source) if move_external_ids else None
    # An existing database only: its clients come from `policy apply`, so an import into a
    # new database could only fail (and leave an empty database behind).
    database = get_context().database()
    with database.session() as session:
        known = known_client_ids(session)
    parsed = parse_inventory(data, known_clients=known, default_client=client_id)
    if isinstance(parsed, Invalid):
        raise BadInput(parsed.render(source))
    now = get_context().now()
    try:
        with database.writer() as session:
            summary = apply_inventory(session, parsed, now=now, moves=moves)
    except UnknownClientsError as exc:
        raise BadInput([problem.render(source) for problem in exc.problems()]) from exc
    except ExternalIdConflicts as exc:
        raise BadInput([problem.render(source) for problem in exc.problems]) from exc
    except IntegrityError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "conflict"
        fail(f"{source}: devices changed during the import, nothing imported; retry ({reason})")
    _report(source, summary, as_json=as_json)


def read_csv(file: Path) -> bytes:
    """The CSV file's bytes (at most 64 MiB, a regular file), or exit 2 naming it."""
    try:
        return read_bytes(file, max_bytes=MAX_CSV_BYTES, kind="a CSV file")
    except FileRefused as refused:
        raise BadInput(refusal(refused).render(str(file))) from refused


def _report(source: str, summary: ImportSummary, *, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "file": source,
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "clients": [client.as_dict() for client in summary.clients],
                "external_ids_moved": [move.as_dict() for move in summary.moves],
            }
        )
        return
    if not summary.clients:
        click.echo(f"{source}: no devices")
    for client in summary.clients:
        click.echo(client.describe())
    for move in summary.moves:
        click.echo(f"moved {printable(move.describe())} (remediation log #{move.record_seq})")


@inventory.command("patches")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--client",
    "client_id",
    metavar="ID",
    help="The client of every row; the file's client column may then be absent or empty.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def inventory_patches(file: Path, client_id: str | None, as_json: bool) -> None:
    """Record which patches each device misses, from an RMM's missing-patch report (CSV).

    \b
    Columns (header required, any order):
      client, hostname, patch_id, title, vendor, product, classification,
      severity, release_date, reboot_required
    classification: security | critical | definition | update_rollup | update |
                    feature_upgrade | driver | third_party
    severity: critical | important | moderate | low | unspecified | empty
    release_date: YYYY-MM-DD    reboot_required: true | false

    Patches are created or updated by patch_id; each row records that the device
    misses the patch. Devices must exist (inventory import). Any bad row is reported
    as FILE:LINE: column: message and nothing is imported (exit status 2).
    """
    source = str(file)
    data = read_csv(file)
    database = get_context().database()
    with database.session() as session:
        known = known_devices(session)
    parsed = parse_missing_patches(data, known_devices=known, default_client=client_id)
    if isinstance(parsed, Invalid):
        raise BadInput(parsed.render(source))
    now = get_context().now()
    try:
        with database.writer() as session:
            summary = apply_missing_patches(session, parsed, now=now)
    except UnknownDevicesError as exc:
        raise BadInput([problem.render(source) for problem in exc.problems()]) from exc
    except IntegrityError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "conflict"
        fail(f"{source}: patches changed during the import, nothing imported; retry ({reason})")
    _report_patches(source, summary, as_json=as_json)


def _report_patches(source: str, summary: PatchImportSummary, *, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "file": source,
                "patches_created": list(summary.patches_created),
                "patches_updated": list(summary.patches_updated),
                "patches_unchanged": summary.patches_unchanged,
                "clients": [client.as_dict() for client in summary.clients],
            }
        )
    elif not summary.clients:
        click.echo(f"{source}: no missing patches")
    else:
        for line in summary.describe():
            click.echo(line)
