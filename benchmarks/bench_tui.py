"""Benchmark (not a test): the NOC terminal on a large MSP, headless.

Builds a SQLite database with 50,000 devices and 10,000 open exceptions (SQLAlchemy Core
inserts, a few seconds), then drives the screens with Textual's Pilot at 120x40 and prints
medians of several runs:

- queue first paint: from pushing the queue screen to its first rows on screen;
- queue keys: ``down``, ``pagedown`` (the next page is usually read ahead), ``end`` (reads
  the last window from SQL), each from the key arriving to its screen being drawn;
- queue filter: a quick filter key (tier) until the filtered rows are on screen;
- queue refresh with 100 changed rows: 100 exceptions on screen change (with their events,
  as the engine writes them); the time until the queue shows them, until the handover
  figures are re-read too, and the UI thread's share (the rest runs in a worker thread);
- board refresh: the UI thread's time to apply one board update and redraw.

Latencies are wall-clock times from the key (as the terminal driver delivers it) to the
screen painted, polled every millisecond. The baseline, measured in the same run: the same
rows in Textual's built-in ``DataTable`` in a bare app (every row added, as a naive screen
would), and the ratio baseline / ours. Targets: first paint < 0.5 s, key < 50 ms, refresh <
100 ms. Figures depend on the machine's load: run it on a quiet one.

    .venv/bin/python benchmarks/bench_tui.py
    .venv/bin/python benchmarks/bench_tui.py --devices 5000 --exceptions 1000 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, select, update
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from patchdesk.domain import (
    CLASS_RANK,
    Classification,
    Criticality,
    ExceptionState,
    FailureClass,
    OsFamily,
    Role,
    Severity,
    tier_of,
)
from patchdesk.screens.board import BoardScreen
from patchdesk.screens.board_feed import BoardFeed
from patchdesk.screens.queue import QueueScreen
from patchdesk.screens.services import Services
from patchdesk.screens.widgets.queue_cells import NORMAL
from patchdesk.screens.widgets.queue_table import QueueTable
from patchdesk.store.db import Database, open_database
from patchdesk.store.exception_views import queue_rows
from patchdesk.store.models import Client, Device, Event, Patch, PatchException
from patchdesk.store.queue_views import QueueLine

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
SIZE = (120, 40)
TARGETS = {"first paint": 0.5, "key": 0.050, "refresh": 0.100}
ROLES = (
    (Role.SERVER, Criticality.CRITICAL, 0.04),
    (Role.SERVER, Criticality.STANDARD, 0.06),
    (Role.SHARED_WORKSTATION, Criticality.STANDARD, 0.25),
    (Role.SINGLE_USER, Criticality.STANDARD, 0.65),
)


def table(model: type[object]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


# --- the database ---------------------------------------------------------------------------


def build(path: Path, devices: int, exceptions: int, seed: int = 7) -> Database:
    database = open_database(f"sqlite:///{path}", audit_key_file=path.parent / "audit.key")
    rng = random.Random(seed)
    clients = max(1, devices // 250)
    with database.engine.begin() as conn:
        conn.execute(
            insert(table(Client)),
            [
                {
                    "id": f"client-{c:03d}",
                    "name": f"Client {c:03d} Dental & Law",
                    "timezone": "America/New_York",
                    "sla_tier": "gold",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for c in range(clients)
            ],
        )
        rows = []
        for d in range(devices):
            role, criticality, _ = rng.choices(ROLES, weights=[w for *_, w in ROLES])[0]
            prefix = {"server": "SRV", "shared_workstation": "KIOSK", "single_user": "LT"}
            rows.append(
                {
                    "client_id": f"client-{d % clients:03d}",
                    "hostname": f"C{d % clients:03d}-{prefix[role.value]}-{d:05d}",
                    "role": role,
                    "criticality": criticality,
                    "os_family": OsFamily.WINDOWS,
                    "os_name": "Windows 11 Pro",
                    "connector_id": f"rmm:{d}",
                    "online": True,
                    "last_seen": NOW,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
        conn.execute(insert(table(Device)), rows)
        conn.execute(
            insert(table(Patch)),
            [
                {
                    "vendor_id": f"KB50{p:05d}",
                    "title": f"Cumulative update {p}",
                    "vendor": "Microsoft",
                    "product": "Windows",
                    "classification": Classification.SECURITY,
                    "severity": Severity.IMPORTANT,
                    "reboot_required": True,
                    "release_date": date(2026, 11, 10),
                }
                for p in range(200)
            ],
        )
        device_rows = conn.execute(
            select(Device.id, Device.client_id, Device.role, Device.criticality)
        ).all()
        patch_ids = [p for (p,) in conn.execute(select(Patch.id))]
        chosen = rng.sample(device_rows, exceptions)
        exc_rows = []
        for device_id, client_id, role, criticality in chosen:
            failure_class = rng.choice(list(FailureClass))
            opened = NOW - timedelta(minutes=rng.randrange(60 * 24 * 5))
            owner = rng.choice([None, None, None, "alice", "bob", "carol"])
            exc_rows.append(
                {
                    "client_id": client_id,
                    "device_id": device_id,
                    "failure_class": failure_class,
                    "tier": tier_of(role, criticality),
                    "class_rank": CLASS_RANK[failure_class],
                    "state": ExceptionState.ACKNOWLEDGED if owner else ExceptionState.OPEN,
                    "owner": owner,
                    "summary": f"install failed with 0x8007{rng.randrange(9999):04d}",
                    "patch_ids": rng.sample(patch_ids, rng.choice((1, 1, 2, 3))),
                    "opened_at": opened,
                    "acknowledged_at": opened if owner else None,
                    "last_action": "opened by engine",
                    "last_action_at": opened,
                    "updated_at": opened,
                }
            )
        conn.execute(insert(table(PatchException)), exc_rows)
    return database


def change_visible(database: Database, ids: list[int], round_: int) -> None:
    """100 exceptions change (as an engine step or other technicians would), with events."""
    with database.engine.begin() as conn:
        conn.execute(
            update(table(PatchException))
            .where(PatchException.id.in_(ids))
            .values(last_action=f"failed again ({round_})", updated_at=NOW)
        )
        conn.execute(
            insert(table(Event)),
            [
                {
                    "at": NOW,
                    "kind": "exception.updated",
                    "entity": "exception",
                    "entity_id": str(i),
                    "payload": {},
                }
                for i in ids
            ],
        )


# --- the apps -------------------------------------------------------------------------------


def services(database: Database) -> Services:
    return Services(database, "alice", lambda: NOW, ZoneInfo("Europe/Berlin"))


class Harness(App[None]):
    """An empty app that carries the services; the benchmark pushes screens onto it."""

    def __init__(self, database: Database) -> None:
        super().__init__()
        self.services = services(database)
        self.engine_holder: str | None = None
        self.clock_note = ""


class TableApp(App[None]):
    """The baseline: every queue row in Textual's built-in DataTable."""

    def __init__(self, lines: list[QueueLine]) -> None:
        super().__init__()
        self.lines = lines

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row")

    def fill(self) -> None:
        data = self.query_one(DataTable)
        data.add_columns(*(column.title for column in NORMAL))
        data.add_rows([[c.cell(line, NOW) for c in NORMAL] for line in self.lines])


