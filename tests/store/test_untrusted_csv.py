"""The CSV readers (``inventory import``, ``inventory patches``) on unusable files and on
control characters: exit 2, one ``FILE...`` line per problem, and nothing written, on SQLite
and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from patchdesk.store.db import Database
from patchdesk.store.models import Device, DevicePatch, Event, Patch, RemediationRecord, Site
from patchdesk.untrusted_files import MAX_CSV_BYTES, MAX_LINE_CHARS
from tests.store.test_inventory_import import HEADER, add_clients
from tests.test_untrusted_files import fifo, run

PATCH_HEADER = (
    "client,hostname,patch_id,title,vendor,product,classification,severity,"
    "release_date,reboot_required\n"
)
GOOD_DEVICE = "HD-DC01,harbour-dental,Main St,server,critical,Windows Server 2022,core,trmm-101\n"
GOOD_PATCH = (
    "harbour-dental,HD-DC01,KB5072029,2026-11 Cumulative Update,Microsoft,"
    "Windows Server 2022,security,critical,2026-11-10,true\n"
)
COMMANDS = {"import": HEADER + GOOD_DEVICE, "patches": PATCH_HEADER + GOOD_PATCH}
BOTH = pytest.mark.parametrize("command", ["import", "patches"])


@pytest.fixture
def db(database: Database) -> Database:
    add_clients(database, "harbour-dental", "kessler-engineering")
    return database


def device_db(database: Database, tmp_path: Path) -> Database:
    """``db`` with the device the patch rows name (for ``inventory patches``)."""
    path = tmp_path / "device.csv"
    path.write_text(HEADER + GOOD_DEVICE.replace(",trmm-101", ","), encoding="utf-8")
    assert run(["--db", database.url, "inventory", "import", str(path)])[0] == 0
    return database


def snapshot(database: Database) -> dict[str, Any]:
    """Everything an import may write."""
    with database.session() as session:
        return {
            "devices": sorted(
                (d.client_id, d.hostname, d.os_name, d.site_id, d.connector_id, tuple(d.tags))
                for d in session.scalars(select(Device))
            ),
            "sites": sorted((s.client_id, s.name) for s in session.scalars(select(Site))),
            "patches": sorted(session.scalars(select(Patch.vendor_id))),
            "device_patches": session.scalar(select(func.count()).select_from(DevicePatch)),
            "events": session.scalar(select(func.count()).select_from(Event)),
            "log": session.scalar(select(func.count()).select_from(RemediationRecord)),
        }


def refused(database: Database, command: str, path: Path) -> str:
    """Run ``inventory COMMAND PATH``; it must exit 2 having written nothing. Its stderr."""
    before = snapshot(database)
    code, out, err = run(["--db", database.url, "inventory", command, str(path)])
    assert (code, out) == (2, ""), err
    assert snapshot(database) == before
    return err


# --- unusable files -------------------------------------------------------------------------


@BOTH
def test_a_fifo_is_refused_without_waiting(db: Database, tmp_path: Path, command: str) -> None:
    device_db(db, tmp_path)
    with fifo(tmp_path / "pipe.csv", COMMANDS[command].encode()) as pipe:
        err = refused(db, command, pipe)
    assert err == f"{pipe}: a FIFO (named pipe), not a regular file\n"


@BOTH
def test_a_file_over_the_limit_is_refused_unread(
    db: Database, tmp_path: Path, command: str
) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.write(COMMANDS[command].encode())
        handle.truncate(MAX_CSV_BYTES + 1)  # sparse
    err = refused(db, command, path)
    assert err == f"{path}: too large (64.0 MiB): a CSV file may have at most 64 MiB\n"


def test_a_line_over_the_limit_is_refused(db: Database, tmp_path: Path) -> None:
    tags = ";".join(["t"] * (MAX_LINE_CHARS // 2 + 1))  # within the CSV field limit
    path = tmp_path / "long.csv"
    path.write_text(HEADER + GOOD_DEVICE + f'HD-X,harbour-dental,,server,,,"{tags}",\n')
    err = refused(db, "import", path)
    assert err == f"{path}:3: row: line longer than 65,536 characters\n"


@BOTH
def test_a_path_that_cannot_be_read(db: Database, tmp_path: Path, command: str) -> None:
    (tmp_path / "plain").write_text("x")
    path = tmp_path / "plain" / "below.csv"
    assert refused(db, command, path) == f"{path}: cannot read: Not a directory\n"
    path = tmp_path / "missing.csv"
    assert refused(db, command, path) == f"{path}: cannot read: No such file or directory\n"


@BOTH
def test_binary_content_is_refused(db: Database, tmp_path: Path, command: str) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(COMMANDS[command].encode() + b"\x89PNG\r\n\x1a\n\x00")
    err = refused(db, command, path)
    assert err == f"{path}:3: encoding: not UTF-8 text (byte 0x89); save the file as UTF-8 CSV\n"


# --- control characters ---------------------------------------------------------------------

CONTROLS = ["\x00", "\x1b", "\r", "\t", "\n", "\x7f", "\x85", "\x9b"]
DEVICE_COLUMNS = ["hostname", "client", "site", "role", "criticality", "os", "tags", "external_id"]
GOOD_VALUES = dict(zip(DEVICE_COLUMNS, GOOD_DEVICE.strip().split(","), strict=True))


def quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


# Every column with NUL (stored by SQLite, an error on PostgreSQL before) and with another.
PAIRS = [(column, "\x00") for column in DEVICE_COLUMNS] + [
    (column, CONTROLS[1 + n % (len(CONTROLS) - 1)]) for n, column in enumerate(DEVICE_COLUMNS)
]


@pytest.mark.parametrize(
    ("column", "char"), PAIRS, ids=[f"{col}-U+{ord(char):04X}" for col, char in PAIRS]
)
def test_a_control_character_in_any_device_column_is_refused(
    db: Database, tmp_path: Path, column: str, char: str
) -> None:
    values = dict(GOOD_VALUES)
    values[column] = values[column][:2] + char + values[column][2:]  # inside: not trimmed
    path = tmp_path / "hosts.csv"
    line = ",".join(quoted(values[name]) for name in DEVICE_COLUMNS)
    path.write_text(HEADER + line + "\n", encoding="utf-8", newline="")
    err = refused(db, "import", path)
    assert err == f"{path}:2: {column}: contains control character U+{ord(char):04X}\n"


PATCH_COLUMNS = PATCH_HEADER.strip().split(",")
PATCH_VALUES = dict(zip(PATCH_COLUMNS, GOOD_PATCH.strip().split(","), strict=True))


@pytest.mark.parametrize("char", ["\x00", "\x85"], ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("column", ["title", "vendor", "product", "patch_id", "severity"])
def test_a_control_character_in_a_patch_column_is_refused(
    db: Database, tmp_path: Path, column: str, char: str
) -> None:
    device_db(db, tmp_path)
    values = dict(PATCH_VALUES)
    values[column] = values[column][:2] + char + values[column][2:]
    path = tmp_path / "patches.csv"
    line = ",".join(quoted(values[name]) for name in PATCH_COLUMNS)
    path.write_text(PATCH_HEADER + line + "\n", encoding="utf-8", newline="")
    err = refused(db, "patches", path)
    assert err == f"{path}:2: {column}: contains control character U+{ord(char):04X}\n"


def test_surrounding_whitespace_is_trimmed_not_refused(db: Database, tmp_path: Path) -> None:
    """A tab or a line break around a value is trimmed (spreadsheets leave them), not stored."""
    path = tmp_path / "hosts.csv"
    path.write_text(HEADER + '"\tHD-DC01 ",harbour-dental,"Main St\r\n",server,,,,\n')
    code, _, err = run(["--db", db.url, "inventory", "import", str(path)])
    assert code == 0, err
    state = snapshot(db)
    assert [device[1] for device in state["devices"]] == ["HD-DC01"]
    assert state["sites"] == [("harbour-dental", "Main St")]
