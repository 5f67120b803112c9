"""``patchdesk exceptions``: the queue in triage order, one exception in full, and what a
technician does to one (acknowledge, assign, release, escalate, note, resolve, reopen);
``patchdesk remediate ID``: log a remediation action from a script.

Every action is written as the configured operator (``--operator`` / the ``operator``
setting). A refused action (unknown id, an action the class does not offer, a resolve
without a note, someone else owning it ...) exits 2 with one line and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from sqlalchemy import select

from patchdesk.ages import age
from patchdesk.cli.context import BadInput, get_context, print_json
from patchdesk.cli.identity import acting_operator
from patchdesk.cli.options import now_from
from patchdesk.domain import TIER_LABELS, ExceptionState, FailureClass, Tier
from patchdesk.rules.classify import COMMON_ACTIONS, RESPONSE_PATHS, Action
from patchdesk.rules.presence import DEFAULT_STALE_AFTER
from patchdesk.rules.reboot_times import RebootTimeError, parse_reboot_time
from patchdesk.store import exception_ops as ops
from patchdesk.store.approval_policy import client_ids
from patchdesk.store.db import Database
from patchdesk.store.device_views import client_zone
from patchdesk.store.exception_views import (
    ALL_STATES,
    ExceptionDetail,
    QueueFilter,
    QueueRow,
    count_queue,
    exception_detail,
    queue_row,
    queue_rows,
)
from patchdesk.store.models import Client
from patchdesk.text import printable

DEFAULT_LIMIT = 200
MAX_PATCHES_SHOWN = 2
LAST_ACTION_WIDTH = 40

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
        if client_id is not None and session.get(Client, client_id) is None:
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
    click.echo(f"\n{shown or _plural(total, 'exception')}")


def row_document(row: QueueRow, now: datetime) -> dict[str, Any]:
    """One exception as JSON: every key always present (null when it does not apply)."""
    return {
        "id": row.id,
        "tier": int(row.tier.value),
        "tier_label": TIER_LABELS[row.tier],
        "class": row.failure_class.value,
        "state": row.state.value,
        "client": row.client_id,
        "client_name": row.client_name,
        "device_id": row.device_id,
        "device": row.hostname,
        "role": row.role.value,
        "criticality": row.criticality.value,
        "patches": list(row.patches),
        "summary": row.summary,
        "owner": row.owner,
        "opened_at": _iso(row.opened_at),
        "age_seconds": int(row.age(now).total_seconds()),
        "acknowledged_at": _iso(row.acknowledged_at),
        "escalated_at": _iso(row.escalated_at),
        "resolved_at": _iso(row.resolved_at),
        "reopened_count": row.reopened_count,
        "last_action": row.last_action,
        "last_action_at": _iso(row.last_action_at),
    }


HEADER = (
    "ID",
    "TIER",
    "CLIENT",
    "DEVICE",
    "ROLE",
    "CLASS",
    "PATCHES",
    "AGE",
    "OWNER",
    "STATE",
    "LAST ACTION",
)


def table_lines(rows: Sequence[QueueRow], now: datetime) -> list[str]:
    """Plain text, one line per exception; untrusted text through ``printable``."""
    cells = [
        (
            str(row.id),
            row.tier.value,
            printable(row.client_id),
            printable(row.hostname),
            row.role.value,
            row.failure_class.value,
            _patches(row.patches),
            age(row.age(now)),
            printable(row.owner) if row.owner else "-",
            row.state.value,
            _clip(printable(row.last_action or ""), LAST_ACTION_WIDTH) or "-",
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [HEADER, *cells]) for i in range(len(HEADER))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in [HEADER, *cells]
    ]


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


def detail_document(
    detail: ExceptionDetail, now: datetime, stale_after: timedelta = DEFAULT_STALE_AFTER
) -> dict[str, Any]:
    device = detail.device
    return {
        "exception": row_document(detail.exception, now),
        "client": {
            "id": detail.exception.client_id,
            "name": detail.exception.client_name,
            "timezone": detail.client_timezone,
        },
        "device": {
            "id": device.id,
            "hostname": device.hostname,
            "role": device.role.value,
            "criticality": device.criticality.value,
            "os_family": device.os_family.value,
            "os_name": device.os_name,
            "os_version": device.os_version,
            "site": device.site,
            "tags": list(device.tags),
            "maintenance_mode": device.maintenance_mode,
            "online": device.online,
            "status": device.presence(now, stale_after).value,
            "last_seen": _iso(device.last_seen),
            "last_boot": _iso(device.last_boot),
        },
        "patches": [
            {
                "id": patch.vendor_id,
                "title": patch.title,
                "classification": patch.classification,
                "severity": patch.severity,
                "reboot_required": patch.reboot_required,
            }
            for patch in detail.patches
        ],
        "actions": [
            {
                "id": action.id,
                "label": action.label,
                "engine_command": _engine_command(action),
            }
            for action in detail.actions
        ],
        "history": [
            {
                "seq": entry.seq,
                "at": _iso(entry.at),
                "actor": entry.actor,
                "operator": entry.operator,
                "action": entry.action,
                "outcome": entry.outcome,
                "note": entry.note,
            }
            for entry in detail.history
        ],
        "commands": [
            {
                "id": command.id,
                "kind": command.kind.value,
                "state": command.state.value,
                "patch": command.patch,
                "args": dict(command.args),
                "requested_by": command.requested_by,
                "requested_at": _iso(command.requested_at),
                "started_at": _iso(command.started_at),
                "completed_at": _iso(command.completed_at),
                "not_before": _iso(command.not_before),
                "result": command.result,
            }
            for command in detail.commands
        ],
    }


def detail_lines(
    detail: ExceptionDetail, now: datetime, stale_after: timedelta = DEFAULT_STALE_AFTER
) -> list[str]:
    row, device = detail.exception, detail.device
    p = printable
    os_text = " ".join(part for part in (device.os_name, device.os_version) if part)
    facts = [device.role.value, device.criticality.value, p(os_text or device.os_family.value)]
    if device.site:
        facts.append(f"site {p(device.site)}")
    if device.maintenance_mode:
        facts.append("maintenance mode")
    seen = device.presence(now, stale_after).value
    seen += f", last seen {_when(device.last_seen, now)}"
    owner = f"{p(row.owner)} since {_when(row.acknowledged_at, now)}" if row.owner else "nobody"
    lines = [
        f"exception {row.id}: {row.failure_class.value}, tier {row.tier.value} "
        f"({TIER_LABELS[row.tier]}), {row.state.value}",
        f"  client    {p(row.client_id)} ({p(row.client_name)}, {p(detail.client_timezone)})",
        f"  device    {p(device.hostname)} ({', '.join(facts)}; {seen})",
        f"  summary   {p(row.summary) or '-'}",
        f"  opened    {_when(row.opened_at, now)}"
        + (f", reopened {_plural(row.reopened_count, 'time')}" if row.reopened_count else ""),
        f"  owner     {owner}",
    ]
    if row.escalated_at:
        lines.append(f"  escalated {_when(row.escalated_at, now)}")
    if row.resolved_at:
        lines.append(f"  resolved  {_when(row.resolved_at, now)}")
    lines.append(f"  last      {p(row.last_action or '-')} ({_when(row.last_action_at, now)})")
    lines += ["", "patches"]
    lines += [
        f"  {p(patch.vendor_id)}  {p(patch.title)} ({patch.classification}, {patch.severity})"
        for patch in detail.patches
    ] or ["  (none)"]
    lines += ["", "actions (patchdesk remediate ID --action ACTION)"]
    lines += [f"  {a.id:<20} {a.label}{_action_note(a)}" for a in detail.actions]
    lines += ["", "history"]
    lines += [
        f"  #{entry.seq} {_utc(entry.at)}  {p(entry.actor)}"
        + (f" (for {p(entry.operator)})" if entry.operator != entry.actor else "")
        + f"  {p(entry.action)}: {p(entry.outcome)}"
        + (f"  {p(entry.note)}" if entry.note else "")
        for entry in detail.history
    ] or ["  (none)"]
    lines += ["", "commands"]
    lines += [
        f"  {command.id}  {command.kind.value}"
        + (f" {p(command.patch)}" if command.patch else "")
        + f"  {command.state.value}  by {p(command.requested_by)} at {_utc(command.requested_at)}"
        + (f", for {_utc(command.not_before)}" if command.not_before else "")
        + (f"  {p(command.result)}" if command.result else "")
        for command in detail.commands
    ] or ["  (none)"]
    return lines


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
        zone_name = session.scalar(select(Client.timezone).where(Client.id == row.client_id))
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


def _action_note(action: Action) -> str:
    """What choosing the action does beyond its log record."""
    command = _engine_command(action)
    if command is not None:
        return f"  [engine: {command}]"
    if action.command is None and action.id not in ops.COMMON_ACTION_IDS:
        return "  [your own work: logs what you did]"
    return ""


def _engine_command(action: Action) -> str | None:
    """The command the action queues for the engine (resolve has a command kind in classify,
    but is written directly)."""
    if action.command is None or action.id in ops.COMMON_ACTION_IDS:
        return None
    return action.command.value


def _filtered(query: QueueFilter) -> bool:
    return query != QueueFilter()


def _patches(vendor_ids: Sequence[str]) -> str:
    if not vendor_ids:
        return "-"
    shown = ",".join(printable(v) for v in vendor_ids[:MAX_PATCHES_SHOWN])
    more = len(vendor_ids) - MAX_PATCHES_SHOWN
    return f"{shown} +{more}" if more > 0 else shown


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


def _utc(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _when(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "never"
    ago = f"{age(now - at)} ago" if at <= now else f"in {age(at - now)}"
    return f"{_utc(at)} ({ago})"