async def wait_until(app: App[Any], done: Callable[[], bool], limit: float = 60.0) -> None:
    """Yield to the event loop until ``done()``, then paint the screen at once (Textual
    otherwise paints on its next frame tick). Checks every millisecond: spinning without a
    pause would hold the GIL and slow the screen's worker threads down."""
    began = time.perf_counter()
    while not done():
        if time.perf_counter() - began > limit:
            raise TimeoutError("the screen did not get there")
        await asyncio.sleep(0.001)
    app.screen._on_timer_update()


async def key(app: App[Any], name: str, done: Callable[[], bool]) -> float:
    """Seconds from a key arriving (as the terminal driver delivers it) to its screen."""
    assert app._driver is not None
    began = time.perf_counter()
    app._driver.send_message(events.Key(name, None))
    await wait_until(app, done)
    return time.perf_counter() - began


def painted(screen: QueueScreen) -> Callable[[], bool]:
    """The queue's table is mounted and has its first rows."""

    def ready() -> bool:
        return bool(screen.query(QueueTable)) and screen.query_one(QueueTable).loaded

    return ready


def poll_done(screen: QueueScreen) -> Callable[[], bool]:
    """No poll of the events feed is being read or applied."""

    def ready() -> bool:
        return not screen._polling

    return ready


