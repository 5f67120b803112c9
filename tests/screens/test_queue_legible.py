"""The queue at a glance and at 80x24: the PATCHES column names the patches that failed, ID
and the whole AGE stay on screen at 80 columns, and the header counts what the table lists.
On SQLite and PostgreSQL (the store reads behind the screen)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from patchdesk.domain import (
    DeploymentState,
    ExceptionState,
    FailureClass,
    MissingPatchState,
    TargetState,
)
from patchdesk.screens.handover import HandoverPanel
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.screens.widgets.queue_table import QueueTable
from patchdesk.store import exception_ops as ops
from patchdesk.store.db import Database
from patchdesk.store.exception_views import QueueFilter, queue_row, queue_rows
from patchdesk.store.models import Deployment, PatchException, Target, TargetPatch
from patchdesk.store.queue_views import read_page
from tests.conftest import NOW
from tests.exception_seed import add_exception
from tests.screens.queue_fixtures import Queue, QueueApp, queue_screen, seed_queue, services, settle


def _screen_lines(app: QueueApp) -> list[str]:
    """The table's header and rows as drawn."""
    table = queue_screen(app).query_one(QueueTable)
    return [table.render_line(y).text for y in range(table.total + 1)]


def _fail_install(database: Database, queue: Queue, *failed: str) -> None:
    """DC01's install exception comes from a target of three patches, ``failed`` of which
    failed to install (the others installed)."""
    patches = queue.seeded.patches
    with database.session() as session:
        deployment = Deployment(
            client_id="acme",
            window_id=None,
            occurrence_start=NOW - timedelta(hours=4),
            occurrence_end=NOW + timedelta(hours=1),
            state=DeploymentState.OPEN,
            opened_at=NOW - timedelta(hours=4),
        )
        session.add(deployment)
        session.flush()
        target = Target(
            deployment_id=deployment.id,
            device_id=queue.seeded.devices["DC01"],
            state=TargetState.INSTALL_FAILED,
            attempts=2,
            updated_at=NOW - timedelta(hours=3, minutes=20),
        )
        target.patches = [
            TargetPatch(
                patch_id=patch_id,
                state=MissingPatchState.FAILED if vendor in failed else MissingPatchState.INSTALLED,
                error_code="0x80070643" if vendor in failed else None,
            )
            for vendor, patch_id in patches.items()
        ]
        session.add(target)
        session.flush()
        session.execute(
            update(PatchException)
            .where(PatchException.id == queue.install)
            .values(
                deployment_id=deployment.id,
                target_id=target.id,
                patch_ids=sorted(patches.values()),  # the deployment's: all three
            )
        )


async def test_patches_names_the_patches_that_failed(database: Database) -> None:
    queue = seed_queue(database)
    _fail_install(database, queue, "KB5044999", "7zip-24.08")
    with database.session() as session:
        row = queue_row(session, queue.install)
        assert row is not None
        assert row.patches == ("KB5044281", "KB5044999", "7zip-24.08")  # the deployment's
        assert row.failed_patches == ("KB5044999", "7zip-24.08")
        window = read_page(session, QueueFilter(), offset=0, limit=10)
        assert [line.row for line in window.lines] == queue_rows(session)
        # A regression (installed, then a health check failed): every patch it names.
        regression = queue_row(session, queue.regression)
        assert regression is not None
        assert regression.failed_patches == regression.patches == ("KB5044281", "7zip-24.08")
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        header, dc01, _app02, frontdesk, _anna = _screen_lines(app)
        column = header.index("PATCHES")
        assert dc01[column:].startswith("KB5044999 +1 "), dc01
        assert frontdesk[column:].startswith("KB5044281 +1 "), frontdesk
        current = str(app.screen.query_one("#queue-current").render())
        assert "KB5044999, 7zip-24.08 failed (of 3 patches)" in current


async def test_at_80_columns_id_and_the_whole_age_stay_visible(database: Database) -> None:
    queue = seed_queue(database)
    # The longest age under 100 days: six cells.
    long_ago = add_exception(
        database,
        queue.seeded.devices["APP02"],
        FailureClass.INSTALL,
        opened_at=NOW - timedelta(days=42, hours=7, minutes=5),
    )
    expected = {
        queue.install: "3h20m",
        queue.reboot: "50m",
        long_ago: "42d07h",
        queue.regression: "1d02h",
        queue.offline: "5m",
    }
    app = QueueApp(services(database))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for marked in (False, True):
            header, *lines = _screen_lines(app)
            assert header.split()[:2] == ["ID", "T"], header
            age_end = header.index("AGE") + len("AGE")  # AGE is right-aligned
            ids = [int(line.replace("✓", " ").split()[0]) for line in lines]
            assert set(ids) == set(expected), lines
            for exception_id, line in zip(ids, lines, strict=True):
                age = expected[exception_id]
                assert line[age_end - len(age) - 1 : age_end] == f" {age}", (marked, line)
            assert "CLIENT" in header
            assert "STATE" in header
            if not marked:
                await pilot.press("space")  # the mark column takes two cells more
                await settle(pilot)
                assert queue_screen(app).bulk


async def test_the_header_counts_what_the_table_lists(database: Database) -> None:
    """Four unresolved, one of them acknowledged: the header's figures are the table's for
    'S unresolved' and 'S open'."""
    seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = queue_screen(app)
        table = screen.query_one(QueueTable)
        status = screen.query_one(ClockHeader).status.plain
        assert table.total == 4
        assert "4 unresolved (3 open)" in status, status
        assert "3 unassigned" in status
        panel = str(screen.query_one(HandoverPanel).render())
        assert "Unresolved 4: T1 1 T2 1 T3 1 T4 1 · unassigned 3: T1 1 T2 1 T3 1 T4 0" in panel
        await pilot.press("S")  # state: open
        await settle(pilot)
        assert screen.view.state is ExceptionState.OPEN
        assert table.total == 3


async def test_the_header_follows_an_acknowledgement(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        ops.acknowledge(database, queue.install, "bob", now=NOW)
        screen = queue_screen(app)
        header = screen.query_one(ClockHeader)
        for _ in range(200):
            await settle(pilot)
            if "(2 open)" in header.status.plain:
                break
        assert "4 unresolved (2 open), 2 unassigned" in header.status.plain
