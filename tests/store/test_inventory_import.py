"""Applying inventory files to the store, and ``patchdesk inventory import`` end to end."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from patchdesk.cli import main
from patchdesk.domain import Criticality, OsFamily, Role
from patchdesk.inventory.device_import import (
    ExternalIdConflicts,
    ImportSummary,
    MoveExternalIds,
    UnknownClientsError,
)
from patchdesk.inventory.devices import InventoryRow, parse_inventory
from patchdesk.store.db import Database
from patchdesk.store.inventory_ops import apply_inventory
from patchdesk.store.models import Client, Device, Event, Site
from tests.conftest import NOW

HEADER = "hostname,client,site,role,criticality,os,tags,external_id\n"
HARBOR = (
    HEADER
    + "HD-DC01,harbour-dental,Main St,server,,Windows Server 2022,core,trmm-101\n"
    + "HD-FRONT01,harbour-dental,Main St,shared_workstation,,Windows 11 Pro,pilot;front,\n"
    + "HD-LT-DRPATEL,harbour-dental,,single_user,,macOS 14 Sonoma,,trmm-103\n"
    + "HD-OP2,harbour-dental,Riverside,shared_workstation,critical,Windows 10 Pro,,trmm-104\n"
)
LATER = NOW + timedelta(days=3)


def add_clients(database: Database, *client_ids: str) -> None:
    with database.session() as session:
        for client_id in client_ids:
            session.add(
                Client(
                    id=client_id,
                    name=client_id.replace("-", " ").title(),
                    timezone="America/New_York",
                    sla_tier="standard",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )


@pytest.fixture
def db(database: Database) -> Database:
    add_clients(database, "harbour-dental", "kessler-engineering")
    return database


def valid_rows(database: Database, text: str, client: str | None = None) -> list[InventoryRow]:
    with database.session() as session:
        known = frozenset(session.scalars(select(Client.id)))
    result = parse_inventory(text.encode(), known_clients=known, default_client=client)
    assert isinstance(result, list), result
    return result


def do_import(
    database: Database, text: str, *, now: datetime = NOW, moves: MoveExternalIds | None = None
) -> ImportSummary:
    rows = valid_rows(database, text)
    with database.writer() as session:
        return apply_inventory(session, rows, now=now, moves=moves)


def devices(database: Database) -> dict[str, Device]:
    with database.session() as session:
        return {d.hostname: d for d in session.scalars(select(Device).order_by(Device.id))}


def site_names(database: Database) -> dict[int, str]:
    with database.session() as session:
        return {s.id: s.name for s in session.scalars(select(Site))}


def inventory_events(database: Database) -> list[Event]:
    with database.session() as session:
        query = select(Event).where(Event.kind == "inventory.imported").order_by(Event.id)
        return list(session.scalars(query))


def counts(summary: ImportSummary) -> list[tuple[str, int, int, int]]:
    return [(c.client_id, c.created, c.updated, c.unchanged) for c in summary.clients]


# ----------------------------------------------------------------------------- apply


def test_import_creates_devices_and_sites(db: Database) -> None:
    summary = do_import(db, HARBOR)
    assert counts(summary) == [("harbour-dental", 4, 0, 0)]
    assert summary.clients[0].sites_created == ["Main St", "Riverside"]
    found = devices(db)
    assert list(found) == ["HD-DC01", "HD-FRONT01", "HD-LT-DRPATEL", "HD-OP2"]
    sites = site_names(db)
    dc = found["HD-DC01"]
    assert (dc.client_id, sites[dc.site_id or 0]) == ("harbour-dental", "Main St")
    assert (dc.role, dc.criticality) == (Role.SERVER, Criticality.CRITICAL)
    assert (dc.os_name, dc.os_family, dc.os_version) == (
        "Windows Server 2022",
        OsFamily.WINDOWS,
        "",
    )
    assert (dc.tags, dc.connector_id) == (["core"], "trmm-101")
    assert (dc.created_at, dc.updated_at) == (NOW, NOW)
    assert dc.created_at.utcoffset() == timedelta(0)
    front = found["HD-FRONT01"]
    assert (front.criticality, front.tags, front.connector_id) == (
        Criticality.STANDARD,
        ["pilot", "front"],
        None,
    )
    laptop = found["HD-LT-DRPATEL"]
    assert (laptop.site_id, laptop.os_family) == (None, OsFamily.MACOS)
    assert found["HD-OP2"].criticality is Criticality.CRITICAL
    assert sites[found["HD-OP2"].site_id or 0] == "Riverside"


def test_import_records_one_event_per_client(db: Database) -> None:
    text = HARBOR + "KE-BER-DC01,kessler-engineering,Berlin,server,,Windows Server 2019,,\n"
    do_import(db, text)
    events = [(e.entity, e.entity_id, e.client_id, e.payload, e.at) for e in inventory_events(db)]
    assert events == [
        ("client", "harbour-dental", "harbour-dental", {"created": 4, "updated": 0}, NOW),
        ("client", "kessler-engineering", "kessler-engineering", {"created": 1, "updated": 0}, NOW),
    ]


def test_existing_sites_are_reused(db: Database) -> None:
    with db.session() as session:
        session.add(Site(client_id="harbour-dental", name="Main St"))
    summary = do_import(db, HARBOR)
    assert summary.clients[0].sites_created == ["Riverside"]
    assert sorted(site_names(db).values()) == ["Main St", "Riverside"]


def test_reimporting_the_same_file_changes_nothing(db: Database) -> None:
    do_import(db, HARBOR)
    before = {name: (d.id, d.updated_at) for name, d in devices(db).items()}
    summary = do_import(db, HARBOR, now=LATER)
    assert counts(summary) == [("harbour-dental", 0, 0, 4)]
    assert summary.clients[0].sites_created == []
    assert {name: (d.id, d.updated_at) for name, d in devices(db).items()} == before
    assert len(site_names(db)) == 2
    assert len(inventory_events(db)) == 1  # only the first import's


def test_reimport_updates_in_place_and_only_changed_rows(db: Database) -> None:
    do_import(db, HARBOR)
    before = devices(db)
    changed = (
        HARBOR.replace("core,trmm-101", "core;pilot,trmm-101")
        .replace("HD-OP2,harbour-dental,Riverside", "HD-OP2,harbour-dental,Main St")
        .replace("single_user,,macOS 14 Sonoma", "single_user,,Ubuntu 24.04 LTS")
    )
    summary = do_import(db, changed, now=LATER)
    assert counts(summary) == [("harbour-dental", 0, 3, 1)]
    after = devices(db)
    assert {n: d.id for n, d in after.items()} == {n: d.id for n, d in before.items()}
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Device)) == 4
    assert after["HD-DC01"].tags == ["core", "pilot"]
    assert site_names(db)[after["HD-OP2"].site_id or 0] == "Main St"
    assert (after["HD-LT-DRPATEL"].os_name, after["HD-LT-DRPATEL"].os_family) == (
        "Ubuntu 24.04 LTS",
        OsFamily.LINUX,
    )
    for name in ("HD-DC01", "HD-OP2", "HD-LT-DRPATEL"):
        assert (after[name].created_at, after[name].updated_at) == (NOW, LATER)
    assert after["HD-FRONT01"].updated_at == NOW
    assert [e.payload for e in inventory_events(db)][-1] == {"created": 0, "updated": 3}


def test_devices_absent_from_the_file_are_left_alone(db: Database) -> None:
    do_import(db, HARBOR)
    only_one = HEADER + "HD-NEW01,harbour-dental,,single_user,,Windows 11 Pro,,\n"
    summary = do_import(db, only_one, now=LATER)
    assert counts(summary) == [("harbour-dental", 1, 0, 0)]
    found = devices(db)
    assert len(found) == 5
    assert found["HD-DC01"].updated_at == NOW


def test_empty_external_id_keeps_the_connector_id(db: Database) -> None:
    do_import(db, HARBOR)
    summary = do_import(db, HARBOR.replace(",trmm-101\n", ",\n"), now=LATER)
    assert counts(summary) == [("harbour-dental", 0, 0, 4)]
    assert devices(db)["HD-DC01"].connector_id == "trmm-101"
    moved = HARBOR.replace(",trmm-101\n", ",trmm-999\n")
    with pytest.raises(ExternalIdConflicts):  # a move needs leave (see test_external_ids)
        do_import(db, moved, now=LATER)
    summary = do_import(db, moved, now=LATER, moves=MoveExternalIds("alice", "hosts.csv"))
    assert counts(summary) == [("harbour-dental", 0, 1, 3)]
    assert devices(db)["HD-DC01"].connector_id == "trmm-999"


def test_empty_site_and_criticality_on_reimport_clear_and_default(db: Database) -> None:
    do_import(db, HARBOR)
    text = HARBOR.replace("Riverside,shared_workstation,critical", ",shared_workstation,")
    summary = do_import(db, text, now=LATER)
    assert counts(summary) == [("harbour-dental", 0, 1, 3)]
    op2 = devices(db)["HD-OP2"]
    assert (op2.site_id, op2.criticality) == (None, Criticality.STANDARD)


def test_same_hostname_under_two_clients(db: Database) -> None:
    text = HEADER + "FS01,harbour-dental,,server,,,,\nFS01,kessler-engineering,,server,,,,\n"
    summary = do_import(db, text)
    assert counts(summary) == [("harbour-dental", 1, 0, 0), ("kessler-engineering", 1, 0, 0)]
    with db.session() as session:
        owners = sorted(session.scalars(select(Device.client_id).where(Device.hostname == "FS01")))
    assert owners == ["harbour-dental", "kessler-engineering"]


def test_hostile_hostname_round_trips_verbatim(db: Database) -> None:
    hostname = "[bold red]HOST[/] ☠ Zürich \u202e"
    do_import(db, HEADER + f'"{hostname}",harbour-dental,,single_user,,,,\n')
    assert list(devices(db)) == [hostname]


def test_a_client_deleted_after_validation_writes_nothing(db: Database) -> None:
    rows = valid_rows(db, HARBOR)
    with db.session() as session:
        session.delete(session.get_one(Client, "harbour-dental"))
    with pytest.raises(UnknownClientsError) as error, db.writer() as session:
        apply_inventory(session, rows, now=NOW)
    assert error.value.client_ids == ("harbour-dental",)
    assert devices(db) == {}
    assert site_names(db) == {}
    assert inventory_events(db) == []


# ----------------------------------------------------------------------------- CLI


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


def write(tmp_path: Path, text: str, name: str = "hosts.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return str(path)


def test_cli_imports_and_prints_a_summary(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, HARBOR)
    assert run(["--db", db.url, "inventory", "import", path]) == 0
    assert (
        capsys.readouterr().out
        == "harbour-dental: 4 created, 0 updated, 0 unchanged, 2 new sites\n"
    )
    assert len(devices(db)) == 4
    assert run(["--db", db.url, "inventory", "import", path]) == 0
    assert capsys.readouterr().out == "harbour-dental: 0 created, 0 updated, 4 unchanged\n"


def test_cli_json_summary(db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = HEADER + "KE-BER-FS01,,Berlin,server,,Windows Server 2022,,\n"
    path = write(tmp_path, text)
    argv = ["--db", db.url, "inventory", "import", path, "--client", "kessler-engineering"]
    assert run([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "file": path,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "clients": [
            {
                "client": "kessler-engineering",
                "created": 1,
                "updated": 0,
                "unchanged": 0,
                "sites_created": ["Berlin"],
            }
        ],
        "external_ids_moved": [],
    }


def test_cli_one_bad_row_imports_nothing(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, HARBOR + "HD-LAB01,harbour-dental,Lab,workstation,,,,\n")
    assert run(["--db", db.url, "inventory", "import", path]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"{path}:6: role: unknown role 'workstation' "
        "(expected one of server, shared_workstation, single_user)\n"
    )
    assert devices(db) == {}
    assert site_names(db) == {}
    assert inventory_events(db) == []


def test_cli_unknown_client_is_bad_input(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, HEADER + "H1,,,server,,,,\n")
    assert run(["--db", db.url, "inventory", "import", path, "--client", "acme"]) == 2
    assert capsys.readouterr().err == (
        f"{path}: --client: unknown client 'acme' "
        "(clients are created by 'patchdesk policy apply')\n"
    )
    assert devices(db) == {}


def test_cli_unreadable_file_is_bad_input(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(tmp_path / "missing.csv")
    assert run(["--db", db.url, "inventory", "import", path]) == 2
    assert capsys.readouterr().err == f"{path}: cannot read: No such file or directory\n"


def test_cli_header_only_file(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, HEADER)
    assert run(["--db", db.url, "inventory", "import", path]) == 0
    assert capsys.readouterr().out == f"{path}: no devices\n"


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "inventory"


def test_the_examples_import_cleanly(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    add_clients(database, "harbour-dental", "kessler-engineering", "southern-cross-accounting")
    # missing-patches.csv is a missing-patch report (inventory patches), not devices
    files = sorted(p for p in EXAMPLES.glob("*.csv") if p.name != "missing-patches.csv")
    assert len(files) >= 2
    for path in files:
        argv = ["--db", database.url, "inventory", "import", str(path)]
        if "client" not in path.read_text(encoding="utf-8").splitlines()[0].split(","):
            argv += ["--client", path.stem]
        assert run(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "0 updated" in out
    found = devices(database)
    assert len(found) >= 30
    assert {d.role for d in found.values()} == set(Role)
