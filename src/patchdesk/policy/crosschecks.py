"""Rules across items of policy files, checked on the raw TOML data.

They run on the parsed TOML rather than on validated models so that they are reported even
when other fields of the same file are wrong ("every error, in one go"). Each check yields
``(path, message)`` findings; values of the wrong shape are skipped (the model reports them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from patchdesk.policy.locate import Path
from patchdesk.policy.models import document_problem

Finding = tuple[Path, str]


def client_tables(raw: Mapping[str, Any]) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    """Each client table with its path: ("client",) or ("clients", i)."""
    single = raw.get("client")
    if isinstance(single, Mapping):
        yield ("client",), single
    several = raw.get("clients")
    if isinstance(several, list):
        for index, table in enumerate(several):
            if isinstance(table, Mapping):
                yield ("clients", index), table


def client_id_sites(raw: Mapping[str, Any]) -> list[tuple[Path, str]]:
    """Every client id in a file, with the path of its ``id`` key."""
    return [
        ((*path, "id"), table["id"])
        for path, table in client_tables(raw)
        if isinstance(table.get("id"), str)
    ]


def patch_id_sites(raw: Mapping[str, Any]) -> list[tuple[Path, str]]:
    """Every block-list patch id in a file, with the path of its ``patch_id`` key."""
    entries = raw.get("blocklist")
    if not isinstance(entries, list):
        return []
    return [
        (("blocklist", index, "patch_id"), entry["patch_id"])
        for index, entry in enumerate(entries)
        if isinstance(entry, Mapping) and isinstance(entry.get("patch_id"), str)
    ]


def _tables(value: object) -> list[tuple[int, Mapping[str, Any]]]:
    if not isinstance(value, list):
        return []
    return [(index, item) for index, item in enumerate(value) if isinstance(item, Mapping)]


def duplicate_names(items: object, base: Path, kind: str) -> list[Finding]:
    """Names that repeat in a list of tables (compared ignoring case and outer blanks)."""
    first: dict[str, int] = {}
    findings: list[Finding] = []
    for index, table in _tables(items):
        name = table.get("name")
        if not isinstance(name, str):
            continue
        key = name.strip().casefold()
        if key in first:
            findings.append(
                (
                    (*base, index, "name"),
                    f"{kind} name {name!r} is already used by {base[-1]}[{first[key]}]",
                )
            )
        else:
            first[key] = index
    return findings


def ring_order(rings: object, base: Path) -> list[Finding]:
    """Only the last ring may leave ``tags`` empty (it then takes every remaining device)."""
    tables = _tables(rings)
    last = len(rings) - 1 if isinstance(rings, list) else -1
    return [
        (
            (*base, index, "tags"),
            "only the last ring may leave tags empty (it takes every device not in an "
            "earlier ring): give this ring the tags that select its devices",
        )
        for index, ring in tables
        if index != last and ring.get("tags", []) == []
    ]


def file_findings(raw: Mapping[str, Any]) -> list[Finding]:
    """The findings inside one file (duplicate ids are checked across files).

    The top-level check repeats the model's, so that it is reported even when a client
    table has errors of its own (then the model's check does not run).
    """
    problem = document_problem(raw.get("client"), raw.get("clients"), raw.get("blocklist"))
    findings: list[Finding] = [((), problem)] if problem else []
    for path, table in client_tables(raw):
        findings += duplicate_names(table.get("windows"), (*path, "windows"), "window")
        findings += duplicate_names(table.get("rings"), (*path, "rings"), "ring")
        findings += ring_order(table.get("rings"), (*path, "rings"))
    return findings
