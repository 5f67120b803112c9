"""The Clients screens (mode 5) on the seeded demo: the list against the store, the filter,
a client's detail and its sections, esc back, ``open_client`` from another mode with a known,
an unknown and a blank id, and untrusted client and window names shown literally."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from sqlalchemy import select
from textual.app import App
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from textual.widgets._toast import Toast

from patchdesk.domain import RecurrenceKind
from patchdesk.rules.calendar import WindowSpec, next_occurrences
from patchdesk.screens import client_sections as sections
from patchdesk.screens.clients import ClientDetailScreen, ClientsScreen, open_client
from patchdesk.screens.help import HelpScreen
from patchdesk.store.client_views import client_rows
from patchdesk.store.db import Database
from patchdesk.store.models import Client, MaintenanceWindow
from tests.screens.conftest import DEMO_LAUNCH, AppFactory

HOSTILE_NAME = "[bold red]X[/]\x1b[2J"
HOSTILE_WINDOW = "[@click=app.quit]Nightly\x1b]0;pwned\x07"


async def settle(pilot: Pilot[Any]) -> None:
    """Until the clients screen on top has read what it shows."""
    app = pilot.app
    for _ in range(100):
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        if isinstance(screen, ClientsScreen) and screen.loaded and not screen._reading:
            return
        if isinstance(screen, ClientDetailScreen) and screen.reads and not screen._reading:
            return
        if not isinstance(screen, ClientsScreen | ClientDetailScreen):
            return
    raise AssertionError(f"{app.screen} did not settle")


def table_rows(app: App[Any]) -> list[list[str]]:
    table = app.screen.query_one("#clients-table", DataTable)
    return [[cell.plain for cell in table.get_row_at(i)] for i in range(table.row_count)]


def rendered(content: object, width: int = 200) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    with console.capture() as capture:
        console.print(content)
    return capture.get()


def detail_text(app: App[Any]) -> str:
    """The title and every section as plain text (200 columns: no wrapping to undo)."""
    screen = app.screen
    assert isinstance(screen, ClientDetailScreen)
    parts = [rendered(screen.query_one("#client-title", Static).content)]
    parts += [rendered(static.content) for static in screen.query("#client-body > Static")]
    return "\n".join(parts)


def toasts(app: App[Any]) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query(Toast)]


async def test_five_lists_every_client_with_the_store_figures(
    demo_db: Database, make_app: AppFactory
) -> None:
    with demo_db.session() as session:
        expected = client_rows(session, DEMO_LAUNCH)
    assert len(expected) == 6
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await settle(pilot)
        assert app.current_mode == "clients"
        assert isinstance(app.screen, ClientsScreen)
        rows = table_rows(app)
        assert [row[1] for row in rows] == [row.id for row in expected]
        for shown, row in zip(rows, expected, strict=True):
            # Client, Id, SLA, Srv, Shr, Usr, Scope, T1-T4, Next window
            assert shown[2] == row.sla_tier
            counts = [row.devices.server, row.devices.shared_workstation, row.devices.single_user]
            assert shown[3:6] == [str(n) for n in counts]
            assert shown[6] == str(row.in_scope)
            tiers = [str(n) if n else "·" for n in row.open_exceptions.counts]
            assert shown[7:11] == tiers
        # The demo's first client has a window open at launch and open exceptions.
        northwind = rows[[row[1] for row in rows].index("northwind-dental")]
        assert northwind[0] == "Northwind Dental Partners"
        assert northwind[11].startswith("open now, ")
        assert any(cell != "·" for cell in northwind[7:11])
        bar = str(app.screen.query_one("#clients-bar", Static).render())
        assert bar.startswith("6 clients")


async def test_slash_filters_by_text_and_esc_clears(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("slash", "V", "e", "t")
        await pilot.pause()
        assert [row[1] for row in table_rows(app)] == ["prairie-vet"]
        await pilot.press("enter")  # keeps the filter, back in the table
        assert isinstance(app.focused, DataTable)
        bar = str(app.screen.query_one("#clients-bar", Static).render())
        assert bar.startswith("1 of 6 clients")
        await pilot.press("enter")  # opens the one client shown
        await settle(pilot)
        assert isinstance(app.screen, ClientDetailScreen)
        assert app.screen.client_id == "prairie-vet"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ClientsScreen)
        assert [row[1] for row in table_rows(app)] == ["prairie-vet"]  # still filtered
        await pilot.press("escape")
        await pilot.pause()
        assert len(table_rows(app)) == 6
        # A zone matches too.
        await pilot.press("slash", *"europe")
        await pilot.pause()
        assert sorted(row[1] for row in table_rows(app)) == [
            "rheinwerk-ingenieure",
            "thames-whitlock",
        ]


async def test_enter_opens_the_detail_and_esc_goes_back(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await settle(pilot)
        ids = [row[1] for row in table_rows(app)]
        await pilot.press("down", "down")
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ClientDetailScreen)
        assert screen.client_id == ids[2]
        assert screen.detail is not None
        text = detail_text(app)
        for heading in (
            "Overview",
            "Patch scope",
            "Maintenance windows",
            "Approval rules",
            "Deployment rings",
        ):
            assert heading in text
        # Each window's next occurrences, in client time and the operator's (Berlin), labelled.
        assert "your time (Europe/Berlin)" in text
        assert "Rules apply in order; the first rule that matches a patch decides." in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ClientsScreen)
        assert app.screen.query_one("#clients-table", DataTable).cursor_row == 2


async def test_brackets_jump_between_sections(demo_db: Database, make_app: AppFactory) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ClientDetailScreen)
        body = screen.query_one("#client-body", VerticalScroll)
        tops = [screen.query_one(f"#client-section-{i}").virtual_region.y for i in range(5)]
        assert tops == sorted(tops)
        assert tops[0] == 0
        assert body.scroll_y == 0
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert body.scroll_y == tops[1]  # the scope
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert body.scroll_y == tops[2]  # the windows
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert body.scroll_y == tops[1]
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        entries = {(e.key, e.description) for e in app.screen.entries}
        assert {("]", "Next section"), ("[", "Previous section"), ("esc", "Back")} <= entries


async def test_open_client_from_the_queue_and_back(demo_db: Database, make_app: AppFactory) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        assert app.current_mode == "queue"
        assert open_client(app, "kauri-freight") is True
        await settle(pilot)
        assert app.current_mode == "clients"
        screen = app.screen
        assert isinstance(screen, ClientDetailScreen)
        assert screen.client_id == "kauri-freight"
        assert "Kauri Freight & Logistics Ltd" in detail_text(app)
        # Another client from the same place replaces it (the list stays underneath).
        assert open_client(app, "prairie-vet") is True
        await settle(pilot)
        assert [type(s).__name__ for s in app.screen_stack] == [
            "ClientsScreen",
            "ClientDetailScreen",
        ]
        assert isinstance(app.screen, ClientDetailScreen)
        assert app.screen.client_id == "prairie-vet"
        await pilot.press("escape")  # back where it was opened from
        await pilot.pause()
        assert app.current_mode == "queue"
        await pilot.press("5")  # the clients mode now shows its list
        await settle(pilot)
        assert isinstance(app.screen, ClientsScreen)


async def test_open_client_within_the_clients_mode(demo_db: Database, make_app: AppFactory) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await settle(pilot)
        assert open_client(app, " thames-whitlock ") is True
        await settle(pilot)
        assert isinstance(app.screen, ClientDetailScreen)
        assert app.screen.client_id == "thames-whitlock"
        await pilot.press("escape")
        await settle(pilot)
        assert app.current_mode == "clients"
        assert isinstance(app.screen, ClientsScreen)


async def test_open_client_with_an_unknown_or_blank_id(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("2")
        await pilot.pause()
        assert open_client(app, "prairie") is True  # known only once the store answered
        await settle(pilot)
        await pilot.pause()
        assert app.current_mode == "queue"  # back where it was asked from
        said = toasts(app)
        assert any(
            "No client with id 'prairie'. Did you mean: prairie-vet?" in toast for toast in said
        ), said
        assert open_client(app, "   ") is False
        await pilot.pause()
        assert app.current_mode == "queue"
        assert any("Which client?" in toast for toast in toasts(app))
        assert open_client(app, "zzz-nothing") is True
        await settle(pilot)
        await pilot.pause()
        assert any(
            "No client with id 'zzz-nothing'. 6 clients exist" in toast for toast in toasts(app)
        )


async def test_client_and_window_names_are_shown_literally(
    demo_db: Database, make_app: AppFactory
) -> None:
    with demo_db.session() as session:
        client = session.get(Client, "northwind-dental")
        assert client is not None
        client.name = HOSTILE_NAME
        window = session.scalars(
            select(MaintenanceWindow).where(MaintenanceWindow.client_id == "northwind-dental")
        ).first()
        assert window is not None
        window.name = HOSTILE_WINDOW
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await settle(pilot)
        names = [row[0] for row in table_rows(app)]
        assert "[bold red]X[/][2J" in names  # markup kept as text, the escape gone
        for row in table_rows(app):
            for cell in row:
                assert "\x1b" not in cell
        assert open_client(app, "northwind-dental")
        await settle(pilot)
        text = detail_text(app)
        assert "\x1b" not in text
        assert "\x07" not in text
        assert "[bold red]X[/][2J" in text
        assert "[@click=app.quit]Nightly]0;pwned" in text
        await pilot.click("#client-title", offset=(2, 0))
        await pilot.click("#client-section-2", offset=(3, 3))
        await pilot.pause()
        assert app.is_running
        assert app.return_code is None


def test_occurrence_times_across_the_fall_back_night() -> None:
    """A Sunday 01:30-03:30 window in New York on 2026-11-01 (clocks go back at 02:00): it
    opens at the first 01:30 (EDT, 05:30 UTC) and ends at 03:30 EST (08:30 UTC), three hours;
    in Berlin (already on CET since 25 October) that is 06:30-09:30."""
    spec = WindowSpec("Servers", RecurrenceKind.WEEKLY, time(1, 30), timedelta(hours=2), (6,))
    found = next_occurrences(
        spec, ZoneInfo("America/New_York"), datetime(2026, 10, 31, tzinfo=UTC), 2
    )
    fall_back, after = found
    assert sections.local_span(fall_back) == "Sun 01 Nov 01:30 EDT–03:30 EST"
    berlin = ZoneInfo("Europe/Berlin")
    assert sections.operator_span(fall_back, berlin) == "Sun 01 Nov 06:30–09:30 CET"
    assert sections.operator_span(fall_back, berlin, day_format="%a") == "Sun 06:30–09:30 CET"
    assert sections.local_span(after) == "Sun 08 Nov 01:30–03:30 EST"
    during = datetime(2026, 11, 1, 7, 0, tzinfo=UTC)
    assert sections.compact_status(fall_back, during) == "open, 1h30m left"
    assert sections.compact_status(after, during) == "in 6d23h"


def test_a_window_crossing_midnight_names_the_next_day() -> None:
    spec = WindowSpec("Nightly", RecurrenceKind.WEEKLY, time(22, 0), timedelta(hours=4), (4,))
    (friday,) = next_occurrences(
        spec, ZoneInfo("Australia/Sydney"), datetime(2026, 11, 25, tzinfo=UTC), 1
    )
    assert sections.local_span(friday) == "Fri 27 Nov 22:00–Sat 02:00 AEDT"
    assert sections.operator_span(friday, ZoneInfo("Europe/Berlin")) == "Fri 27 Nov 12:00–16:00 CET"


async def test_help_names_the_list_keys(demo_db: Database, make_app: AppFactory) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        entries = {(e.key, e.description) for e in app.screen.entries}
        wanted = {
            ("enter", "Open"),
            ("/", "Filter"),
            ("esc", "Clear filter"),
            ("r", "Refresh"),
            ("5", "Clients"),
        }
        assert wanted <= entries
        assert ("enter", "Select") not in entries
