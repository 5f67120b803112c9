"""``patchdesk approvals``: each patch's approval decision and why; decisions from scripts."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import click

from patchdesk.cli.context import BadInput, get_context, print_json
from patchdesk.cli.identity import acting_operator
from patchdesk.domain import ApprovalDecisionKind
from patchdesk.rules.approval import ApprovalState, StateFilter, start_of_day, until_from_text
from patchdesk.rules.approval_rows import ApprovalRow, client_rows, filter_rows
from patchdesk.store.approval_inputs import load_approvals
from patchdesk.store.approval_ops import DecisionError, DecisionRequest, record_decision
from patchdesk.store.approval_policy import client_ids, client_zone, load_blocklist
from patchdesk.store.approval_views import BlockLine, read_blocklist
from patchdesk.store.blocklist import BlocklistChange, add_to_blocklist, remove_from_blocklist
from patchdesk.text import printable

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
STATE_WIDTH = max(len(state.value) for state in ApprovalState)


@click.group(invoke_without_command=True)
@click.option("--client", "client_id", metavar="ID", help="Only this client.")
@click.option(
    "--state",
    type=click.Choice([f.value for f in StateFilter]),
    help="pending: waits for a technician; waiting: a ring waits for the one before it.",
)
@click.option(
    "--at",
    "at_text",
    metavar="ISO",
    help="Decide as of this time (ISO 8601 with offset, or a date = 00:00 UTC); default now.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def approvals(
    ctx: click.Context,
    client_id: str | None,
    state: str | None,
    at_text: str | None,
    as_json: bool,
) -> None:
    """Each missing patch's approval decision, per client, and the reason in words.

    \b
    A client with rings gets one line per ring (and per emergency); "devices" counts
    the in-scope devices that miss the patch. States: approved (may deploy now),
    pending_manual, deferred (until a date), blocked, not_yet (a ring waits for the
    ring before it). Subcommands record a technician's decision.
    """
    if ctx.invoked_subcommand is not None:
        return
    database = get_context().database()
    now = _parse_at(at_text) if at_text else get_context().now()
    with database.session() as session:
        if client_id is not None and client_id not in client_ids(session):
            raise BadInput(_unknown_client(client_id, client_ids(session)))
        clients = load_approvals(session, client_id)
        blocklist = load_blocklist(session)
    rows = [row for client in clients for row in client_rows(client, blocklist=blocklist, now=now)]
    rows = filter_rows(rows, StateFilter(state) if state else None)
    if as_json:
        print_json([row_document(row) for row in rows])
        return
    for line in table_lines(rows, state):
        click.echo(line)


# --- the listing ----------------------------------------------------------------------------


def row_document(row: ApprovalRow) -> dict[str, Any]:
    """One listing row as JSON: every key always present (null when it does not apply)."""
    decision = row.decision
    patch = row.patch
    wait = decision.wait
    manual = decision.manual
    return {
        "client": row.client_id,
        "patch_id": patch.vendor_id,
        "title": patch.title,
        "vendor": patch.vendor,
        "product": patch.product,
        "classification": patch.classification.value,
        "severity": patch.severity.value,
        "release_date": patch.release_date.isoformat(),
        "devices": row.devices,
        "hostnames": list(row.hostnames),
        "state": decision.state.value,
        "reason": decision.reason,
        "decided_by": decision.decided_by.value,
        "rule": None
        if decision.rule is None
        else {"position": decision.rule.number, "name": decision.rule.name},
        "ring": decision.ring,
        "from": _iso(decision.approved_from),
        "until": _iso(decision.until),
        "emergency": decision.emergency,
        "waiting_for": None
        if wait is None
        else {
            "ring": wait.ring,
            "why": wait.why.value,
            "until": _iso(wait.until),
            "deployed": wait.progress.deployed,
            "succeeded": wait.progress.succeeded,
            "failed": wait.progress.failed,
            "success_rate": None
            if wait.progress.success_rate is None
            else float(wait.progress.success_rate),
            "threshold": wait.threshold,
            "open_regressions": wait.progress.open_regressions,
        },
        "manual": None
        if manual is None
        else {
            "id": manual.id,
            "decision": manual.kind.value,
            "operator": manual.operator,
            "decided_at": _iso(manual.decided_at),
        },
    }


def table_lines(rows: Sequence[ApprovalRow], state: str | None = None) -> list[str]:
    """Plain text: a heading per client, a block per patch, a line per decision."""
    if not rows:
        return [f"nothing in state {state}" if state else "no missing patches to decide on"]
    lines: list[str] = []
    client: str | None = None
    patch: tuple[str, str] | None = None
    for row in rows:
        if row.client_id != client:
            if lines:
                lines.append("")
            client, patch = row.client_id, None
            lines.append(printable(row.client_id))
        if (row.client_id, row.patch.vendor_id) != patch:
            patch = (row.client_id, row.patch.vendor_id)
            lines += _patch_heading(row)
        devices = f"{row.devices} device{'' if row.devices == 1 else 's'}"
        lines.append(
            f"    {row.decision.state.value:<{STATE_WIDTH}}  {devices:>11}  "
            f"{printable(row.decision.reason)}"
        )
    lines += ["", summary_line(rows)]
    return lines


def _patch_heading(row: ApprovalRow) -> list[str]:
    patch = row.patch
    facts = [patch.classification.value, patch.severity.value]
    if patch.product:
        facts.append(printable(patch.product))
    facts.append(f"released {patch.release_date.isoformat()}")
    return [
        f"  {printable(patch.vendor_id)}  {printable(patch.title)}",
        f"    {' · '.join(facts)}",
    ]


def summary_line(rows: Sequence[ApprovalRow]) -> str:
    patches = len({(row.client_id, row.patch.vendor_id) for row in rows})
    counts = Counter(row.decision.state for row in rows)
    states = ", ".join(f"{counts[s]} {s.value}" for s in ApprovalState if counts[s])
    decisions = f"{len(rows)} decision{'' if len(rows) == 1 else 's'}"
    return f"{patches} patch{'' if patches == 1 else 'es'}, {decisions}: {states}"


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


def _parse_at(text: str) -> datetime:
    if _DATE.fullmatch(text):
        return start_of_day(date.fromisoformat(text), UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadInput(f"patchdesk: --at: {text!r} is not an ISO 8601 date or time") from None
    if parsed.tzinfo is None:
        raise BadInput(f"patchdesk: --at: {text!r} needs a UTC offset, e.g. {text}Z") from None
    return parsed.astimezone(UTC)


def _unknown_client(client_id: str, known: Sequence[str]) -> str:
    listed = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
    hint = f" (known: {listed})" if known else " (no clients yet: run policy apply)"
    return f"patchdesk: unknown client {client_id!r}{hint}"


# --- recording decisions --------------------------------------------------------------------

CLIENT = click.option("--client", "client_id", required=True, metavar="ID", help="The client.")
PATCH = click.argument("patch_id")


@approvals.command("approve")
@CLIENT
@PATCH
@click.option("--reason", default="", help="Why (optional).")
def approve(client_id: str, patch_id: str, reason: str) -> None:
    """Approve PATCH_ID for the client, overriding its rules (rings still apply)."""
    _record(DecisionRequest(client_id, patch_id, ApprovalDecisionKind.APPROVE, _operator(), reason))


@approvals.command("block")
@CLIENT
@PATCH
@click.option("--reason", default="", help="Why (required).")
def block(client_id: str, patch_id: str, reason: str) -> None:
    """Block PATCH_ID for the client (until a newer decision)."""
    _record(DecisionRequest(client_id, patch_id, ApprovalDecisionKind.BLOCK, _operator(), reason))


@approvals.command("defer")
@CLIENT
@PATCH
@click.option(
    "--until",
    "until_text",
    metavar="DATE|ISO",
    help="Required. A date (from 00:00 in the client's time zone) or an ISO time with offset.",
)
@click.option("--reason", default="", help="Why (optional).")
def defer(client_id: str, patch_id: str, until_text: str | None, reason: str) -> None:
    """Hold PATCH_ID for the client until a date; then the earlier decision or the rules apply."""
    until = _parse_until(until_text, client_id) if until_text else None
    kind = ApprovalDecisionKind.DEFER
    _record(DecisionRequest(client_id, patch_id, kind, _operator(), reason, until))


@approvals.command("emergency")
@CLIENT
@PATCH
@click.option("--device", "hostnames", multiple=True, metavar="HOST", help="Repeatable.")
@click.option("--reason", default="", help="Why (required).")
def emergency(client_id: str, patch_id: str, hostnames: tuple[str, ...], reason: str) -> None:
    """Approve PATCH_ID at once for the chosen devices, outside windows and rings."""
    kind = ApprovalDecisionKind.EMERGENCY
    _record(DecisionRequest(client_id, patch_id, kind, _operator(), reason, None, hostnames))


def _operator() -> str:
    get_context().database()  # a missing database is said first, then who is acting
    return acting_operator()


def _parse_until(text: str, client_id: str) -> datetime:
    """A date is the start of that day in the client's zone (UTC for an unknown client)."""
    with get_context().database().session() as session:
        zone = client_zone(session, client_id)
    try:
        return until_from_text(text, zone or UTC)
    except ValueError as exc:
        raise BadInput(f"patchdesk: --until: {exc}") from None


