"""``patchdesk audit``: the remediation log's integrity."""

from __future__ import annotations

import click

from patchdesk.commands.context import EXIT_RUNTIME, get_context, print_json
from patchdesk.store.audit import verify_chain


@click.group()
def audit() -> None:
    """The append-only remediation log."""


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def audit_verify(as_json: bool) -> None:
    """Walk the hash chain: exit 0 with a count, or 1 naming the first bad record."""
    with get_context().database().session() as session:
        report = verify_chain(session)
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "count": report.count,
                "problem": report.problem,
                "record_id": report.record_id,
                "seq": report.seq,
            }
        )
    elif report.ok:
        click.echo(f"remediation log intact: {report.count} records verified")
    else:
        where = f" (record id {report.record_id})" if report.record_id is not None else ""
        click.echo(
            f"remediation log BROKEN after {report.count} good records: {report.problem}{where}",
            err=True,
        )
    if not report.ok:
        click.get_current_context().exit(EXIT_RUNTIME)
