"""Which catalogue patches a simulated device misses, and which it reports now.

A device's missing set is drawn once, on first use, from the entries that apply to its OS
and role (each with the entry's prevalence; a supersedence group is drawn once for all its
entries). What it *reports* at an instant: the entries released by then and not installed
by then, and of a group only the newest released entry (a device that installed the newest
Defender definitions does not report last week's).

What a device reports is asked of many devices at every deployment, so the part that
depends on the instant only through which entries are released by then (the catalogue's
release instants are few) is remembered per device with that count
(``DeviceState.reported_rank``); installs are applied on top at every call.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime

from patchdesk.connectors.base import MissingPatch
from patchdesk.connectors.sim.device_state import TAG_MISSING, DeviceState
from patchdesk.connectors.sim.dice import subkey, unit
from patchdesk.connectors.sim.entry import CatalogueEntry
from patchdesk.domain import Role


class PatchBook:
    def __init__(self, entries: Sequence[CatalogueEntry]) -> None:
        self.entries = tuple(entries)
        self._index = {entry.vendor_id: i for i, entry in enumerate(self.entries)}
        first_of_group: dict[str, int] = {}
        for i, entry in enumerate(self.entries):
            if entry.group:
                first_of_group.setdefault(entry.group, i)
        # The draw that decides an entry: its own, or its group's first entry's.
        self._draw = tuple(
            first_of_group[entry.group] if entry.group else i
            for i, entry in enumerate(self.entries)
        )
        self._applicable: dict[tuple[str, Role], tuple[int, ...]] = {}
        # Per (OS, role): (entry, its draw, its prevalence) for each applicable entry.
        self._chances: dict[tuple[str, Role], tuple[tuple[int, int, float], ...]] = {}
        self._releases = sorted({entry.released_at for entry in self.entries})

    def index(self, vendor_id: str) -> int | None:
        return self._index.get(vendor_id)

    def applicable(self, os_key: str, role: Role) -> tuple[int, ...]:
        found = self._applicable.get((os_key, role))
        if found is None:
            found = tuple(
                i for i, entry in enumerate(self.entries) if entry.applies_to(os_key, role)
            )
            self._applicable[(os_key, role)] = found
        return found

    def missing_of(self, device: DeviceState) -> tuple[int, ...]:
        """Every entry the device misses (released or not, installed or not)."""
        if device.missing is None:
            key = subkey(device.key, TAG_MISSING)
            device.missing = tuple(
                i
                for i, draw, prevalence in self._chances_of(device.os_key, device.role)
                if unit(key, draw) < prevalence
            )
        return device.missing

    def _chances_of(self, os_key: str, role: Role) -> tuple[tuple[int, int, float], ...]:
        found = self._chances.get((os_key, role))
        if found is None:
            found = tuple(
                (i, self._draw[i], self.entries[i].prevalence)
                for i in self.applicable(os_key, role)
            )
            self._chances[(os_key, role)] = found
        return found

    def installed(self, device: DeviceState, index: int, now: datetime) -> bool:
        record = (device.installed or {}).get(index)
        if record is None:
            return False
        at, removed = record
        return at <= now and (removed is None or now < removed)

    def needs(self, device: DeviceState, index: int, now: datetime) -> bool:
        """The device misses this released entry now (installing it would do something)."""
        entry = self.entries[index]
        return (
            entry.released_at <= now
            and index in self.missing_of(device)
            and not self.installed(device, index, now)
        )

    def reported(self, device: DeviceState, now: datetime) -> tuple[MissingPatch, ...]:
        rank = bisect_right(self._releases, now)  # release instants reached by now
        if device.reported_rank != rank:
            chosen = self._released_missing(device, now)
            device.reported_chosen = chosen
            device.reported_patches = tuple(self.entries[i].patch for i in chosen)
            device.reported_rank = rank
        if device.installed is None:
            return device.reported_patches
        return tuple(
            self.entries[i].patch
            for i in device.reported_chosen
            if not self.installed(device, i, now)
        )

    def _released_missing(self, device: DeviceState, now: datetime) -> tuple[int, ...]:
        """The missed entries released by ``now``, of a group only the newest (sorted)."""
        newest: dict[str, int] = {}
        plain: list[int] = []
        for i in self.missing_of(device):
            entry = self.entries[i]
            if entry.released_at > now:
                continue
            if not entry.group:
                plain.append(i)
            elif entry.group not in newest or entry.released_at >= self._released(newest, entry):
                newest[entry.group] = i
        return tuple(sorted([*plain, *newest.values()]))

    def _released(self, newest: dict[str, int], entry: CatalogueEntry) -> datetime:
        return self.entries[newest[entry.group]].released_at