def _record(request: DecisionRequest) -> None:
    database = get_context().database()
    now = get_context().now()
    try:
        with database.writer() as session:
            recorded = record_decision(session, request, now=now)
    except DecisionError as exc:
        raise BadInput([f"patchdesk: {problem}" for problem in exc.problems]) from exc
    vendor_id = recorded.patch_id
    click.echo(
        f"{recorded.client_id}: {printable(recorded.note)} "
        f"(decision {recorded.id}, by {printable(request.operator)})"
    )
    with database.session() as session:
        clients = load_approvals(session, request.client_id)
        blocklist = load_blocklist(session)
    rows = [
        row
        for client in clients
        for row in client_rows(client, blocklist=blocklist, now=now)
        if row.patch.vendor_id == vendor_id
    ]
    for row in rows:
        devices = f"{row.devices} device{'' if row.devices == 1 else 's'}"
        click.echo(f"  now {row.decision.state.value}, {devices}: {printable(row.decision.reason)}")
    if not rows:
        click.echo("  (no in-scope device of this client misses it now)")


# --- the global block list ------------------------------------------------------------------


@approvals.group("blocklist", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def blocklist(ctx: click.Context, as_json: bool) -> None:
    """The global block list: patches blocked for every client, over every approval.

    \b
    Subcommands add and remove entries (a reason each; stored, evented, in the
    remediation log), as the approvals screen's block list does.
    """
    if ctx.invoked_subcommand is not None:
        return
    with get_context().database().session() as session:
        lines = read_blocklist(session)
    if as_json:
        print_json([_block_document(line) for line in lines])
        return
    if not lines:
        click.echo("the global block list is empty")
    for line in lines:
        missing = f"{line.devices_missing} device{'' if line.devices_missing == 1 else 's'}"
        click.echo(
            f"{printable(line.patch_id)}  blocked by {printable(line.blocked_by)} on "
            f"{line.blocked_at.astimezone(UTC).date().isoformat()}, {missing} missing it: "
            f"{printable(line.reason)}"
        )


def _block_document(line: BlockLine) -> dict[str, Any]:
    return {
        "patch_id": line.patch_id,
        "reason": line.reason,
        "blocked_by": line.blocked_by,
        "blocked_at": _iso(line.blocked_at),
        "title": line.title,
        "devices_missing": line.devices_missing,
    }


@blocklist.command("add")
@PATCH
@click.option("--reason", default="", help="Why (required).")
def blocklist_add(patch_id: str, reason: str) -> None:
    """Block PATCH_ID for every client (an id no device reported yet may be listed too)."""
    _change_blocklist(add_to_blocklist, patch_id, reason)


@blocklist.command("remove")
@PATCH
@click.option("--reason", default="", help="Why the block is lifted (required).")
def blocklist_remove(patch_id: str, reason: str) -> None:
    """Lift the global block on PATCH_ID: the clients' rules and decisions apply again."""
    _change_blocklist(remove_from_blocklist, patch_id, reason)


def _change_blocklist(change: Callable[..., BlocklistChange], patch_id: str, reason: str) -> None:
    operator = _operator()
    try:
        with get_context().database().writer() as session:
            done = change(session, patch_id, reason, operator, now=get_context().now())
    except DecisionError as exc:
        raise BadInput([f"patchdesk: {problem}" for problem in exc.problems]) from exc
    click.echo(printable(done.note))
