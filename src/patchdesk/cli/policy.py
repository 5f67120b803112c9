"""``patchdesk policy``: client policy files in, policy documents out."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError

from patchdesk.cli.context import BadInput, fail, get_context, print_json
from patchdesk.cli.identity import acting_operator
from patchdesk.policy.load import PolicySet, load_paths
from patchdesk.store.errors import SQLAlchemyError
from patchdesk.store.policy_ops import ApplyReport, apply_policies
from patchdesk.store.policy_views import export_json, export_markdown, known_client_ids, read_export

FILES = click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))


@click.group()
def policy() -> None:
    """Client policy files: validate, apply, export."""


def _load(files: tuple[Path, ...], *, applying: bool) -> PolicySet:
    """Every file, valid together; otherwise exit 2 with one line per problem."""
    result = load_paths(files)
    if isinstance(result, PolicySet):
        return result
    lines = [str(problem) for problem in result]
    if applying:
        lines.append(f"nothing applied: {_count(len(result), 'problem')}")
    raise BadInput(lines)


def _count(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


@policy.command("validate")
@FILES
def validate(files: tuple[Path, ...]) -> None:
    """Check policy files and list every problem.

    FILES are policy files or directories of *.toml files. Prints one
    FILE:LINE: field.path: message line per problem and exits 2, or a summary and exits 0.
    """
    policies = _load(files, applying=False)
    click.echo(
        f"{_count(len(policies.files), 'file')} OK: {_count(len(policies.clients), 'client')}, "
        f"{_count(len(policies.blocklist), 'block-list entry', 'block-list entries')}"
    )


@policy.command("apply")
@FILES
def apply(files: tuple[Path, ...]) -> None:
    """Validate, then apply policy files in one transaction.

    Any bad file means nothing is applied. Applying the same files again changes nothing.
    Windows left out of a file are deactivated; block-list entries left out are kept
    (lifting a block is a technician's action).
    """
    policies = _load(files, applying=True)
    context = get_context()
    context.check_creatable()  # a mistyped path is said first, then who is acting
    operator = acting_operator()
    database = context.database(create=True)  # policy apply may start a new database
    now = context.now()
    try:
        with database.writer() as session:
            report = apply_policies(session, policies, now=now, operator=operator)
    except SQLAlchemyError as exc:
        reason = (str(getattr(exc, "orig", None) or exc).splitlines() or [""])[0]
        fail(f"policy apply failed, nothing was applied: {exc.__class__.__name__}: {reason}")
    for line in report_lines(report):
        click.echo(line)


def report_lines(report: ApplyReport) -> list[str]:
    """What ``apply`` prints: one line per client, then the block list."""
    if not report.changed:
        return [
            f"no changes: {_count(len(report.clients), 'client')} and "
            f"{_count(report.blocklist_entries, 'block-list entry', 'block-list entries')} "
            "already up to date"
        ]
    lines = [f"{changes.client_id}: {changes.summary()}" for changes in report.clients]
    if report.blocklist.changed:
        lines.append(f"block list: {report.blocklist.summary()}")
    return lines


@policy.command("export")
@click.option("--client", "client_id", required=True, metavar="ID", help="The client's id.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["md", "json"]),
    default="md",
    show_default=True,
    help="Markdown for people, or one JSON document.",
)
def export(client_id: str, output_format: str) -> None:
    """Print one client's applied policy for its IT contact.

    Markdown for people, or one JSON document whose client and blocklist members use the
    policy-file structure.
    """
    now = get_context().now()
    with get_context().database().session() as session:
        try:
            document = read_export(session, client_id, now=now)
        except ValidationError as exc:
            fail(f"the stored policy of {client_id!r} is not valid any more: {exc}")
        known = [] if document is not None else known_client_ids(session)
    if document is None:
        listed = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
        raise BadInput(
            f"patchdesk: unknown client {client_id!r}"
            + (f" (known: {listed})" if known else " (no clients yet: run policy apply)")
        )
    if output_format == "json":
        print_json(export_json(document))
    else:
        click.echo(export_markdown(document), nl=False)
