"""``patchdesk exclusions``: the per-device patch exclusions (a patch the engine does not
target on one device), and ``exclusions lift ID``.

An exclusion is made by the ``exclude_patch`` remediation of an install exception
(``patchdesk remediate ID --action exclude_patch --note WHY``, or the remediation form);
the engine writes it at its next step. Lifting it is logged as the configured operator; the
engine targets the patch on the device again from its next window, when it is still
approved and missing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from patchdesk.cli.context import BadInput, get_context, print_json
from patchdesk.cli.identity import acting_operator
from patchdesk.cli.options import now_from
from patchdesk.store import exclusions as store
from patchdesk.store.client_lookup import client_exists
from patchdesk.store.device_search import find_devices
from patchdesk.text import printable

AS_JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
NOW = click.option("--now", "now_text", hidden=True, help="Pretend it is this time (tests).")
HEADER = ("ID", "CLIENT", "DEVICE", "PATCH", "BY", "SINCE", "REASON")
REASON_WIDTH = 50


@click.group(invoke_without_command=True)
@click.option("--client", "client_id", metavar="ID", help="Only this client's devices.")
@click.option("--device", "host", metavar="HOST", help="Only this device (HOST or HOST@CLIENT).")
@click.option("--all", "include_lifted", is_flag=True, help="Lifted ones too.")
@AS_JSON
@click.pass_context
def exclusions(
    ctx: click.Context,
    client_id: str | None,
    host: str | None,
    include_lifted: bool,
    as_json: bool,
) -> None:
    """Patches the engine does not target on one device, until lifted. Without options:
    every active exclusion.

    \b
    `patchdesk exclusions lift ID` lifts one.
    """
    if ctx.invoked_subcommand is not None:
        return
    with get_context().database().session() as session:
        if client_id is not None and not client_exists(session, client_id):
            raise BadInput(f"patchdesk: unknown client {printable(client_id)!r}")
        device_id = None
        if host is not None:
            found = find_devices(session, host)
            if found.single is None:
                what = "several devices are" if found.matches else "no device is"
                raise BadInput(
                    f"patchdesk: --device: {what} named {printable(host)!r} "
                    "(give HOST@CLIENT for one client's device)"
                )
            device_id = found.single.id
        rows = store.list_exclusions(
            session, client_id=client_id, device_id=device_id, include_lifted=include_lifted
        )
    if as_json:
        print_json([_document(row) for row in rows])
        return
    if not rows:
        click.echo("no exclusions" if include_lifted else "no active exclusions")
        return
    for line in _table(rows):
        click.echo(line)


@exclusions.command("lift")
@click.argument("exclusion_id", type=int, metavar="ID")
@click.option("--note", default=None, help="Why (optional).")
@AS_JSON
@NOW
def lift(exclusion_id: int, note: str | None, as_json: bool, now_text: str | None) -> None:
    """Lift exclusion ID: the engine targets the patch on the device again."""
    context = get_context()
    database = context.database()  # a missing database is said first, then who is acting
    operator = acting_operator()
    now = now_from(now_text)
    try:
        result = store.lift(database, exclusion_id, operator, now=now, note=note)
    except store.Refused as exc:
        raise BadInput(f"patchdesk: {printable(str(exc))}") from None
    if as_json:
        print_json(
            {
                "exclusion": _document(result.exclusion),
                "record_seq": result.record_seq,
                "message": result.message,
            }
        )
    else:
        click.echo(printable(result.message))


def _document(row: store.ExclusionView) -> dict[str, Any]:
    return {
        "id": row.id,
        "client": row.client_id,
        "device_id": row.device_id,
        "device": row.hostname,
        "patch": row.vendor_id,
        "title": row.title,
        "reason": row.reason,
        "exception": row.exception_id,
        "excluded_by": row.excluded_by,
        "excluded_at": _iso(row.excluded_at),
        "active": row.active,
        "lifted_by": row.lifted_by,
        "lifted_at": _iso(row.lifted_at),
        "lift_note": row.lift_note,
    }


def _table(rows: tuple[store.ExclusionView, ...]) -> list[str]:
    cells = [
        (
            str(row.id),
            printable(row.client_id),
            printable(row.hostname),
            printable(row.vendor_id),
            printable(row.excluded_by),
            f"{row.excluded_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
            + ("" if row.active else " (lifted)"),
            _clip(" ".join(printable(row.reason).split())),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [HEADER, *cells]) for i in range(len(HEADER))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in [HEADER, *cells]
    ]


def _clip(text: str) -> str:
    return text if len(text) <= REASON_WIDTH else text[: REASON_WIDTH - 1] + "…"


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()