def queue_ready(screen: QueueScreen) -> Callable[[], bool]:
    """Rows on screen and nothing being read."""

    def ready() -> bool:
        table = screen.query_one(QueueTable)
        return table.loaded and table.current is not None and not screen.workers_busy()

    return ready


def cursor_at(screen: QueueScreen, index: int) -> Callable[[], bool]:
    """The cursor is on row ``index`` and that row has been read (is drawn, not a
    placeholder)."""

    def ready() -> bool:
        table = screen.query_one(QueueTable)
        return table.cursor == index and table.current is not None

    return ready


def refiltered(screen: QueueScreen) -> Callable[[], bool]:
    """The filter changed and the rows it selects are on screen."""
    generation = screen.paging.generation

    def ready() -> bool:
        return screen.paging.generation != generation and queue_ready(screen)()

    return ready


# --- the measurements -----------------------------------------------------------------------


async def measure_queue(database: Database, runs: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    with database.session() as session:
        visible_ids = [row.id for row in queue_rows(session, limit=30)]
    for run in range(runs):
        app = Harness(database)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            began = time.perf_counter()
            screen = QueueScreen()
            app.push_screen(screen)
            await wait_until(app, painted(screen))
            add("first paint", time.perf_counter() - began)
            await wait_until(app, queue_ready(screen))
            table = screen.query_one(QueueTable)
            rows = table.scrollable_content_region.height - 2
            for name, step, times in (("down", 1, 60), ("pagedown", rows, 10)):
                for _ in range(times):
                    target = min(table.total - 1, table.cursor + step)
                    add(name, await key(app, name, cursor_at(screen, target)))
            add("end", await key(app, "end", cursor_at(screen, table.total - 1)))
            await key(app, "home", cursor_at(screen, 0))
            for _ in range(4):  # tier 1, 2, 3, 4
                add("filter", await key(app, "T", refiltered(screen)))
            await key(app, "escape", refiltered(screen))
            for round_ in range(3):
                await wait_until(app, poll_done(screen))
                if screen._timer is not None:
                    screen._timer.stop()
                change_visible(database, visible_ids, run * 10 + round_)
                ui = _UiClock(screen)
                expected = f"failed again ({run * 10 + round_})"

                def shown(t: QueueTable = table, e: str = expected) -> bool:
                    current = t.current
                    return current is not None and current.row.last_action == e

                began = time.perf_counter()
                screen._poll()
                await wait_until(app, shown)
                add("refresh", time.perf_counter() - began)
                await wait_until(app, poll_done(screen))
                add("refresh (all)", time.perf_counter() - began)
                add("refresh (UI thread)", ui.stop())
    return figures


class _UiClock:
    """Time the queue's UI-thread handlers take (window applied, poll applied)."""

    def __init__(self, screen: QueueScreen) -> None:
        self.total = 0.0
        self.screen = screen
        screen.apply_page = self._timed(screen.apply_page)  # type: ignore[method-assign,assignment]
        screen.apply_poll = self._timed(screen.apply_poll)  # type: ignore[method-assign,assignment]

    def _timed(self, handler: Callable[[Any], None]) -> Callable[[Any], None]:
        def timed(message: Any) -> None:
            began = time.perf_counter()
            handler(message)
            self.total += time.perf_counter() - began

        return timed

    def stop(self) -> float:
        del self.screen.apply_page
        del self.screen.apply_poll
        return self.total


def rows_added(data: DataTable[Any], count: int) -> Callable[[], bool]:
    """The baseline table holds every row."""
    return lambda: data.row_count == count


async def measure_baseline(database: Database, runs: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {}
    with database.session() as session:
        rows = queue_rows(session, limit=1_000_000)
    lines = [QueueLine(row, None) for row in rows]
    for _ in range(runs):
        app = TableApp(lines)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            data = app.query_one(DataTable)
            began = time.perf_counter()
            app.fill()
            await wait_until(app, rows_added(data, len(lines)))
            figures.setdefault("first paint", []).append(time.perf_counter() - began)
            data.focus()
            await pilot.pause()
            rows_shown = data.scrollable_content_region.height - 2
            for name, step, times in (("down", 1, 30), ("pagedown", rows_shown, 5)):
                for _ in range(times):
                    target = min(data.row_count - 1, data.cursor_row + step)

                    def moved(d: DataTable[Any] = data, t: int = target) -> bool:
                        return d.cursor_row >= t

                    figures.setdefault(name, []).append(await key(app, name, moved))
    return figures


async def measure_board(database: Database, runs: int) -> list[float]:
    times: list[float] = []
    with database.session() as session:
        ids = [row.id for row in queue_rows(session, limit=100)]
    app = Harness(database)
    async with app.run_test(size=SIZE):
        screen = BoardScreen()
        await app.push_screen(screen)
        await wait_until(app, lambda: screen.updates > 0)
        feed = BoardFeed(database)
        feed.read(NOW)
        for round_ in range(runs * 3):
            change_visible(database, ids, 100 + round_)
            update_ = await asyncio.to_thread(feed.read, NOW)
            began = time.perf_counter()
            screen._apply(BoardScreen.Updated(update_))
            app.screen._on_timer_update()  # its paint
            times.append(time.perf_counter() - began)
    return times


# --- the report -----------------------------------------------------------------------------


def ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


ROWS = (
    ("first paint", "first paint"),
    ("down", "key: down"),
    ("pagedown", "key: pagedown"),
    ("end", "key: end (new window)"),
    ("filter", "filter (tier key)"),
    ("refresh", "refresh, 100 changed: rows"),
    ("refresh (all)", "  and the handover figures"),
    ("refresh (UI thread)", "  UI thread's share"),
)


def target_of(name: str) -> float | None:
    if name in ("down", "pagedown", "end"):
        return TARGETS["key"]
    return TARGETS.get(name)


def report(ours: dict[str, list[float]], base: dict[str, list[float]], board: Any) -> None:
    print(f"{'figure':<28}{'patchdesk':>11}{'DataTable':>11}{'ratio':>8}  target")
    for name, label in ROWS:
        if name not in ours:
            continue
        mine = statistics.median(ours[name])
        line = f"{label:<28}{ms(mine):>11}"
        if name in base:
            theirs = statistics.median(base[name])
            ratio = theirs / mine
            line += f"{ms(theirs):>11}{ratio:>7.{0 if ratio >= 10 else 1}f}x"
        else:
            line += f"{'':>11}{'':>8}"
        target = target_of(name)
        if target is not None:
            verdict = "ok" if mine < target else "MISSED"
            line += f"  < {target * 1000:.0f} ms {verdict}"
        print(line)
    label = "board refresh (UI thread)"
    print(f"{label:<28}{ms(statistics.median(board)):>11}  (max {max(board) * 1000:.1f} ms)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--exceptions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline-runs", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="patchdesk-bench-tui-") as scratch:
        began = time.perf_counter()
        database = build(Path(scratch) / "bench.db", args.devices, args.exceptions)
        print(
            f"database: {args.devices:,} devices, {args.exceptions:,} open exceptions, "
            f"built in {time.perf_counter() - began:.1f} s (SQLite, Core inserts); "
            f"terminal {SIZE[0]}x{SIZE[1]}; medians of {args.runs} runs "
            f"({args.baseline_runs} for the DataTable baseline)"
        )
        ours = asyncio.run(measure_queue(database, args.runs))
        base = asyncio.run(measure_baseline(database, args.baseline_runs))
        board = asyncio.run(measure_board(database, args.runs))
        report(ours, base, board)
        database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
