"""The Reports screen (key 3), driven by keys (Pilot) on the seeded demo: the figures agree
with the store, the sort and cycle keys, the detail, the export writing the same document as
``patchdesk report cycle``, the empty database, untrusted client names; and the pure cell
rules (rates, sort order, trend glyphs)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from rich.text import Text
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from textual.widgets import Static
from textual.widgets._toast import Toast

from patchdesk.domain import PATCH_FAILURE_CLASSES, DeploymentState, FailureClass, TargetState
from patchdesk.reports.client_model import Branding
from patchdesk.reports.cycle_formats import document, render
from patchdesk.rules.metrics import Cycle
from patchdesk.rules.metrics.compliance import ComplianceFigures
from patchdesk.rules.metrics.mttr import EMPTY
from patchdesk.screens import reports as reports_module
from patchdesk.screens.help import HelpGroup, HelpScreen
from patchdesk.screens.reports import ReportsScreen, ReportsTable, columns_for, header_text
from patchdesk.screens.reports_detail import ReportDetailScreen
from patchdesk.screens.reports_export import ExportFormatModal, export_name
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.screens.widgets.report_cells import (
    ALL_CLIENTS,
    ReportRow,
    SortColumn,
    count_bars,
    failed_text,
    rate_text,
    sort_rows,
    sparkline,
    top_class,
)
from patchdesk.screens.widgets.timetext import duration
from patchdesk.store.db import Database
from patchdesk.store.metric_views import MetricsSummary, metrics_summary
from patchdesk.store.models import Client, Deployment, Device, PatchException, Target
from patchdesk.store.report_views import cycle_report
from tests.screens.conftest import DEMO_LAUNCH, AppFactory
from tests.screens.reports_fixtures import (
    EMERGENCY_CLIENT,
    add_history,
    open_reports,
    reports_settled,
    with_reports_dir,
)

NOV, OCT = Cycle(2026, 11), Cycle(2026, 10)
ALL_KEY = "*all*"


def table(screen: ReportsScreen) -> ReportsTable:
    return screen.query_one(ReportsTable)


def row_keys(screen: ReportsScreen) -> list[str]:
    return [str(row.key.value) for row in table(screen).ordered_rows]


def cells(screen: ReportsScreen, key: str) -> dict[str, str]:
    """The row's cells as plain text, by column key."""
    grid = table(screen)
    values = grid.get_row(key)
    return {
        str(column.key.value): value.plain
        for column, value in zip(grid.ordered_columns, values, strict=True)
    }


def modal_text(modal: ExportFormatModal) -> str:
    """What the export form shows, as plain text."""
    return "\n".join(str(static.render()) for static in modal.query(Static))


def status(screen: ReportsScreen) -> str:
    """The header's second line."""
    return screen.query_one(ClockHeader)._status.plain


def toasts(app: object) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query(Toast)]  # type: ignore[attr-defined]


async def go_to(pilot: object, screen: ReportsScreen, client_id: str) -> None:
    index = [row.key for row in screen.rows].index(client_id)
    while table(screen).cursor_row < index:
        await pilot.press("down")  # type: ignore[attr-defined]
    assert screen.selected_row() is not None
    assert screen.selected_row().key == client_id  # type: ignore[union-attr]


