"""``patchdesk exceptions``: the queue in triage order, one exception in full, and what a
technician does to one (acknowledge, assign, release, escalate, note, resolve, reopen);
``patchdesk remediate ID``: log a remediation action from a script.

Every action is written as the configured operator (``--operator`` / the ``operator``
setting). A refused action (unknown id, an action the class does not offer, a resolve
without a note, someone else owning it ...) exits 2 with one line and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import click

from patchdesk.cli.context import BadInput, get_context, print_json
from patchdesk.cli.exceptions_text import (
    detail_document,
    detail_lines,
    plural,
    row_document,
    table_lines,
)
from patchdesk.cli.identity import acting_operator
from patchdesk.cli.options import now_from
from patchdesk.domain import ExceptionState, FailureClass, Tier
from patchdesk.rules.reboot_times import RebootTimeError, parse_reboot_time
from patchdesk.rules.response_paths import COMMON_ACTIONS, RESPONSE_PATHS
from patchdesk.store import exception_ops as ops
from patchdesk.store.approval_policy import client_ids
from patchdesk.store.client_lookup import client_exists, client_timezone
from patchdesk.store.db import Database
from patchdesk.store.device_views import client_zone
from patchdesk.store.exception_views import (
    ALL_STATES,
    QueueFilter,
    QueueRow,
    count_queue,
    exception_detail,
    queue_row,
    queue_rows,
)
from patchdesk.text import printable

DEFAULT_LIMIT = 200

AS_JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
NOW = click.option("--now", "now_text", hidden=True, help="Pretend it is this time (tests).")
EXCEPTION_ID = click.argument("exception_id", type=int, metavar="ID")
TAKE_OVER = click.option(
    "--take-over",
    is_flag=True,
    help="ID is someone else's: take it over (a take-over record in the log) and act.",
)


def _actions_help() -> str:
    lines = [f"{failure_class.value}: " for failure_class in FailureClass]
    for i, failure_class in enumerate(FailureClass):
        lines[i] += ", ".join(action.id for action in RESPONSE_PATHS[failure_class])
    common = ", ".join(action.id for action in COMMON_ACTIONS)
    return "; ".join(lines) + f"; any class: {common}"


# --- the listing ----------------------------------------------------------------------------


@click.group(invoke_without_command=True)
@click.option("--client", "client_id", metavar="ID", help="Only this client.")
@click.option("--tier", type=click.Choice([t.value for t in Tier]), help="Only this tier.")
@click.option(
    "--class",
    "failure_class",
    type=click.Choice([c.value for c in FailureClass]),
    help="Only this failure class.",
)
@click.option(
    "--state",
    type=click.Choice([s.value for s in ExceptionState]),
    help="Only this state (default: every unresolved one).",
)
@click.option("--all", "all_states", is_flag=True, help="Resolved ones too.")
@click.option("--owner", metavar="NAME", help="Only those this technician owns.")
@click.option("--mine", is_flag=True, help="Only those you own (the operator setting).")
@click.option("--unassigned", is_flag=True, help="Only those nobody owns.")
@click.option("--search", metavar="TEXT", help="Text in hostname, client, summary or owner.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=DEFAULT_LIMIT, show_default=True)
@AS_JSON
@NOW
@click.pass_context
def exceptions(
    ctx: click.Context,
    client_id: str | None,
    tier: str | None,
    failure_class: str | None,
    state: str | None,
    all_states: bool,
    owner: str | None,
    mine: bool,
    unassigned: bool,
    search: str | None,
    limit: int,
    as_json: bool,
    now_text: str | None,
) -> None:
    """The exception queue in triage order: tier, then class (offline, regression, reboot,
    install), then age, oldest first. Without options: every unresolved exception.

    \b
    Subcommands show one exception in full and act on one (as the operator setting);
    `patchdesk remediate ID --action ACTION` logs a remediation action.
    """
    if ctx.invoked_subcommand is not None:
        return
    if state is not None and all_states:
        raise BadInput("patchdesk: give --state or --all, not both")
    if sum((owner is not None, mine, unassigned)) > 1:
        raise BadInput("patchdesk: give one of --owner, --mine, --unassigned")
    context = get_context()
    query = QueueFilter(
        client_id=client_id,
        tier=Tier(tier) if tier else None,
        failure_class=FailureClass(failure_class) if failure_class else None,
        states=ALL_STATES
        if all_states
        else ({ExceptionState(state)} if state else QueueFilter().states),
        owner=context.settings.operator if mine else owner,
        unassigned=unassigned,
        search=search,
    )
    now = now_from(now_text)
    with context.database().session() as session:
        if client_id is not None and not client_exists(session, client_id):
            known = client_ids(session)
            hint = f" (known: {', '.join(known[:20])})" if known else ""
            raise BadInput(f"patchdesk: unknown client {printable(client_id)!r}{hint}")
        rows = queue_rows(session, query, limit=limit)
        total = count_queue(session, query) if len(rows) == limit else len(rows)
    if as_json:
        print_json([row_document(row, now) for row in rows])
        return
    if not rows:
        click.echo("no exceptions match" if _filtered(query) else "no open exceptions")
        return
    for line in table_lines(rows, now):
        click.echo(line)
    shown = f"{len(rows)} of {total} exceptions (--limit)" if total > len(rows) else None
    click.echo(f"\n{shown or plural(total, 'exception')}")


# --- one exception --------------------------------------------------------------------------


@exceptions.command("show")
@EXCEPTION_ID
@AS_JSON
@NOW
def show(exception_id: int, as_json: bool, now_text: str | None) -> None:
    """One exception in full: device, patches, actions offered, remediation history and
    the operator commands queued for it, with their results."""
    now = now_from(now_text)
    ctx = get_context()
    stale_after = ctx.settings.stale_after()
    with ctx.database().session() as session:
        detail = exception_detail(session, exception_id)
    if detail is None:
        raise BadInput(f"patchdesk: no exception with id {exception_id}")
    if as_json:
        print_json(detail_document(detail, now, stale_after))
    else:
        for line in detail_lines(detail, now, stale_after):
            click.echo(line)


# --- acting on one --------------------------------------------------------------------------


@exceptions.command("ack")
@EXCEPTION_ID
@TAKE_OVER
@AS_JSON
@NOW
def ack(exception_id: int, take_over: bool, as_json: bool, now_text: str | None) -> None:
    """Acknowledge ID and take ownership (refused if someone owns it, unless --take-over)."""
    _perform(
        lambda db, me, now: ops.acknowledge(db, exception_id, me, now=now, take_over=take_over),
        as_json,
        now_text,
    )


@exceptions.command("assign")
@EXCEPTION_ID
@click.argument("to", metavar="NAME")
@click.option("--note", default=None, help="Why (optional).")
@AS_JSON
@NOW
def assign(
    exception_id: int, to: str, note: str | None, as_json: bool, now_text: str | None
) -> None:
    """Make NAME the owner of ID."""
    _perform(
        lambda db, me, now: ops.assign(db, exception_id, me, to, now=now, note=note),
        as_json,
        now_text,
    )


@exceptions.command("release")
@EXCEPTION_ID
@click.option("--note", default=None, help="Why (optional).")
@AS_JSON
@NOW
def release(exception_id: int, note: str | None, as_json: bool, now_text: str | None) -> None:
    """Give ID back to the queue (only its owner may)."""
    _perform(
        lambda db, me, now: ops.release(db, exception_id, me, now=now, note=note),
        as_json,
        now_text,
    )


@exceptions.command("escalate")
@EXCEPTION_ID
@click.option("--to", "target", metavar="WHO", help="To whom: a person or a queue (free text).")
@click.option("--note", default=None, help="Why (optional).")
@TAKE_OVER
@AS_JSON
@NOW
def escalate(
    exception_id: int,
    target: str | None,
    note: str | None,
    take_over: bool,
    as_json: bool,
    now_text: str | None,
) -> None:
    """Escalate ID (the owner stays; one nobody owns becomes yours)."""
    _perform(
        lambda db, me, now: ops.escalate(
            db, exception_id, me, now=now, note=note, to=target, take_over=take_over
        ),
        as_json,
        now_text,
    )


@exceptions.command("note")
@EXCEPTION_ID
@click.argument("text")
@TAKE_OVER
@AS_JSON
@NOW
def note(
    exception_id: int, text: str, take_over: bool, as_json: bool, now_text: str | None
) -> None:
    """Add a note to ID's remediation history."""
    _perform(
        lambda db, me, now: ops.add_note(db, exception_id, me, text, now=now, take_over=take_over),
        as_json,
        now_text,
    )


