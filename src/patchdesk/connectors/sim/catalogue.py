"""The simulator's patch catalogue: believable patches for one patch cycle.

:func:`build_catalogue` gives the patches of the cycle that starts on the Patch Tuesday
``cycle`` (release dates are relative to it): Windows cumulative, servicing-stack,
out-of-band and preview updates with KB numbers, .NET, Office and Microsoft 365 Apps,
SQL Server, Defender definitions and platform, the malicious software removal tool, a
feature upgrade, drivers, third-party applications (Chrome, Firefox, Acrobat Reader,
7-Zip, Zoom, Notepad++, Teams), macOS (updates, Safari, XProtect, Tahoe) and Ubuntu / Red
Hat packages. Every :class:`~patchdesk.domain.Classification` occurs.

An entry applies to devices by OS key (:func:`os_key`) and, optionally, role; a device
misses it with probability ``prevalence``. Entries of one ``group`` supersede each other
(the newest released one is the one a device reports, e.g. Defender definitions). The
numbers in titles (KB numbers, versions) follow the cycle's month, so two cycles differ.

The entries are data, read once from the package's CSV files (``windows_patches.csv``:
Microsoft's patches and drivers; ``other_patches.csv``: third-party, macOS and Linux), in
file order, one row each:

- ``vendor_id``, ``title``: templates (``sim.templates``); an empty title is the vendor id;
- ``vendor``, ``product``, ``classification``, ``severity`` (the enum values);
- ``day``: released that many days after Patch Tuesday, or on a fixed ``YYYY-MM-DD``;
  ``hour``: at that UTC hour (empty: 18);
- ``reboot``: ``true`` or ``false``;
- ``os_keys``: ``;``-separated OS keys or groups (``windows``, ``windows_clients``,
  ``windows_servers``, ``macos``); ``roles``: ``;``-separated roles or ``workstations``,
  empty for every role;
- ``prevalence``, ``minutes``, ``difficulty`` (empty: 1.0), numbers: an integer stays one;
- ``errors``: a key of ``sim.errors``; ``group``: empty, or the entries superseding each other.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from importlib.resources import files
from typing import TypeVar

from patchdesk.connectors.sim.entry import (
    MACOS,
    WINDOWS,
    WINDOWS_CLIENTS,
    WINDOWS_SERVERS,
    WORKSTATIONS,
    CatalogueEntry,
    Cycle,
    entry,
)
from patchdesk.connectors.sim.templates import Template, Values
from patchdesk.domain import Classification, Role, Severity

DATA_FILES = ("windows_patches.csv", "other_patches.csv")
DEFAULT_HOUR = 18

_OS_GROUPS = {
    "windows": WINDOWS,
    "windows_clients": WINDOWS_CLIENTS,
    "windows_servers": WINDOWS_SERVERS,
    "macos": MACOS,
}
_ROLE_GROUPS = {"workstations": WORKSTATIONS}

T = TypeVar("T")


def build_catalogue(cycle: date) -> tuple[CatalogueEntry, ...]:
    """Every patch of the cycle starting on Patch Tuesday ``cycle``."""
    c = Cycle.of(cycle)
    values: Values = {
        "m": c.months,
        "kb": int(c.kb(0).removeprefix("KB")),
        "year": c.tuesday.year,
        "ym": c.ym,
    }
    entries = [row.entry(c, values) for row in _rows()]
    ids = [item.vendor_id for item in entries]
    if len(set(ids)) != len(ids):
        raise AssertionError("duplicate vendor ids in the simulator catalogue")
    return tuple(entries)


@dataclass(frozen=True)
class _Row:
    """One row of a catalogue file, parsed; the cycle fills in its templates and day."""

    vendor_id: Template
    title: Template
    vendor: str
    product: str
    classification: Classification
    severity: Severity
    day: int | date
    hour: int
    reboot: bool
    os_keys: frozenset[str]
    roles: frozenset[Role]
    prevalence: float
    minutes: float
    difficulty: float
    errors: str
    group: str

    def entry(self, c: Cycle, values: Values) -> CatalogueEntry:
        if isinstance(self.day, date):
            released = datetime.combine(self.day, time(self.hour), tzinfo=UTC)
        else:
            released = c.day(self.day, hour=self.hour)
        return entry(
            self.vendor_id.render(values),
            self.title.render(values),
            self.vendor,
            self.product,
            self.classification,
            self.severity,
            released,
            reboot=self.reboot,
            os_keys=self.os_keys,
            roles=self.roles,
            prevalence=self.prevalence,
            minutes=self.minutes,
            difficulty=self.difficulty,
            errors=self.errors,
            group=self.group,
        )


@cache
def _rows() -> tuple[_Row, ...]:
    rows: list[_Row] = []
    for name in DATA_FILES:
        text = files("patchdesk.connectors.sim").joinpath(name).read_text(encoding="utf-8")
        for line, record in enumerate(csv.DictReader(io.StringIO(text, newline="")), start=2):
            try:
                rows.append(_parse(record))
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{name}:{line}: {exc}") from exc
    return tuple(rows)


def _parse(record: dict[str, str]) -> _Row:
    day = record["day"]
    return _Row(
        vendor_id=Template.parse(record["vendor_id"]),
        title=Template.parse(record["title"] or record["vendor_id"]),
        vendor=record["vendor"],
        product=record["product"],
        classification=Classification(record["classification"]),
        severity=Severity(record["severity"]),
        day=date.fromisoformat(day) if "-" in day[1:] else int(day),
        hour=int(record["hour"]) if record["hour"] else DEFAULT_HOUR,
        reboot={"true": True, "false": False}[record["reboot"]],
        os_keys=_tokens(record["os_keys"], _OS_GROUPS, lambda key: key),
        roles=_tokens(record["roles"], _ROLE_GROUPS, Role),
        prevalence=float(record["prevalence"]),
        minutes=_number(record["minutes"]),
        difficulty=_number(record["difficulty"]) if record["difficulty"] else 1.0,
        errors=record["errors"],
        group=record["group"],
    )


def _tokens(
    text: str, groups: Mapping[str, frozenset[T]], single: Callable[[str], T]
) -> frozenset[T]:
    """``;``-separated names, each a group of the mapping or one value."""
    found: list[T] = []
    for token in filter(None, text.split(";")):
        found.extend(groups[token] if token in groups else [single(token)])
    return frozenset(found)


def _number(text: str) -> float:
    """An integer as written stays an int (as the catalogue always had it)."""
    return int(text) if text.lstrip("-").isdigit() else float(text)