async def test_key_3_shows_every_client_with_the_stores_figures(
    demo_db: Database, make_app: AppFactory
) -> None:
    resolved = add_history(demo_db)
    with demo_db.session() as session:
        summary = metrics_summary(session, NOV, DEMO_LAUNCH)
        names = {cid: name for cid, name in session.execute(select(Client.id, Client.name))}
        exceptions = {
            e.id: e
            for e in session.scalars(select(PatchException).where(PatchException.id.in_(resolved)))
        }
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await open_reports(pilot)
        assert app.current_mode == "reports"
        assert screen.cycle == NOV
        by_name = sorted(names, key=lambda cid: names[cid].casefold())
        assert row_keys(screen) == [ALL_KEY, *by_name]
        for client in summary.clients:
            shown = cells(screen, client.client_id)
            assert shown["client"].rstrip("…") in client.client_name
            assert shown["device_rate"] == rate_text(client.compliance_end.device_rate)
            assert shown["patch_rate"] == rate_text(client.compliance_end.patch_rate)
            assert shown["failed"].split()[0] == str(client.failed_total)
            assert shown["emergencies"] == str(len(client.emergencies))
        # What the fixture added, counted by hand: one emergency for Northwind, two
        # resolutions whose times come from the exceptions themselves.
        assert cells(screen, EMERGENCY_CLIENT)["emergencies"] == "1"
        everyone = cells(screen, ALL_KEY)
        assert everyone["client"] == "All clients"
        assert everyone["emergencies"] == "1"
        durations = sorted(
            e.resolved_at - e.opened_at for e in exceptions.values() if e.resolved_at
        )
        assert len(durations) == 2
        assert everyone["mttr"] == duration(sum(durations, timedelta()) / 2)
        assert everyone["p90"] == duration(durations[-1])
        failed_total = sum(c.failed_total for c in summary.clients)
        assert everyone["failed"].split()[0] == str(failed_total)
        assert failed_total > 0, "the demo has failures of every class in its first hour"
        # Six cycles in the trend: the demo's fleet did not exist before this cycle.
        assert everyone["trend"].startswith("·····")
        assert everyone["trend"][5] != "·"
        assert screen.query_one(ClockHeader).title_text == "Reports"
        assert "as of 14:00 UTC (15:00 CET)" in status(screen)


async def test_sort_keys_order_the_clients_and_keep_all_clients_first(
    demo_db: Database, make_app: AppFactory
) -> None:
    add_history(demo_db)
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_reports(pilot)

        def rates() -> list[Fraction | None]:
            return [row.compliance.device_rate for row in screen.rows[1:]]

        await pilot.press("s")
        assert screen.sort is SortColumn.DEVICE_RATE
        assert not screen.reverse
        assert row_keys(screen)[0] == ALL_KEY
        known = [r for r in rates() if r is not None]
        assert known == sorted(known)  # lowest (worst) first
        assert rates() == known + [None] * (len(rates()) - len(known))
        assert "device compliance, lowest first" in str(
            screen.query_one("#reports-bar", Static).render()
        )
        await pilot.press("S")
        assert screen.reverse
        known = [r for r in rates() if r is not None]
        assert known == sorted(known, reverse=True)
        assert row_keys(screen)[0] == ALL_KEY
        await pilot.press("s", "s")  # patch compliance, then failed installs
        assert screen.sort is SortColumn.FAILED
        assert not screen.reverse
        failed = [row.failed_total for row in screen.rows[1:]]
        assert failed == sorted(failed, reverse=True)
        assert failed[0] > failed[-1]
        # The table shows that order, and the header marks the sorted column.
        assert row_keys(screen) == [ALL_KEY, *[row.key for row in screen.rows[1:]]]
        assert "Failed (top class)▼" in [
            c.label.plain for c in table(screen).ordered_columns
        ]  # fmt: skip


