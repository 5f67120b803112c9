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
"""

from __future__ import annotations

from datetime import date

from patchdesk.connectors.sim.entry import CatalogueEntry, Cycle
from patchdesk.connectors.sim.other_patches import other_patches
from patchdesk.connectors.sim.windows_patches import windows_patches


def build_catalogue(cycle: date) -> tuple[CatalogueEntry, ...]:
    """Every patch of the cycle starting on Patch Tuesday ``cycle``."""
    c = Cycle.of(cycle)
    entries = [*windows_patches(c), *other_patches(c)]
    ids = [item.vendor_id for item in entries]
    if len(set(ids)) != len(ids):
        raise AssertionError("duplicate vendor ids in the simulator catalogue")
    return tuple(entries)
