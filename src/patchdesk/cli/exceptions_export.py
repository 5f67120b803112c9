"""``patchdesk exceptions export``: the exception log with every remediation record."""

from __future__ import annotations

import json
from pathlib import Path

import click

from patchdesk.cli.context import get_context
from patchdesk.cli.metrics import check_client
from patchdesk.cli.options import database_option
from patchdesk.cli.report import OUTPUT, write_output
from patchdesk.cli.windows import parse_instant
from patchdesk.reports.exception_export import document, render_csv
from patchdesk.store.approval_policy import client_ids
from patchdesk.store.exception_log import exception_log
from patchdesk.text import json_escaped


@click.command("export")
@click.option(
    "--since",
    "since_text",
    metavar="ISO",
    help="Only exceptions opened or acted on at or after this time (ISO 8601; no offset: UTC).",
)
@click.option("--client", "client_id", metavar="ID", help="Only this client.")
@click.option(
    "--format", "fmt", type=click.Choice(("csv", "json")), default="json", show_default=True
)
@OUTPUT
@database_option
def export(since_text: str | None, client_id: str | None, fmt: str, output: Path | None) -> None:
    """The exception log: every exception (any state) with its whole remediation history.

    \b
    csv: one row per remediation record, the exception's columns repeated;
    json: one document, each exception with its history nested.
    """
    since = parse_instant(since_text, "--since") if since_text else None
    with get_context().database().session() as session:
        if client_id is not None:
            check_client(client_ids(session), client_id)
        entries = exception_log(session, since=since, client_id=client_id)
    if fmt == "csv":
        text = render_csv(entries)
    else:
        found = document(entries, since=since, client_id=client_id)
        text = json_escaped(json.dumps(found, indent=2, ensure_ascii=False)) + "\n"
    write_output(text, output)
