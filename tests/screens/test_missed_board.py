"""The board: per client, the devices not patched this cycle with their reasons, and a window
opened for a client the fleet connector knows no device of says so in words."""

from __future__ import annotations

from patchdesk.domain import Role
from patchdesk.screens.board import not_patched_text
from patchdesk.screens.board_feed import BoardFeed
from patchdesk.screens.widgets.window_list import NO_FLEET_DEVICES, unknown_fleets
from patchdesk.store.board_views import read_open_windows
from tests.engine.test_lifecycle import World, add_devices, world

__all__ = ["world"]


def test_the_board_counts_per_client_what_was_not_patched(world: World) -> None:
    add_devices(world, *((f"SRV{n}", Role.SERVER) for n in range(3)), install_minutes=150)
    world.run(5 * 60)
    update = BoardFeed(world.db).read(world.now)
    assert update.not_patched is not None
    [client] = update.not_patched
    assert client.client_name == "Acme Dental"
    assert client.total >= 1
    assert client.reasons == (("capacity", client.total),)
    text = not_patched_text(update.not_patched).plain
    assert (
        f"Not patched this cycle: Acme Dental {client.total} ({client.total} not reached)" in text
    )


def test_the_board_says_nothing_is_unpatched() -> None:
    assert not_patched_text(()).plain == "Not patched this cycle: none"


def test_a_window_of_a_client_the_fleet_knows_no_device_of_says_so(world: World) -> None:
    world.run(5)  # the window opens; the client has no device the connector reported
    with world.db.session() as session:
        [row] = read_open_windows(session, world.now)
    assert row.total == 0
    assert row.fleet_knows_none
    [line] = unknown_fleets([row])
    assert line.plain == f"Acme Dental: {NO_FLEET_DEVICES}"


def test_a_window_of_a_client_with_known_devices_says_nothing_of_the_kind(world: World) -> None:
    add_devices(world, ("SRV0", Role.SERVER))
    world.run(5)
    with world.db.session() as session:
        [row] = read_open_windows(session, world.now)
    assert not row.fleet_knows_none
    assert unknown_fleets([row]) == []