async def test_cycle_keys_read_another_cycle(
    demo_db: Database, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    october_may_start = threading.Event()

    def slow_october(session: Session, cycle: Cycle, now: datetime) -> MetricsSummary:
        if cycle == OCT:
            october_may_start.wait(10)
        return metrics_summary(session, cycle, now)

    monkeypatch.setattr(reports_module, "metrics_summary", slow_october)
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await open_reports(pilot)
        await go_to(pilot, screen, EMERGENCY_CLIENT)
        await pilot.press("left_square_bracket")
        # While October is read, November's rows are not shown under October's header.
        assert screen.summary is None
        assert table(screen).row_count == 0
        assert "cycle 2026-10" in status(screen)
        assert "reading" in status(screen)
        october_may_start.set()
        screen = await reports_settled(pilot, reads=2)
        assert screen.cycle == OCT
        selected = screen.selected_row()
        assert selected is not None
        assert selected.key == EMERGENCY_CLIENT  # the same client stays selected
        assert screen.summary is not None
        assert screen.summary.cycle == OCT
        assert "cycle 2026-10" in status(screen)
        assert "(current)" not in status(screen)
        assert "ended, figures as of its end" in status(screen)
        panel = str(screen.query_one("#reports-panel-text", Static).render())
        assert "the cycle has ended" in panel
        assert "at its end" in panel
        # The demo's devices did not exist in October: no compliance figure, no failures.
        assert cells(screen, ALL_KEY)["device_rate"] == "n/a"
        assert cells(screen, ALL_KEY)["failed"] == "0"
        assert screen.trends is not None
        assert [p.cycle for p in screen.trends[ALL_CLIENTS]] == OCT.last(6)
        await pilot.press("right_square_bracket")
        screen = await reports_settled(pilot, reads=3)
        assert screen.cycle == NOV
        assert "(current)" in status(screen)
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert screen.cycle == NOV
        assert screen.reads == 3
        assert any("2026-11 is the current cycle" in t for t in toasts(app))
        await pilot.press("left_square_bracket", "left_square_bracket")
        screen = await reports_settled(pilot, reads=5)
        assert screen.cycle == Cycle(2026, 9)
        await pilot.press("c")
        screen = await reports_settled(pilot, reads=6)
        assert screen.cycle == NOV


async def test_export_writes_the_clients_cycle_report(
    demo_db: Database, make_app: AppFactory, tmp_path: Path
) -> None:
    add_history(demo_db)
    folder = tmp_path / "exports"  # does not exist yet: created
    app = with_reports_dir(make_app(demo_db), folder)
    branding = Branding("Harbour IT", "noc@harbour.example", "HARBOUR")
    app.services = replace(app.services, branding=branding)
    with demo_db.session() as session:
        report = cycle_report(session, EMERGENCY_CLIENT, NOV, DEMO_LAUNCH)
    assert report is not None
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await open_reports(pilot)
        await go_to(pilot, screen, EMERGENCY_CLIENT)
        await pilot.press("w")
        assert isinstance(app.screen, ExportFormatModal)
        assert "for the client" in modal_text(app.screen)
        await pilot.press("enter")  # html, for the client
        await app.workers.wait_for_complete()
        await pilot.pause()
        html_path = folder / "patchdesk-northwind-dental-2026-11.html"
        assert screen.last_export == html_path
        html = html_path.read_text(encoding="utf-8")
        assert html == document(report, "html", "client", branding)
        assert "Northwind Dental Partners" in html
        assert "Harbour IT" in html
        assert "exception.open" not in html
        assert any(str(html_path) in t for t in toasts(app))
        assert not any("names no MSP" in t for t in toasts(app))

        await pilot.press("w", "m")
        await app.workers.wait_for_complete()
        await pilot.pause()
        md_path = folder / "patchdesk-northwind-dental-2026-11.md"
        assert md_path.read_text(encoding="utf-8") == document(report, "md", "client", branding)

        await pilot.press("w", "h")  # again: a new file, the first one is kept
        await app.workers.wait_for_complete()
        await pilot.pause()
        again = folder / "patchdesk-northwind-dental-2026-11-2.html"
        assert screen.last_export == again
        assert again.read_text(encoding="utf-8") == document(report, "html", "client", branding)

        await pilot.press("w", "escape")  # cancelled: nothing written
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert sorted(p.name for p in folder.iterdir()) == [
            "patchdesk-northwind-dental-2026-11-2.html",
            "patchdesk-northwind-dental-2026-11.html",
            "patchdesk-northwind-dental-2026-11.md",
        ]


async def test_export_asks_which_audience(
    demo_db: Database, make_app: AppFactory, tmp_path: Path
) -> None:
    """``a`` in the export form switches to the internal report (and back); the form opens
    on the client's each time; the internal one has a name of its own and says so."""
    add_history(demo_db)
    folder = tmp_path / "exports"
    app = with_reports_dir(make_app(demo_db), folder)
    with demo_db.session() as session:
        report = cycle_report(session, EMERGENCY_CLIENT, NOV, DEMO_LAUNCH)
    assert report is not None
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await open_reports(pilot)
        await go_to(pilot, screen, EMERGENCY_CLIENT)
        await pilot.press("w", "a")
        assert isinstance(app.screen, ExportFormatModal)
        assert "internal: full detail, not for" in modal_text(app.screen)
        await pilot.press("a")  # and back
        assert "for the client" in modal_text(app.screen)
        await pilot.press("a", "j")
        await app.workers.wait_for_complete()
        await pilot.pause()
        internal = folder / "patchdesk-northwind-dental-2026-11-internal.json"
        assert screen.last_export == internal
        text = internal.read_text(encoding="utf-8")
        assert text == render(report, "json")
        assert "exception.open" in text
        assert any("internal: not for the client" in t for t in toasts(app))
        assert not any("names no MSP" in t for t in toasts(app))

        await pilot.press("w")  # the next export starts on the client's again
        assert "for the client" in modal_text(app.screen)
        await pilot.press("j")
        await app.workers.wait_for_complete()
        await pilot.pause()
        client = folder / "patchdesk-northwind-dental-2026-11.json"
        assert screen.last_export == client
        assert "exception.open" not in client.read_text(encoding="utf-8")
        # no [report] msp_name configured here: said, not silent
        assert any("names no MSP" in t for t in toasts(app))


async def test_export_needs_a_client_and_a_writable_place(
    demo_db: Database, make_app: AppFactory, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    app = with_reports_dir(make_app(demo_db), blocker)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await open_reports(pilot)
        assert screen.selected_row() is not None
        assert screen.selected_row().is_all
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, ReportsScreen)
        assert any("per client" in t for t in toasts(app))
        await pilot.press("down", "w", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.last_export is None
        assert any("not written" in t and "cannot write" in t for t in toasts(app))
        assert blocker.read_text() == "x"


async def test_detail_shows_classes_and_tiers(demo_db: Database, make_app: AppFactory) -> None:
    add_history(demo_db)
    with demo_db.session() as session:
        summary = metrics_summary(session, NOV, DEMO_LAUNCH, [EMERGENCY_CLIENT])
    (northwind,) = summary.clients
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_reports(pilot)
        await go_to(pilot, screen, EMERGENCY_CLIENT)
        await pilot.press("d")
        assert isinstance(app.screen, ReportDetailScreen)
        text = app.screen.body.plain
        assert "Northwind Dental Partners" in text
        assert "cycle 2026-11" in text
        assert "America/New_York" in text
        failures = "   ".join(f"{f.value} {northwind.failures[f]}" for f in PATCH_FAILURE_CLASSES)
        assert failures in text
        assert f"{northwind.compliance_end.compliant_devices} of" in text
        assert northwind.emergencies[0].patch in text
        assert "Last six cycles" in text
        assert "2026-06" in text
        await pilot.press("escape")
        assert app.screen is screen
        await pilot.press("enter")
        assert isinstance(app.screen, ReportDetailScreen)
        await pilot.press("escape")
        assert app.screen is screen


async def test_an_empty_database_says_there_are_no_clients(
    empty_db: Database, make_app: AppFactory
) -> None:
    app = make_app(empty_db)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await open_reports(pilot)
        assert screen.has_class("-empty")
        message = screen.query_one("#reports-empty", Static)
        assert message.display
        assert "No clients yet" in str(message.render())
        assert not table(screen).display
        assert "0 clients" in str(screen.query_one("#reports-bar", Static).render())
        await pilot.press("s", "w", "d")
        assert isinstance(app.screen, ReportsScreen)
        assert any("no clients yet" in t for t in toasts(app))


async def test_help_lists_the_reports_keys(demo_db: Database, make_app: AppFactory) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_reports(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        entries = {(e.key, e.description, e.group) for e in app.screen.entries}
        for wanted in (
            ("s", "Sort", HelpGroup.SCREEN),
            ("S", "Reverse sort", HelpGroup.SCREEN),
            ("[", "Prev cycle", HelpGroup.SCREEN),
            ("]", "Next cycle", HelpGroup.SCREEN),
            ("c", "Current cycle", HelpGroup.SCREEN),
            ("enter, d", "Detail", HelpGroup.ROW),
            ("w", "Export", HelpGroup.ROW),
            ("r", "Refresh", HelpGroup.SCREEN),
            ("3", "Reports", HelpGroup.GLOBAL),
        ):
            assert wanted in entries


async def test_client_names_are_shown_literally(demo_db: Database, make_app: AppFactory) -> None:
    hostile = "[bold red]Evil[/] \x1b[2J\x07Corp"
    with demo_db.session() as session:
        session.execute(update(Client).where(Client.id == EMERGENCY_CLIENT).values(name=hostile))
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_reports(pilot)
        cell = table(screen).get_row(EMERGENCY_CLIENT)[0]
        assert isinstance(cell, Text)
        assert cell.plain == "[bold red]Evil[/] [2JCorp"
        assert not cell.spans
        await go_to(pilot, screen, EMERGENCY_CLIENT)
        panel = screen.query_one("#reports-panel-text", Static).render()
        assert "[bold red]Evil[/] [2JCorp" in str(panel)


# --- the pure cell rules ------------------------------------------------------------------


def _row(key: str, name: str, compliant: int, devices: int, failed: int = 0) -> ReportRow:
    figures = ComplianceFigures(DEMO_LAUNCH, devices, compliant, 0, 0)
    failures = dict.fromkeys(FailureClass, 0) | {FailureClass.REBOOT: failed}
    return ReportRow(key, name, figures, failures, 0, EMPTY, None)


def test_rates_never_round_up_to_all() -> None:
    assert rate_text(None) == "n/a"
    assert rate_text(Fraction(1)) == "100%"
    assert rate_text(Fraction(9999, 10000)) == "99.9%"
    assert rate_text(Fraction(2, 3)) == "66.6%"
    assert rate_text(Fraction(0)) == "0.0%"


def test_sort_puts_unknown_figures_last_either_way() -> None:
    rows = [
        _row(ALL_CLIENTS, "All clients", 5, 8),
        _row("b", "Beta", 3, 4, failed=2),
        _row("n", "None yet", 0, 0),
        _row("a", "Alpha", 2, 4, failed=5),
    ]
    worst = sort_rows(rows, SortColumn.DEVICE_RATE, reverse=False)
    assert [r.key for r in worst] == [ALL_CLIENTS, "a", "b", "n"]
    best = sort_rows(rows, SortColumn.DEVICE_RATE, reverse=True)
    assert [r.key for r in best] == [ALL_CLIENTS, "b", "a", "n"]
    most_failed = sort_rows(rows, SortColumn.FAILED, reverse=False)
    assert [r.key for r in most_failed] == [ALL_CLIENTS, "a", "b", "n"]
    z_to_a = sort_rows(rows, SortColumn.CLIENT, reverse=True)
    assert [r.key for r in z_to_a] == [ALL_CLIENTS, "n", "b", "a"]


def test_failed_cell_fits_its_column() -> None:
    failures = dict.fromkeys(FailureClass, 0) | {
        FailureClass.OFFLINE: 66,
        FailureClass.INSTALL: 53,
    }
    assert failed_text(failures, 18).plain == "119 offline 66"
    assert failed_text(failures, 13).plain == "119 offline"
    assert failed_text(failures, 5).plain == "119"
    regression = dict.fromkeys(FailureClass, 0) | {FailureClass.REGRESSION: 3}
    assert failed_text(regression, 13).plain == "3 regress 3"
    assert failed_text(regression, 18).plain == "3 regression 3"
    assert failed_text(dict.fromkeys(FailureClass, 0), 13).plain == "0"


def test_trend_glyphs() -> None:
    line = sparkline([None, Fraction(0), Fraction(1, 2), Fraction(1)])
    assert line.plain == "·▁▅█"
    assert count_bars([None, 0, 1, 4]).plain == "··▂█"
    failures = dict.fromkeys(FailureClass, 0) | {FailureClass.INSTALL: 2, FailureClass.OFFLINE: 2}
    assert top_class(failures) is FailureClass.OFFLINE  # a tie goes to the class triaged first
    assert top_class(dict.fromkeys(FailureClass, 0)) is None


def test_export_names_stay_in_the_directory() -> None:
    assert export_name("prairie-vet", NOV, "html") == "patchdesk-prairie-vet-2026-11.html"
    assert export_name("../../etc/passwd", NOV, "md") == "patchdesk-etc_passwd-2026-11.md"
    assert export_name("acme", NOV, "csv", attempt=3) == "patchdesk-acme-2026-11-3.csv"


def test_columns_fit_the_terminal_and_the_sort_marker() -> None:
    for width in (80, 100, 120, 160):
        columns = columns_for(width)
        assert sum(c.width + 2 for c in columns) + 1 <= width
        for column in columns:
            if column.sort is not None:
                assert len(header_text(column, column.sort, False).plain) <= column.width
    assert "median" in [c.key for c in columns_for(120)]
    assert "median" not in [c.key for c in columns_for(80)]


async def test_ended_cycles_are_kept_until_r(demo_db: Database, make_app: AppFactory) -> None:
    """Trend points of cycles that had ended are not read again on a cycle change (their
    figures do not move with time); the cycle shown is always read; r reads everything
    again. Shown by a failed September target added behind the screen's back."""
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_reports(pilot)
        assert screen.trends is not None
        assert [p.failed_total for p in screen.trends[EMERGENCY_CLIENT][:5]] == [0] * 5
        with demo_db.session() as session:
            device_id = session.scalars(
                select(Device.id).where(Device.client_id == EMERGENCY_CLIENT).limit(1)
            ).one()
            start = datetime(2026, 9, 20, 7, 0, tzinfo=UTC)
            deployment = Deployment(
                client_id=EMERGENCY_CLIENT,
                window_id=None,
                occurrence_start=start,
                occurrence_end=start + timedelta(hours=3),
                state=DeploymentState.CLOSED,
                opened_at=start,
            )
            session.add(deployment)
            session.flush()
            session.add(
                Target(
                    deployment_id=deployment.id,
                    device_id=device_id,
                    state=TargetState.INSTALL_FAILED,
                    error_message="0x80070005",
                    updated_at=start,
                )
            )
        await pilot.press("left_square_bracket")  # October: its trend ends with September
        screen = await reports_settled(pilot, reads=2)
        assert screen.trends is not None
        assert [p.cycle for p in screen.trends[EMERGENCY_CLIENT]][-2] == Cycle(2026, 9)
        assert screen.trends[EMERGENCY_CLIENT][-2].failed_total == 0  # kept from the first read
        await pilot.press("r")
        screen = await reports_settled(pilot, reads=3)
        assert screen.trends is not None
        assert screen.trends[EMERGENCY_CLIENT][-2].failed_total == 1
        assert cells(screen, EMERGENCY_CLIENT)["trend"].endswith("█·")
        await pilot.press("left_square_bracket")  # September itself is always read
        screen = await reports_settled(pilot, reads=4)
        assert cells(screen, EMERGENCY_CLIENT)["failed"].startswith("1 install")


async def test_colon_reports_opens_the_screen_and_esc_walks_back(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        assert "reports" in app.command_names()
        await pilot.press("colon", *"reports", "enter")
        screen = await reports_settled(pilot)
        assert app.current_mode == "reports"
        await pilot.press("d")
        assert isinstance(app.screen, ReportDetailScreen)
        await pilot.press("escape")
        assert app.screen is screen
        await pilot.press("escape")  # on the mode's first screen: back to the board
        assert app.current_mode == "board"
