"""The demo database with a little more history for the Reports screen tests: two exceptions
resolved by a technician and one emergency approval, all before ``DEMO_LAUNCH`` (the frozen
clock), so MTTR and the emergency-patch column have figures. Deterministic: the same rows
of the same seeded demo every time."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from textual.pilot import Pilot

from patchdesk.app import PatchdeskApp
from patchdesk.domain import ApprovalDecisionKind, ExceptionState, MissingPatchState
from patchdesk.screens.reports import ReportsScreen
from patchdesk.store import exception_ops as ops
from patchdesk.store.approval_ops import DecisionRequest, record_decision
from patchdesk.store.db import Database
from patchdesk.store.models import Device, DevicePatch, Patch, PatchException
from tests.screens.conftest import DEMO_LAUNCH

EMERGENCY_CLIENT = "northwind-dental"


def add_history(database: Database) -> list[int]:
    """Resolve the two oldest exceptions (at launch - 10 min and at launch) and approve, as
    an emergency, a patch a Northwind device misses (at launch - 30 min). Returns the ids of
    the resolved exceptions."""
    with database.session() as session:
        ids = list(
            session.scalars(
                select(PatchException.id)
                .where(PatchException.state != ExceptionState.RESOLVED)
                .order_by(PatchException.opened_at, PatchException.id)
                .limit(2)
            )
        )
        hostname, vendor_id = session.execute(
            select(Device.hostname, Patch.vendor_id)
            .join(DevicePatch, DevicePatch.device_id == Device.id)
            .join(Patch, Patch.id == DevicePatch.patch_id)
            .where(
                Device.client_id == EMERGENCY_CLIENT,
                DevicePatch.state == MissingPatchState.MISSING,
            )
            .order_by(Device.hostname, Patch.vendor_id)
            .limit(1)
        ).one()
    assert len(ids) == 2, "the demo has open exceptions at launch"
    first = DEMO_LAUNCH - timedelta(minutes=10)
    ops.resolve(database, ids[0], "alice", "retried by hand", now=first)
    ops.resolve(database, ids[1], "alice", "rebooted", now=DEMO_LAUNCH)
    with database.session() as session:
        record_decision(
            session,
            DecisionRequest(
                client_id=EMERGENCY_CLIENT,
                patch_id=vendor_id,
                kind=ApprovalDecisionKind.EMERGENCY,
                operator="alice",
                reason="exploited in the wild",
                hostnames=(hostname,),
            ),
            now=DEMO_LAUNCH - timedelta(minutes=30),
        )
    return ids


def with_reports_dir(app: PatchdeskApp, directory: Path) -> PatchdeskApp:
    app.services = replace(app.services, reports_dir=directory)
    return app


def reports_screen(app: Any) -> ReportsScreen:
    screen = app.screen
    assert isinstance(screen, ReportsScreen), type(screen).__name__
    return screen


async def reports_settled(pilot: Pilot[Any], reads: int = 1) -> ReportsScreen:
    """Wait until the screen has applied ``reads`` summaries and its trend, and nothing of
    it runs any more."""
    screen = reports_screen(pilot.app)
    for _ in range(500):
        if screen.reads >= reads and screen.trends is not None and not screen.workers_busy():
            break
        await pilot.pause(0.02)
    else:
        raise AssertionError("the Reports screen did not finish reading")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return screen


async def open_reports(pilot: Pilot[Any]) -> ReportsScreen:
    await pilot.press("3")
    return await reports_settled(pilot)
