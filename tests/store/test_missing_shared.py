"""What a window opening's refresh knows of its devices' rows, given to the approvals load:
``record_reported`` returns what the devices miss once written, which is what
``device_patches`` then holds; ``load_for_devices`` given it loads what it loads reading the
rows, and takes those devices' rows from it, not from the store (both backends)."""

from __future__ import annotations

from datetime import date
from itertools import combinations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from patchdesk.connectors.base import MissingPatch
from patchdesk.domain import Classification, MissingPatchState, Severity
from patchdesk.store.approval_inputs import load_for_devices
from patchdesk.store.db import Database
from patchdesk.store.missing_refresh import record_reported
from patchdesk.store.models import Device, DevicePatch, Patch, Ring
from tests.conftest import NOW
from tests.store import test_approvals_store
from tests.store.test_approvals_store import BLOCKED, CHROME, CLIENT, KB, Fleet

fleet = test_approvals_store.fleet  # (the fixture: Kessler's devices, patches and rings)
NEW = "KB5099999"


def _reported(vendor_id: str) -> MissingPatch:
    return MissingPatch(
        vendor_id=vendor_id,
        title=f"Update {vendor_id}",
        vendor="Microsoft",
        product="Windows 11",
        classification=Classification.SECURITY,
        severity=Severity.CRITICAL,
        release_date=date(2026, 11, 10),
        reboot_required=True,
    )


def _set_state(session: Session, device_id: int, patch_id: int, state: MissingPatchState) -> None:
    row = session.scalars(
        select(DevicePatch).where(
            DevicePatch.device_id == device_id, DevicePatch.patch_id == patch_id
        )
    ).one()
    row.state = state


def _not_installed(session: Session, device_ids: list[int]) -> dict[int, frozenset[int]]:
    """What ``device_patches`` holds for these devices, state not installed."""
    rows = session.execute(
        select(DevicePatch.device_id, DevicePatch.patch_id).where(
            DevicePatch.device_id.in_(device_ids),
            DevicePatch.state != MissingPatchState.INSTALLED,
        )
    ).all()
    found: dict[int, set[int]] = {device_id: set() for device_id in device_ids}
    for device_id, patch_id in rows:
        found[device_id].add(patch_id)
    return {device_id: frozenset(patches) for device_id, patches in found.items()}


def test_record_reported_returns_what_the_devices_miss_once_written(
    database: Database, fleet: Fleet
) -> None:
    mueller, koch, weber = (fleet.devices[n] for n in ("KSI-CAD-MUELLER", "KSI-NB-KOCH",
                                                       "KSI-CAD-WEBER"))  # fmt: skip
    kb, blocked, chrome = (fleet.patches[p] for p in (KB, BLOCKED, CHROME))
    with database.writer() as session:
        # Every case: added (NEW), reopened (an installed row named), gone (a missing row
        # not named), a failed row named and one not named, an installed row not named, a
        # device answering nothing at all, a device not asked about (WEBER).
        _set_state(session, mueller, blocked, MissingPatchState.INSTALLED)
        _set_state(session, mueller, chrome, MissingPatchState.FAILED)
        _set_state(session, koch, chrome, MissingPatchState.FAILED)
        _set_state(session, koch, kb, MissingPatchState.FAILED)
        _set_state(session, koch, blocked, MissingPatchState.INSTALLED)
        session.flush()
        reported = [
            (mueller, [_reported(BLOCKED), _reported(NEW), _reported(NEW)]),
            (koch, [_reported(CHROME)]),
            (fleet.devices["KSI-PLOT-01"], []),
        ]
        returned = record_reported(session, CLIENT, reported, NOW)
        new = session.scalars(select(Patch.id).where(Patch.vendor_id == NEW)).one()
        assert returned == {
            mueller: frozenset({blocked, new, chrome}),
            koch: frozenset({chrome, kb}),
            fleet.devices["KSI-PLOT-01"]: frozenset(),
        }
        assert returned == _not_installed(session, [device_id for device_id, _ in reported])
        assert weber not in returned
        assert record_reported(session, CLIENT, [], NOW) == {}


def _every_cut_with_every_known(database: Database) -> None:
    """Given what any of the devices miss (as the store holds it), every cut loads what it
    loads reading every row."""
    with database.session() as session:
        ids = sorted(session.scalars(select(Device.id).where(Device.client_id == CLIENT)))
        truth = _not_installed(session, ids)
        for size in range(len(ids) + 1):
            for chosen in combinations(ids, size):
                read = load_for_devices(session, CLIENT, chosen)
                for known_size in (1, 2, len(ids)):
                    for known_ids in combinations(ids, known_size):
                        known = {device_id: truth[device_id] for device_id in known_ids}
                        assert load_for_devices(session, CLIENT, chosen, None, known) == read


def test_known_rows_load_what_reading_loads(database: Database, fleet: Fleet) -> None:
    with database.writer() as session:
        _set_state(session, fleet.devices["KSI-NB-KOCH"], fleet.patches[KB],
                   MissingPatchState.INSTALLED)  # fmt: skip
        _set_state(session, fleet.devices["KSI-CAD-WEBER"], fleet.patches[CHROME],
                   MissingPatchState.FAILED)  # fmt: skip
    _every_cut_with_every_known(database)  # with rings
    with database.writer() as session:
        session.execute(delete(Ring))
    _every_cut_with_every_known(database)  # without


def _kb_devices(session: Session, known: dict[int, frozenset[int]] | None) -> set[int]:
    ids = sorted(session.scalars(select(Device.id).where(Device.client_id == CLIENT)))
    loaded = load_for_devices(session, CLIENT, ids, None, known)
    assert loaded is not None
    return {d.device_id for need in loaded.needs if need.patch.vendor_id == KB
            for d in need.devices}  # fmt: skip


def test_known_rows_are_taken_not_read(database: Database, fleet: Fleet) -> None:
    # Told a device misses nothing, the load does not find its (missing) rows.
    koch = fleet.devices["KSI-NB-KOCH"]
    for rings in (True, False):
        if not rings:
            with database.writer() as session:
                session.execute(delete(Ring))
        with database.session() as session:
            assert koch in _kb_devices(session, None)
            assert koch not in _kb_devices(session, {koch: frozenset()})
