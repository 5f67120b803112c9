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
    """Walk the hash chain: exit 0 with a count, or 1 naming the first bad record (and every
    record stamped earlier than the record before it)."""
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
                "stamped_earlier": list(report.earlier),
            }
        )
    elif report.ok:
        click.echo(f"remediation log intact: {report.count} records verified")
    else:
        where = f" (record id {report.record_id})" if report.record_id is not None else ""
        if report.chain_broken:
            click.echo(
                f"remediation log BROKEN after {report.count} good records: "
                f"{report.problem}{where}",
                err=True,
            )
        else:
            click.echo(
                f"remediation log out of time order ({report.count} records, chain intact): "
                f"{report.problem}{where}",
                err=True,
            )
        if len(report.earlier) > 1:
            seqs = ", ".join(str(seq) for seq in report.earlier)
            click.echo(f"records stamped earlier than the record before them: seq {seqs}", err=True)
    if not report.ok:
        click.get_current_context().exit(EXIT_RUNTIME)
