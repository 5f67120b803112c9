"""``patchdesk windows``: upcoming maintenance-window occurrences, in client time and UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import click

from patchdesk.ages import age
from patchdesk.cli.context import BadInput, get_context, print_json
from patchdesk.policy.describe import occurrence_status, span_text
from patchdesk.store.client_lookup import client_exists
from patchdesk.store.window_views import Scheduled, in_range, load_windows, upcoming
from patchdesk.text import printable

DEFAULT_SPAN = timedelta(days=7)


def parse_instant(value: str, option: str) -> datetime:
    """An ISO 8601 date or date-time; without an offset it is read as UTC."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise BadInput(
                f"patchdesk: {option}: {value!r} is not an ISO 8601 date or time "
                "(e.g. 2026-11-01 or 2026-11-01T02:00:00Z)"
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def status(item: Scheduled, now: datetime) -> str:
    occurrence = item.occurrence
    return occurrence_status(occurrence.start_utc, occurrence.end_utc, now)


def local_range(item: Scheduled) -> str:
    return span_text(item.occurrence.start_local, item.occurrence.end_local)


def utc_range(item: Scheduled) -> str:
    start, end = item.occurrence.start_utc, item.occurrence.end_utc
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%m-%d %H:%M}"
    return f"{start:%Y-%m-%d %H:%M} – {end_text}"


def as_json(item: Scheduled) -> dict[str, Any]:
    occurrence = item.occurrence
    return {
        "client": item.window.client_id,
        "window": item.window.spec.name,
        "start_utc": occurrence.start_utc.isoformat(),
        "end_utc": occurrence.end_utc.isoformat(),
        "start_local": occurrence.start_local.isoformat(),
        "end_local": occurrence.end_local.isoformat(),
        "timezone": item.window.timezone,
    }


def table(items: list[Scheduled], now: datetime) -> list[str]:
    header = ("CLIENT", "WINDOW", "LOCAL (client time)", "UTC", "DURATION", "STATUS")
    rows = [
        (
            printable(item.window.client_id),
            printable(item.window.spec.name),
            local_range(item),
            utc_range(item),
            age(item.occurrence.duration),
            status(item, now),
        )
        for item in items
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


@click.command()
@click.option("--client", "client_id", metavar="ID", help="Only this client's windows.")
@click.option("--window", "window_name", metavar="NAME", help="Only windows with this name.")
@click.option("--from", "start_text", metavar="ISO", help="Start of the range (default: now).")
@click.option("--to", "end_text", metavar="ISO", help="End of the range (default: 7 days on).")
@click.option("--count", type=click.IntRange(1, 1000), help="The next N occurrences instead.")
@click.option("--json", "as_json_flag", is_flag=True, help="Print one JSON document.")
@click.option("--now", "now_text", hidden=True, help="Pretend it is this time (for tests).")
def windows(
    client_id: str | None,
    window_name: str | None,
    start_text: str | None,
    end_text: str | None,
    count: int | None,
    as_json_flag: bool,
    now_text: str | None,
) -> None:
    """Upcoming maintenance-window occurrences in client-local time and UTC.

    Times without an offset are read as UTC. Occurrences already open at --from are listed.
    """
    if end_text is not None and count is not None:
        raise BadInput("patchdesk: give --to or --count, not both")
    now = parse_instant(now_text, "--now") if now_text else get_context().now()
    start = parse_instant(start_text, "--from") if start_text else now
    end = parse_instant(end_text, "--to") if end_text else start + DEFAULT_SPAN
    if end <= start:
        raise BadInput("patchdesk: --to must be later than --from")
    with get_context().database().session() as session:
        if client_id is not None and not client_exists(session, client_id):
            raise BadInput(f"patchdesk: unknown client {client_id!r}")
        selected = load_windows(session, client_id=client_id, window_name=window_name)
    if window_name is not None and not selected:
        raise BadInput(f"patchdesk: no active window named {window_name!r}")
    items = upcoming(selected, start, count) if count else in_range(selected, start, end)
    if as_json_flag:
        print_json([as_json(item) for item in items])
    elif not items:
        click.echo("no occurrences in that range")
    else:
        for line in table(items, now):
            click.echo(line)