@exceptions.command("resolve")
@EXCEPTION_ID
@click.option("--note", default="", help="Required: what fixed it.")
@TAKE_OVER
@AS_JSON
@NOW
def resolve(
    exception_id: int, note: str, take_over: bool, as_json: bool, now_text: str | None
) -> None:
    """Resolve ID; a note is required."""
    _perform(
        lambda db, me, now: ops.resolve(db, exception_id, me, note, now=now, take_over=take_over),
        as_json,
        now_text,
    )


@exceptions.command("reopen")
@EXCEPTION_ID
@click.option("--note", default="", help="Required: why it is not fixed.")
@AS_JSON
@NOW
def reopen(exception_id: int, note: str, as_json: bool, now_text: str | None) -> None:
    """Reopen resolved ID (open and unowned again); a note is required."""
    _perform(lambda db, me, now: ops.reopen(db, exception_id, me, note, now=now), as_json, now_text)


@click.command()
@EXCEPTION_ID
@click.option(
    "--action",
    "action_id",
    metavar="ACTION",
    help=f"The action, from the exception's class: {_actions_help()}.",
)
@click.option("--outcome", default=None, help="Short result (default: done, or queued).")
@click.option(
    "--note",
    default=None,
    help="What was done, or why (required with --resolve, the blocks, exclude_patch).",
)
@click.option(
    "--patch",
    "patch_text",
    metavar="PATCH_ID",
    help="For rollback_patch, the blocks and exclude_patch: which of the exception's patches.",
)
@click.option(
    "--at",
    "at_text",
    metavar="TIME",
    help="For schedule_reboot: when, in the client's time (YYYY-MM-DD HH:MM, or HH:MM for "
    "the next one; an ISO time with an offset is taken as given). Must fall inside one of "
    "the device's windows that allow a reboot.",
)
@click.option("--resolve", "resolve_too", is_flag=True, help="Also resolve it (needs --note).")
@TAKE_OVER
@AS_JSON
@NOW
def remediate(
    exception_id: int,
    action_id: str | None,
    outcome: str | None,
    note: str | None,
    patch_text: str | None,
    at_text: str | None,
    resolve_too: bool,
    take_over: bool,
    as_json: bool,
    now_text: str | None,
) -> None:
    """Log a remediation action on exception ID, as the configured operator (ID becomes
    yours if nobody owns it; someone else's needs --take-over).

    \b
    Actions the engine carries out (retry_install, force_reboot, schedule_reboot,
    rollback_patch, block_patch_client, block_patch_global, exclude_patch, wake_on_lan)
    also queue its command; its result shows in `patchdesk exceptions show ID`.
    exclude_patch needs --note (the reason; the engine stops targeting the patch on the
    device until `patchdesk exclusions lift`); schedule_reboot needs --at. The other
    actions record work you did yourself (outcome and note say what happened).
    `--resolve --note TEXT` alone resolves; with a manual action it logs the action and
    resolves in one step.
    """
    with get_context().database().session() as session:
        row = queue_row(session, exception_id)
        if row is None:
            raise BadInput(f"patchdesk: no exception with id {exception_id}")
        zone_name = client_timezone(session, row.client_id)
    if action_id is None:
        if not resolve_too:
            offered = ", ".join(a.id for a in RESPONSE_PATHS[row.failure_class] + COMMON_ACTIONS)
            raise BadInput(
                f"patchdesk: --action: required; for this {row.failure_class.value} "
                f"exception one of: {offered}"
            )
        action_id, resolve_too = "resolve", False
    patch_id = _patch_id(row, patch_text) if patch_text is not None else None
    zone = client_zone(zone_name or "UTC")

    def act(db: Database, me: str, now: datetime) -> ops.OpResult:
        reboot_at = None
        if at_text is not None:
            try:
                reboot_at = parse_reboot_time(at_text, zone, now)
            except RebootTimeError as exc:
                raise BadInput(f"patchdesk: --at: {printable(str(exc))}") from None
        return ops.log_remediation(
            db,
            exception_id,
            me,
            action_id,
            now=now,
            outcome=outcome,
            note=note,
            patch_id=patch_id,
            resolve=resolve_too,
            take_over=take_over,
            reboot_at=reboot_at,
        )

    _perform(act, as_json, now_text)


