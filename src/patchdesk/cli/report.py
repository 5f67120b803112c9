"""``patchdesk report cycle``: the post-patch report of one client for one cycle, for the
client (the default) or for the MSP itself (``--audience internal``)."""

from __future__ import annotations

from pathlib import Path

import click

from patchdesk.cli.context import BadInput, RuntimeFailure, get_context
from patchdesk.cli.metrics import check_client, cycle_option_value
from patchdesk.cli.options import database_option, now_from, now_option
from patchdesk.reports.client_model import Branding
from patchdesk.reports.cycle_formats import AUDIENCES, DEFAULT_AUDIENCE, FORMATS, document
from patchdesk.rules.metrics.cycles import cycle_of
from patchdesk.settings import ReportSettings
from patchdesk.store.approval_policy import client_ids, client_zone
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
@click.option(
    "--audience",
    type=click.Choice(AUDIENCES),
    default=DEFAULT_AUDIENCE,
    show_default=True,
    help="client: plain words, no notes, names or internal codes; internal: full detail.",
)
@OUTPUT
@database_option
@now_option
def cycle(
    client_id: str,
    cycle_text: str | None,
    fmt: str,
    audience: str,
    output: Path | None,
    now_text: str | None,
) -> None:
    """The post-patch report of a client's cycle.

    \b
    client (the default): what the client receives. An executive summary, what is
    outstanding and why, the next window, device and patch compliance explained, the
    windows as scheduled, each problem and what was done in plain words, times in the
    client's zone; no technician notes, names or internal codes. The MSP's name,
    contact line and logo text come from the [report] settings.
    internal: full detail for the MSP. Scope, windows used (client-local and UTC),
    targets by outcome, failures by class, exceptions with their remediation history,
    compliance before and after, emergency patches.

    \b
    md reads well in a ticket; html is one self-contained file that prints well;
    csv has one row per target (device in a window); json is complete.
    """
    now = now_from(now_text)
    branding = branding_of(get_context().settings.report)

    with get_context().database().session() as session:
        check_client(client_ids(session), client_id)
        zone = client_zone(session, client_id)
        assert zone is not None  # the client exists
        chosen = cycle_option_value(cycle_text, cycle_of(now, zone))
        built = cycle_report(session, client_id, chosen, now)
    if built is None:  # pragma: no cover - checked above
        raise BadInput(f"patchdesk: unknown client {client_id!r}")
    if audience == "client" and not branding.msp_name:
        click.echo(
            "patchdesk: the client report names no MSP: set report.msp_name in the config "
            "file or PATCHDESK_REPORT__MSP_NAME",
            err=True,
        )
    write_output(document(built, fmt, audience, branding), output)


def branding_of(settings: ReportSettings) -> Branding:
    return Branding(settings.msp_name, settings.contact, settings.logo_text)
