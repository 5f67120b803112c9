"""Servers a window did not reach: a ``missed`` exception, resolved by a later window."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from patchdesk.domain import CLASS_RANK, ExceptionState, FailureClass, Role, TargetState
from patchdesk.reports.handover_document import document, markdown
from patchdesk.store.handover import handover_summary
from patchdesk.store.models import PatchException, RemediationRecord
from patchdesk.store.not_patched import not_patched
from patchdesk.store.remediation_log import verify_chain
from tests.engine.test_lifecycle import WINDOW_OPENS, World, add_devices, world, ws

__all__ = ["world"]


def _slow_servers(w: World) -> None:
    # one server at a time, each taking most of the 4 h window: the third never gets its turn
    add_devices(w, *((f"SRV{n}", Role.SERVER) for n in range(3)), install_minutes=150)


def test_a_server_the_window_did_not_reach_opens_a_missed_exception(world: World) -> None:
    _slow_servers(world)
    world.run(5 * 60)
    missed = [h for h in ("SRV0", "SRV1", "SRV2") if world.target(h).state is TargetState.MISSED]
    assert missed
    assert [(h, c, s) for h, c, s in world.exceptions() if c is FailureClass.MISSED] == [
        (h, FailureClass.MISSED, ExceptionState.OPEN) for h in missed
    ]
    with world.db.session() as session:
        summary, rank = session.execute(
            select(PatchException.summary, PatchException.class_rank).where(
                PatchException.failure_class == FailureClass.MISSED
            )
        ).first()  # type: ignore[misc]
        rows = not_patched(session, world.now)
    assert "next window: nightly" in summary
    assert rank == CLASS_RANK[FailureClass.MISSED] > CLASS_RANK[FailureClass.INSTALL]
    assert [(r.hostname, r.reason) for r in rows] == [(h, "capacity") for h in missed]
    assert all(r.next_window is not None and r.next_window.name == "nightly" for r in rows)
    assert all(r.exception_id is not None for r in rows)


def test_a_workstation_the_window_did_not_reach_opens_no_exception(world: World) -> None:
    add_devices(world, ws("KIOSK01"))
    world.fleet.devices_by_id["cid-KIOSK01"].online_from = WINDOW_OPENS + timedelta(hours=10)
    world.run(5 * 60)
    assert [c for _, c, _ in world.exceptions()] == [FailureClass.OFFLINE]
    with world.db.session() as session:
        rows = not_patched(session, world.now)
    assert [(r.hostname, r.reason) for r in rows] == [("KIOSK01", "offline")]


def test_the_window_that_patches_it_resolves_the_missed_exception(world: World) -> None:
    _slow_servers(world)
    world.run(5 * 60)
    missed = [h for h in ("SRV0", "SRV1", "SRV2") if world.target(h).state is TargetState.MISSED]
    for hostname in missed:
        world.fleet.devices_by_id[f"cid-{hostname}"].install_minutes = 10
    world.now = WINDOW_OPENS + timedelta(days=1)
    world.run(4 * 60)
    assert {world.target(h).state for h in missed} == {TargetState.VERIFIED}
    assert {s for _, c, s in world.exceptions() if c is FailureClass.MISSED} == {
        ExceptionState.RESOLVED
    }
    with world.db.session() as session:
        records = session.scalars(
            select(RemediationRecord).where(RemediationRecord.action == "resolve")
        ).all()
        assert len(records) == len(missed)
        assert {r.actor for r in records} == {"engine"}
        assert all("patched and verified in nightly" in r.note for r in records)
        assert verify_chain(session).ok
        assert not_patched(session, world.now) == []


def test_the_handover_lists_what_was_not_patched_with_the_next_window(world: World) -> None:
    _slow_servers(world)
    world.run(5 * 60)
    missed = [h for h in ("SRV0", "SRV1", "SRV2") if world.target(h).state is TargetState.MISSED]
    with world.db.session() as session:
        summary = handover_summary(session, since=world.now - timedelta(hours=8), now=world.now)
    assert summary.not_patched_count == len(missed)
    assert [r.hostname for r in summary.not_patched] == missed
    text = markdown(summary, [], ZoneInfo("UTC"))
    assert f"## Not patched this cycle ({len(missed)})" in text
    assert f"acme / {missed[0]}: window closed before its turn; next window nightly" in text
    assert document(summary, [])["not_patched"][0]["next_window"]["name"] == "nightly"
