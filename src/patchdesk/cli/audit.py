"""``patchdesk audit``: the remediation log's integrity, its key and its anchors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
import httpx

from patchdesk.cli.context import (
    EXIT_BAD_INPUT,
    EXIT_RUNTIME,
    BadInput,
    fail,
    get_context,
    print_json,
)
from patchdesk.cli.identity import acting_operator
from patchdesk.store.anchors import (
    MARK,
    Anchor,
    BadAnchor,
    anchor_problems,
    head_anchor,
    parse_line,
)
from patchdesk.store.remediation_log import (
    ChainReport,
    LogNotKeyable,
    key_log,
    log_key,
    verify_chain,
)
from patchdesk.text import printable

WEBHOOK_TIMEOUT_SECONDS = 10.0


@click.group()
def audit() -> None:
    """The append-only remediation log."""


# --- verify ------------------------------------------------------------------------------


def read_anchor_file(path: Path) -> list[tuple[int, Anchor]]:
    """Every anchor in ``path`` with its line number; BadInput (exit 2) naming FILE:LINE for
    each line that names an anchor but is not one, for a missing file, and for a file with
    no anchor at all."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"patchdesk: --anchors: no anchor file at {path}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not a text file (UTF-8)") from None
    except OSError as exc:
        raise BadInput(f"patchdesk: --anchors: {path}: {exc.strerror or exc}") from None
    anchors: list[tuple[int, Anchor]] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            anchor = parse_line(line)
        except BadAnchor as exc:
            problems.append(f"{path}:{number}: {exc}")
            continue
        if anchor is not None:
            anchors.append((number, anchor))
    if problems:
        raise BadInput(problems)
    if not anchors:
        raise BadInput(f"{path}: no anchors in the file (lines with {MARK} seq=N at=TIME mac=HEX)")
    return anchors


