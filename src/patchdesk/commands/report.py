"""``patchdesk report cycle``: the post-patch report of one client for one cycle."""

from __future__ import annotations

from pathlib import Path

import click

from patchdesk.commands.context import BadInput, RuntimeFailure, get_context
from patchdesk.commands.metrics import check_client, cycle_option_value
from patchdesk.commands.options import database_option, now_from, now_option
from patchdesk.engine.metrics.cycles import cycle_of
from patchdesk.reports.cycle_formats import FORMATS, render
from patchdesk.store.approvals import client_ids, client_zone
from patchdesk.store.report_views import cycle_report


def write_output(text: str, output: Path | None) -> None:
    """To ``output`` (say where on stderr), or stdout."""
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise RuntimeFailure(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"wrote {output}", err=True)


OUTPUT = click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file (default: stdout).",
)


@click.group()
def report() -> None:
    """Reports for clients: the post-patch report of a cycle."""


@report.command("cycle")
@click.option("--client", "client_id", metavar="ID", required=True, help="The client.")
@click.option("--cycle", "cycle_text", metavar="YYYY-MM", help="The cycle (default: the current).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="md", show_default=True)
@OUTPUT
@database_option
@now_option
def cycle(
    client_id: str, cycle_text: str | None, fmt: str, output: Path | None, now_text: str | None
) -> None:
    """The post-patch report: scope, windows used (client-local times), targets by outcome,
    failures by class with devices and patches, exceptions with their remediation history,
    compliance before and after, emergency patches.

    \b
    md reads well in a ticket; html is one self-contained file that prints well;
    csv has one row per target (device in a window); json is complete.
    """
    now = now_from(now_text)
    with get_context().database().session() as session:
        check_client(client_ids(session), client_id)
        zone = client_zone(session, client_id)
        assert zone is not None  # the client exists
        chosen = cycle_option_value(cycle_text, cycle_of(now, zone))
        built = cycle_report(session, client_id, chosen, now)
    if built is None:  # pragma: no cover - checked above
        raise BadInput(f"patchdesk: unknown client {client_id!r}")
    write_output(render(built, fmt), output)
