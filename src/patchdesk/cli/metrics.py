"""``patchdesk metrics``: patch compliance, failed installs, emergency patches and MTTR."""

from __future__ import annotations

from datetime import UTC

import click

from patchdesk.cli.context import BadInput, get_context, print_json
from patchdesk.cli.options import database_option, now_from, now_option
from patchdesk.reports.escape import plain
from patchdesk.reports.metrics_document import summary_document, summary_lines
from patchdesk.rules.metrics.cycles import Cycle, cycle_of, parse_cycle
from patchdesk.store.approval_policy import client_ids
from patchdesk.store.metric_views import metrics_summary


def cycle_option_value(text: str | None, default: Cycle) -> Cycle:
    if text is None:
        return default
    try:
        return parse_cycle(text)
    except ValueError as exc:
        raise BadInput(f"patchdesk: --cycle: {exc}") from None


def check_client(known: list[str], client_id: str) -> None:
    if client_id not in known:
        hint = f" (known: {', '.join(known[:20])})" if known else " (no clients yet)"
        raise BadInput(f"patchdesk: unknown client {plain(client_id)!r}{hint}")


@click.command()
@click.option("--client", "client_id", metavar="ID", help="Only this client.")
@click.option("--cycle", "cycle_text", metavar="YYYY-MM", help="The cycle (default: the current).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@database_option
@now_option
def metrics(
    client_id: str | None, cycle_text: str | None, as_json: bool, now_text: str | None
) -> None:
    """Health metrics per client and overall for one patch cycle: patch compliance (device
    and patch level), failed installs by class, emergency patches, time to remediate."""
    now = now_from(now_text)
    cycle = cycle_option_value(cycle_text, cycle_of(now, UTC))
    with get_context().database().session() as session:
        known = client_ids(session)
        if client_id is not None:
            check_client(known, client_id)
        summary = metrics_summary(session, cycle, now, [client_id] if client_id else None)
    if as_json:
        print_json(summary_document(summary))
        return
    if not summary.clients:
        click.echo("no clients yet (run 'patchdesk policy apply')")
        return
    for line in summary_lines(summary):
        click.echo(line)
