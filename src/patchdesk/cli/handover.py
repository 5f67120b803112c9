"""``patchdesk handover``: what a technician pastes into the shift log."""

from __future__ import annotations

import json
from datetime import timedelta

import click

from patchdesk.cli.context import BadInput, get_context
from patchdesk.cli.options import database_option, now_from, now_option
from patchdesk.cli.windows import parse_instant
from patchdesk.policy.durations import parse_duration
from patchdesk.reports.handover_document import document, markdown
from patchdesk.store.handover import handover_summary, recent_handover_notes
from patchdesk.text import json_escaped
from patchdesk.timezones import operator_zone

MAX_LISTED = 50
MAX_NOTES = 50


@click.command()
@click.option(
    "--since",
    "since_text",
    default="8h",
    show_default=True,
    metavar="DURATION|ISO",
    help='The shift\'s start: a duration back from now ("8h", "12h", "1d") or an ISO time.',
)
@click.option("--format", "fmt", type=click.Choice(("md", "json")), default="md", show_default=True)
@database_option
@now_option
def handover(since_text: str, fmt: str, now_text: str | None) -> None:
    """The shift handover: exceptions opened and resolved during the shift, what is still
    open by tier and unassigned, escalations, and the handover notes of the shift."""
    now = now_from(now_text)
    try:
        since = now - timedelta(minutes=parse_duration(since_text))
    except ValueError:
        if not any(ch in since_text for ch in "-:T"):
            raise BadInput(
                f"patchdesk: --since: {since_text!r} is neither a duration (8h, 90m, 1d) "
                "nor an ISO time"
            ) from None
        since = parse_instant(since_text, "--since")
    if since > now:
        raise BadInput("patchdesk: --since: the shift cannot start in the future")
    context = get_context()
    with context.database().session() as session:
        summary = handover_summary(session, since=since, now=now, limit=MAX_LISTED, notes=0)
        notes = recent_handover_notes(session, limit=MAX_NOTES, since=since)
    if fmt == "json":
        click.echo(json_escaped(json.dumps(document(summary, notes), indent=2, ensure_ascii=False)))
    else:
        click.echo(markdown(summary, notes, operator_zone(context.settings.timezone)), nl=False)