@audit.command("verify")
@click.option(
    "--anchors",
    "anchors_file",
    metavar="FILE",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also check every anchor in FILE (audit anchor's lines, or a saved handover).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def audit_verify(anchors_file: Path | None, as_json: bool) -> None:
    """Walk the hash chain and its MACs: exit 0 with a count, or 1 naming the first bad
    record (and every record stamped earlier than the record before it), or an anchor the
    log no longer matches; 2 when the key file cannot verify this log."""
    anchors = read_anchor_file(anchors_file) if anchors_file is not None else []
    context = get_context()
    with context.database().session() as session:
        report = verify_chain(session)
        problems = anchor_problems(session, [anchor for _line, anchor in anchors])
    mismatched = [
        (line, anchor, problem)
        for (line, anchor), problem in zip(anchors, problems, strict=True)
        if problem is not None
    ]
    if as_json:
        print_json(_verify_document(report, anchors_file, len(anchors), mismatched))
    else:
        _print_report(report)
        if anchors_file is not None:
            for line, _anchor, problem in mismatched:
                click.echo(f"{anchors_file}:{line}: {problem}", err=True)
            one = len(anchors) == 1
            counted = f"{len(anchors)} anchor{'' if one else 's'} in {anchors_file}"
            if mismatched:
                verb = "matches" if len(mismatched) == 1 else "match"
                click.echo(f"{len(mismatched)} of {counted} no longer {verb} the log", err=True)
            else:
                click.echo(f"{counted} {'matches' if one else 'match'} the log")
    if mismatched or (not report.ok and report.key_problem is None):
        click.get_current_context().exit(EXIT_RUNTIME)
    if report.key_problem is not None:
        click.get_current_context().exit(EXIT_BAD_INPUT)


def _verify_document(
    report: ChainReport,
    anchors_file: Path | None,
    checked: int,
    mismatched: list[tuple[int, Anchor, str]],
) -> dict[str, Any]:
    return {
        "ok": report.ok and not mismatched,
        "count": report.count,
        "problem": report.problem,
        "record_id": report.record_id,
        "seq": report.seq,
        "stamped_earlier": list(report.earlier),
        "keyed": report.keying is not None,
        "key_fingerprint": report.keying.fingerprint if report.keying else None,
        "key_problem": report.key_problem,
        "anchors": None
        if anchors_file is None
        else {
            "file": str(anchors_file),
            "checked": checked,
            "mismatched": [
                {"line": line, "seq": anchor.seq, "problem": problem}
                for line, anchor, problem in mismatched
            ],
        },
    }


def _print_report(report: ChainReport) -> None:
    if report.key_problem is not None:
        click.echo(f"remediation log not verified: {report.key_problem}", err=True)
        return
    if report.ok:
        keyed = f" (key {report.keying.fingerprint})" if report.keying else " (not keyed yet)"
        click.echo(f"remediation log intact: {report.count} records verified{keyed}")
        return
    where = f" (record id {report.record_id})" if report.record_id is not None else ""
    if report.chain_broken:
        click.echo(
            f"remediation log BROKEN after {report.count} good records: {report.problem}{where}",
            err=True,
        )
    elif report.problem is not None:
        click.echo(
            f"remediation log out of time order ({report.count} records, chain intact): "
            f"{report.problem}{where}",
            err=True,
        )
    if len(report.earlier) > 1:
        seqs = ", ".join(str(seq) for seq in report.earlier)
        click.echo(f"records stamped earlier than the record before them: seq {seqs}", err=True)
    if report.unkeyed and not report.chain_broken:
        click.echo(
            f"remediation log not keyed: its {report.count} records carry no MAC, so anyone "
            "who can write the database could rewrite them undetected; the next append keys "
            "it, or patchdesk audit rekey",
            err=True,
        )


# --- rekey -------------------------------------------------------------------------------


@audit.command("rekey")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def audit_rekey(as_json: bool) -> None:
    """Key the remediation log now if it is not keyed yet (else say with which key): verify
    its hash chain, give every record its MAC, and log it under your name. Exit 1 when the
    chain is broken (nothing is keyed)."""
    operator = acting_operator()
    context = get_context()
    now = context.now()
    database = context.database()
    try:
        with database.writer() as session:
            keying = key_log(session, operator=operator, at=now)
    except LogNotKeyable as exc:
        fail(str(exc))
    path = database.keyring.path
    if as_json:
        print_json(
            {
                "keyed_now": keying.now,
                "key_fingerprint": keying.fingerprint,
                "key_file": str(path),
                "key_file_created": database.keyring.created,
                "keyed_at": keying.keyed_at.isoformat(),
                "actor": keying.actor,
                "operator": keying.operator,
                "records_keyed": keying.records_keyed,
            }
        )
        return
    if keying.now:
        click.echo(
            f"remediation log keyed with key {keying.fingerprint} (key file {path}): "
            f"{keying.records_keyed} records verified and given their MACs, logged as "
            f"{printable(operator)}"
        )
    else:
        click.echo(
            f"remediation log already keyed with key {keying.fingerprint} since "
            f"{keying.keyed_at:%Y-%m-%d %H:%M} UTC (by {printable(keying.actor)}, for "
            f"{printable(keying.operator)}); key file {path}"
        )


# --- anchor ------------------------------------------------------------------------------


def _webhook(value: str) -> httpx.URL:
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError, ValueError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise BadInput(f"patchdesk: --webhook: {printable(value)!r} is not an http(s) URL")
    return url


def _shown(url: httpx.URL) -> str:
    """The URL for messages, its password (if any) hidden."""
    return str(url.copy_with(username=url.username, password="***")) if url.password else str(url)


def _append_line(path: Path, line: str) -> None:
    """``line`` at the end of ``path`` (created 0600 when missing), on a line of its own."""
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        fail(f"cannot append the anchor to {path}: {exc.strerror or exc}")
    with os.fdopen(descriptor, "r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        prefix = b""
        if size:
            handle.seek(size - 1)
            prefix = b"" if handle.read(1) == b"\n" else b"\n"
        handle.write(prefix + line.encode("ascii") + b"\n")
        handle.flush()
        os.fsync(handle.fileno())


@audit.command("anchor")
@click.option(
    "--append",
    "append_file",
    metavar="FILE",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Append the anchor line to FILE (created 0600 if absent) instead of printing it.",
)
@click.option("--webhook", metavar="URL", help="POST the anchor as JSON to URL.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def audit_anchor(append_file: Path | None, webhook: str | None, as_json: bool) -> None:
    """The log's head (seq, time, MAC) as one line to keep outside patchdesk: audit verify
    --anchors FILE later reports a log that no longer matches it."""
    url = _webhook(webhook) if webhook is not None else None
    if append_file is not None and not append_file.parent.is_dir():
        raise BadInput(f"patchdesk: --append: no directory {append_file.parent}")
    with get_context().database().session() as session:
        anchor = head_anchor(session)
        keying = log_key(session)
    # (no transaction is open from here on: the file and the webhook may take their time)
    if anchor is None or keying is None:
        fail(
            "the remediation log has no keyed record to anchor (it is empty, or not keyed "
            "yet: patchdesk audit rekey)"
        )
    document = {
        "seq": anchor.seq,
        "at": anchor.at_text,
        "mac": anchor.mac,
        "key_fingerprint": keying.fingerprint,
        "anchor": anchor.line,
    }
    if append_file is not None:
        _append_line(append_file, anchor.line)
    if url is not None:
        try:
            response = httpx.post(url, json=document, timeout=WEBHOOK_TIMEOUT_SECONDS)
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            fail(f"anchor not posted to {_shown(url)}: HTTP {exc.response.status_code}")
        except httpx.HTTPError as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            fail(f"anchor not posted to {_shown(url)}: {printable(reason)}")
    if as_json:
        print_json(
            {
                **document,
                "appended_to": str(append_file) if append_file else None,
                "posted_to": _shown(url) if url else None,
            }
        )
        return
    if append_file is None:
        click.echo(anchor.line)
    else:
        click.echo(f"patchdesk: anchor seq {anchor.seq} appended to {append_file}", err=True)
    if url is not None:
        click.echo(f"patchdesk: anchor seq {anchor.seq} posted to {_shown(url)}", err=True)