# --- helpers --------------------------------------------------------------------------------


def _perform(
    act: Callable[[Database, str, datetime], ops.OpResult], as_json: bool, now_text: str | None
) -> None:
    context = get_context()
    database = context.database()  # a missing database is said first, then who is acting
    operator = acting_operator()
    try:
        result = act(database, operator, now_from(now_text))
    except ops.NotYours as exc:
        raise BadInput(
            f"patchdesk: exception {exc.exception_id} is owned by {printable(exc.owner)}: "
            "add --take-over to take it over (the take-over is logged)"
        ) from None
    except ops.Refused as exc:
        raise BadInput(f"patchdesk: {printable(str(exc))}") from None
    if as_json:
        print_json(
            {
                "exception": result.exception_id,
                "action": result.action,
                "state": result.state.value,
                "owner": result.owner,
                "record_seq": result.record_seq,
                "command": result.command_id,
                "message": result.message,
            }
        )
    else:
        click.echo(printable(result.message))


def _patch_id(row: QueueRow, text: str) -> int:
    wanted = text.strip().lower()
    for patch_id, vendor_id in zip(row.patch_ids, row.patches, strict=True):
        if vendor_id.lower() == wanted:
            return patch_id
    listed = ", ".join(printable(v) for v in row.patches) or "none"
    raise BadInput(
        f"patchdesk: --patch: {printable(text)!r} is not one of exception {row.id}'s patches "
        f"({listed})"
    )


def _filtered(query: QueueFilter) -> bool:
    return query != QueueFilter()
