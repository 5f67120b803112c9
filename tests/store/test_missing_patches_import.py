"""Applying missing-patch reports, and ``patchdesk inventory patches`` end to end."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from patchdesk.cli import main
from patchdesk.domain import Classification, Criticality, MissingPatchState, OsFamily, Role
from patchdesk.inventory.patches import (
    MissingRow,
    PatchImportSummary,
    UnknownDevicesError,
    parse_missing_patches,
)
from patchdesk.store.db import Database
from patchdesk.store.missing_patch_ops import apply_missing_patches, known_devices
from patchdesk.store.models import Client, Device, DevicePatch, Event, Patch
from tests.conftest import NOW

HEADER = (
    "client,hostname,patch_id,title,vendor,product,classification,severity,"
    "release_date,reboot_required\n"
)
REPORT = (
    HEADER + "harbour-dental,HDG-BOS-DC01,KB5072029,2026-11 Cumulative Update for Server 2022,"
    "Microsoft,Windows Server 2022,security,critical,2026-11-10,true\n"
    + "harbour-dental,HDG-BOS-FRONT01,KB5072029,2026-11 Cumulative Update for Server 2022,"
    "Microsoft,Windows Server 2022,security,critical,2026-11-10,true\n"
    + "harbour-dental,HDG-BOS-FRONT01,Google.Chrome-143,Google Chrome 143 [red]red[/red] \u202e,"
    "Google LLC,Google Chrome,third_party,critical,2026-11-25,false\n"
    + "kessler-engineering,KSI-CAD-WEBER,Google.Chrome-143,Google Chrome 143 [red]red[/red] \u202e,"
    "Google LLC,Google Chrome,third_party,critical,2026-11-25,false\n"
)
LATER = NOW + timedelta(days=1)


@pytest.fixture
def db(database: Database) -> Database:
    with database.writer() as session:
        for client_id in ("harbour-dental", "kessler-engineering"):
            session.add(
                Client(
                    id=client_id,
                    name=client_id,
                    timezone="America/New_York",
                    sla_tier="gold",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        session.flush()
        for client_id, hostname in (
            ("harbour-dental", "HDG-BOS-DC01"),
            ("harbour-dental", "HDG-BOS-FRONT01"),
            ("kessler-engineering", "KSI-CAD-WEBER"),
        ):
            session.add(
                Device(
                    client_id=client_id,
                    hostname=hostname,
                    role=Role.SERVER,
                    criticality=Criticality.CRITICAL,
                    os_family=OsFamily.WINDOWS,
                    tags=[],
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    return database


def rows_of(database: Database, text: str) -> list[MissingRow]:
    with database.session() as session:
        known = known_devices(session)
    rows = parse_missing_patches(text.encode(), known_devices=known)
    assert isinstance(rows, list), rows
    return rows


def do_import(database: Database, text: str, now: datetime = NOW) -> PatchImportSummary:
    rows = rows_of(database, text)
    with database.writer() as session:
        return apply_missing_patches(session, rows, now=now)


def state(database: Database) -> list[tuple[str, str, str]]:
    with database.session() as session:
        query = (
            select(Device.hostname, Patch.vendor_id, DevicePatch.state)
            .join(Device, DevicePatch.device_id == Device.id)
            .join(Patch, DevicePatch.patch_id == Patch.id)
            .order_by(Device.hostname, Patch.vendor_id)
        )
        return [(h, p, s.value) for h, p, s in session.execute(query)]


def test_import_creates_patches_and_missing_rows(db: Database) -> None:
    summary = do_import(db, REPORT)
    assert summary.patches_created == ("KB5072029", "Google.Chrome-143")
    assert [c.as_dict() for c in summary.clients] == [
        {"client": "harbour-dental", "added": 3, "reopened": 0, "unchanged": 0},
        {"client": "kessler-engineering", "added": 1, "reopened": 0, "unchanged": 0},
    ]
    assert state(db) == [
        ("HDG-BOS-DC01", "KB5072029", "missing"),
        ("HDG-BOS-FRONT01", "Google.Chrome-143", "missing"),
        ("HDG-BOS-FRONT01", "KB5072029", "missing"),
        ("KSI-CAD-WEBER", "Google.Chrome-143", "missing"),
    ]
    with db.session() as session:
        chrome = session.scalars(select(Patch).where(Patch.vendor_id == "Google.Chrome-143")).one()
        assert chrome.title == "Google Chrome 143 [red]red[/red] \u202e"  # stored as given
        assert chrome.classification is Classification.THIRD_PARTY
        assert chrome.reboot_required is False
        kinds = session.scalars(select(Event.kind)).all()
        assert kinds == ["patches.imported", "patches.imported"]


def test_reimport_changes_nothing(db: Database) -> None:
    do_import(db, REPORT)
    with db.session() as session:
        before = session.scalars(select(DevicePatch).order_by(DevicePatch.id)).all()
        stamps = [(r.id, r.detected_at, r.updated_at) for r in before]
    summary = do_import(db, REPORT, now=LATER)
    assert (summary.patches_created, summary.patches_updated) == ((), ())
    assert summary.patches_unchanged == 2
    assert sum(c.unchanged for c in summary.clients) == 4
    assert sum(c.added + c.reopened for c in summary.clients) == 0
    with db.session() as session:
        after = session.scalars(select(DevicePatch).order_by(DevicePatch.id)).all()
        assert [(r.id, r.detected_at, r.updated_at) for r in after] == stamps
        assert session.scalar(select(func.count()).select_from(Event)) == 2


def test_reimport_updates_patches_and_reopens_installed(db: Database) -> None:
    do_import(db, REPORT)
    with db.writer() as session:
        for row in session.scalars(select(DevicePatch)):
            row.state = MissingPatchState.INSTALLED
            row.installed_at = NOW
    summary = do_import(db, REPORT.replace("Server 2022,security", "Server 2022 (v2),security"))
    assert summary.patches_updated == ("KB5072029",)
    assert sum(c.reopened for c in summary.clients) == 4
    assert {s for _, _, s in state(db)} == {"missing"}
    with db.session() as session:
        assert session.scalars(select(DevicePatch.installed_at)).all() == [None] * 4


def test_failed_rows_stay_failed(db: Database) -> None:
    do_import(db, REPORT)
    with db.writer() as session:
        for row in session.scalars(select(DevicePatch)):
            row.state = MissingPatchState.FAILED
    do_import(db, REPORT, now=LATER)
    assert {s for _, _, s in state(db)} == {"failed"}


def test_a_device_removed_since_validation_imports_nothing(db: Database) -> None:
    rows = rows_of(db, REPORT)
    with db.writer() as session:
        weber = session.scalars(select(Device).where(Device.hostname == "KSI-CAD-WEBER")).one()
        session.delete(weber)
    with pytest.raises(UnknownDevicesError) as error, db.writer() as session:
        apply_missing_patches(session, rows, now=NOW)
    assert error.value.missing == (("kessler-engineering", "KSI-CAD-WEBER"),)
    assert state(db) == []


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


def test_cli_imports_and_reports(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "missing.csv"
    path.write_text(REPORT, encoding="utf-8")
    assert run(["--db", db.url, "inventory", "patches", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "patches: 2 created, 0 updated, 0 unchanged",
        "harbour-dental: 3 missing patches recorded, 0 reopened, 0 unchanged",
        "kessler-engineering: 1 missing patches recorded, 0 reopened, 0 unchanged",
    ]
    assert run(["--db", db.url, "inventory", "patches", str(path), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["patches_unchanged"] == 2
    assert [c["unchanged"] for c in document["clients"]] == [3, 1]


def test_cli_refuses_a_bad_file_whole(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "missing.csv"
    bad = REPORT + "harbour-dental,HDG-GONE,KB1,t,v,p,security,critical,2026-11-10,true\n"
    path.write_text(bad, encoding="utf-8")
    assert run(["--db", db.url, "inventory", "patches", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"{path}:6: hostname: 'HDG-GONE' is not a device of client 'harbour-dental' "
        "(devices are added by 'patchdesk inventory import')"
    ]
    assert captured.out == ""
    assert state(db) == []
    assert run(["--db", db.url, "inventory", "patches", str(tmp_path / "none.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
