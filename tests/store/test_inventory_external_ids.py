"""External ids (RMM links) in ``patchdesk inventory import``: one device each, and moved only
on request, each move in the remediation log under the technician's name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from patchdesk.domain import Criticality, Role
from patchdesk.inventory.device_import import MOVE_ACTION, ExternalIdConflicts
from patchdesk.inventory.devices import InventoryRow, parse_inventory
from patchdesk.inventory.records import Invalid
from patchdesk.store.db import Database
from patchdesk.store.inventory_ops import apply_inventory
from patchdesk.store.models import Device, RemediationRecord
from patchdesk.store.remediation_log import verify_chain
from tests.conftest import NOW
from tests.store.test_inventory_import import HARBOR, HEADER, add_clients
from tests.store.test_untrusted_csv import snapshot
from tests.test_untrusted_files import run

NO_LEAVE = "moving an RMM link needs --move-external-ids"


@pytest.fixture
def db(database: Database, tmp_path: Path) -> Database:
    """Harbour Dental's four devices (HD-DC01 trmm-101, HD-FRONT01 none, HD-LT-DRPATEL
    trmm-103, HD-OP2 trmm-104) and a Kessler server (KE-DC01 ke-1)."""
    add_clients(database, "harbour-dental", "kessler-engineering")
    path = tmp_path / "start.csv"
    path.write_text(HARBOR + "KE-DC01,kessler-engineering,,server,,,,ke-1\n", encoding="utf-8")
    assert run(["--db", database.url, "inventory", "import", str(path)])[0] == 0
    return database


def links(database: Database) -> dict[str, str | None]:
    with database.session() as session:
        return {d.hostname: d.connector_id for d in session.scalars(select(Device))}


def log(database: Database) -> list[RemediationRecord]:
    with database.session() as session:
        return list(session.scalars(select(RemediationRecord).order_by(RemediationRecord.seq)))


def write(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "hosts.csv"
    path.write_text(HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def refuse(database: Database, path: Path, *flags: str) -> list[str]:
    """The import must exit 2 and change nothing; its problem lines."""
    before = snapshot(database)
    argv = ["--db", database.url, "--operator", "alice", "inventory", "import", str(path)]
    code, out, err = run([*argv, *flags])
    assert (code, out) == (2, ""), err
    assert snapshot(database) == before
    return err.splitlines()


def accept(database: Database, path: Path, *flags: str) -> str:
    argv = ["--db", database.url, "--operator", "alice", "inventory", "import", str(path)]
    code, out, err = run([*argv, *flags])
    assert code == 0, err
    return out


def row(hostname: str, external_id: str, client: str = "harbour-dental") -> str:
    return f"{hostname},{client},,single_user,,,,{external_id}"


# --- one device per external id -------------------------------------------------------------


def test_the_same_external_id_twice_in_a_file_is_refused() -> None:
    text = HEADER + row("A", "x1") + "\n" + row("B", "x2") + "\n" + row("C", " x1 ") + "\n"
    result = parse_inventory(text.encode(), known_clients={"harbour-dental"})
    assert isinstance(result, Invalid)
    assert result.render("f.csv") == ["f.csv:4: external_id: 'x1' is already on line 2"]


def test_an_external_id_twice_in_a_file_imports_nothing(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, row("HD-NEW1", "x1"), row("KE-NEW2", "x1", "kessler-engineering"))
    assert refuse(db, path) == [f"{path}:3: external_id: 'x1' is already on line 2"]


def test_an_external_id_another_device_has_is_refused(db: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        row("HD-NEW1", "trmm-101"),  # HD-DC01's, not in the file
        row("HD-NEW2", "ke-1"),  # a device of another client
        row("HD-DC01", ""),  # in the file, keeping its own
        row("HD-OP2", "trmm-104"),  # the same as it has
    )
    assert refuse(db, path, "--move-external-ids") == [
        f"{path}:2: external_id: 'trmm-101' is already the external_id of device 'HD-DC01' "
        "of client 'harbour-dental' (line 4 keeps it)",
        f"{path}:3: external_id: 'ke-1' is already the external_id of device 'KE-DC01' "
        "of client 'kessler-engineering'",
    ]


def test_apply_checks_the_rows_it_is_given(db: Database) -> None:
    """Rows that did not come from parse_inventory (the simulation builder's) are checked
    too, before anything is written."""
    rows = [
        InventoryRow(
            n,
            "harbour-dental",
            f"HD-NEW{n}",
            None,
            Role.SERVER,
            Criticality.CRITICAL,
            "",
            (),
            external_id,
        )
        for n, external_id in ((2, "x1"), (3, "x1"), (4, "trmm-103"))
    ]
    before = snapshot(db)
    with pytest.raises(ExternalIdConflicts) as error, db.writer() as session:
        apply_inventory(session, rows, now=NOW)
    assert [problem.render("f.csv") for problem in error.value.problems] == [
        "f.csv:2: external_id: 'x1' is also on line 3",
        "f.csv:3: external_id: 'x1' is also on line 2",
        "f.csv:4: external_id: 'trmm-103' is already the external_id of device "
        "'HD-LT-DRPATEL' of client 'harbour-dental'",
    ]
    assert snapshot(db) == before


def test_rows_that_keep_their_external_ids_are_no_moves(db: Database, tmp_path: Path) -> None:
    before = links(db)
    out = accept(db, write(tmp_path, row("HD-DC01", "trmm-101"), row("HD-FRONT01", "new-1")))
    assert "moved" not in out
    assert links(db) == {**before, "HD-FRONT01": "new-1"}  # a first external id is no move
    assert log(db) == []


# --- moves ----------------------------------------------------------------------------------


def test_changing_an_external_id_needs_leave(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, row("HD-DC01", "trmm-999"))
    assert refuse(db, path) == [
        f"{path}:2: external_id: would change the external_id of 'HD-DC01' from 'trmm-101' "
        f"to 'trmm-999': {NO_LEAVE}"
    ]


def test_a_move_with_leave_is_logged_and_reported(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, row("HD-DC01", "trmm-999"))
    out = accept(db, path, "--move-external-ids")
    assert out.splitlines() == [
        "harbour-dental: 0 created, 1 updated, 0 unchanged",
        "moved harbour-dental: HD-DC01: external_id 'trmm-101' -> 'trmm-999' (remediation log #1)",
    ]
    assert links(db)["HD-DC01"] == "trmm-999"
    [record] = log(db)
    with db.session() as session:
        device_id = session.scalar(select(Device.id).where(Device.hostname == "HD-DC01"))
    assert (record.actor, record.operator, record.action, record.outcome) == (
        "alice",
        "alice",
        MOVE_ACTION,
        "moved",
    )
    assert (record.client_id, record.device_id, record.exception_id) == (
        "harbour-dental",
        device_id,
        None,
    )
    assert record.note == f"inventory import {path}:2: external_id 'trmm-101' -> 'trmm-999'"
    with db.session() as session:
        assert verify_chain(session).ok


def test_swapping_two_external_ids(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, row("HD-DC01", "trmm-104"), row("HD-OP2", "trmm-101"))
    assert refuse(db, path) == [
        f"{path}:2: external_id: would change the external_id of 'HD-DC01' from 'trmm-101' to "
        "'trmm-104'; 'trmm-104' is the external_id of 'HD-OP2' of client 'harbour-dental' "
        f"(line 3 changes it): {NO_LEAVE}",
        f"{path}:3: external_id: would change the external_id of 'HD-OP2' from 'trmm-104' to "
        "'trmm-101'; 'trmm-101' is the external_id of 'HD-DC01' of client 'harbour-dental' "
        f"(line 2 changes it): {NO_LEAVE}",
    ]
    before = links(db)
    argv = ["--db", db.url, "--operator", "alice", "inventory", "import", str(path)]
    code, out, err = run([*argv, "--move-external-ids", "--json"])
    assert code == 0, err
    document = json.loads(out)
    assert document["updated"] == 2
    assert document["external_ids_moved"] == [
        {
            "line": 2,
            "client": "harbour-dental",
            "hostname": "HD-DC01",
            "from": "trmm-101",
            "to": "trmm-104",
            "taken_from": {"client": "harbour-dental", "hostname": "HD-OP2"},
            "record_seq": 1,
        },
        {
            "line": 3,
            "client": "harbour-dental",
            "hostname": "HD-OP2",
            "from": "trmm-104",
            "to": "trmm-101",
            "taken_from": {"client": "harbour-dental", "hostname": "HD-DC01"},
            "record_seq": 2,
        },
    ]
    assert links(db) == {**before, "HD-DC01": "trmm-104", "HD-OP2": "trmm-101"}
    assert [(r.action, r.note) for r in log(db)] == [
        (
            MOVE_ACTION,
            f"inventory import {path}:2: external_id 'trmm-101' -> 'trmm-104', "
            "which 'HD-OP2' of client 'harbour-dental' had",
        ),
        (
            MOVE_ACTION,
            f"inventory import {path}:3: external_id 'trmm-104' -> 'trmm-101', "
            "which 'HD-DC01' of client 'harbour-dental' had",
        ),
    ]


def test_an_external_id_passed_on_to_a_new_device(db: Database, tmp_path: Path) -> None:
    """HD-DC01 gets a new id and gives its old one to a new device of another client."""
    path = write(
        tmp_path, row("KE-NEW", "trmm-101", "kessler-engineering"), row("HD-DC01", "trmm-201")
    )
    assert refuse(db, path) == [
        f"{path}:2: external_id: 'trmm-101' is the external_id of 'HD-DC01' of client "
        f"'harbour-dental' (line 3 changes it): {NO_LEAVE}",
        f"{path}:3: external_id: would change the external_id of 'HD-DC01' from 'trmm-101' to "
        f"'trmm-201': {NO_LEAVE}",
    ]
    out = accept(db, path, "--move-external-ids")
    assert out.splitlines()[-2:] == [
        "moved kessler-engineering: KE-NEW: external_id (none) -> 'trmm-101' "
        "(from 'HD-DC01' of client 'harbour-dental') (remediation log #1)",
        "moved harbour-dental: HD-DC01: external_id 'trmm-101' -> 'trmm-201' (remediation log #2)",
    ]
    assert (links(db)["KE-NEW"], links(db)["HD-DC01"]) == ("trmm-101", "trmm-201")
    with db.session() as session:
        new_id = session.scalar(select(Device.id).where(Device.hostname == "KE-NEW"))
    assert [(r.client_id, r.device_id) for r in log(db)][:1] == [("kessler-engineering", new_id)]


def test_moves_need_a_named_technician(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, row("HD-DC01", "trmm-999"))
    before = snapshot(db)
    argv = ["--db", db.url, "--operator", "root", "inventory", "import", str(path)]
    code, _, err = run([*argv, "--move-external-ids"])
    assert code == 2
    assert err.startswith("patchdesk: who is acting?")
    assert snapshot(db) == before


def test_the_engine_runs_after_a_swap(tmp_path: Path) -> None:
    """End to end on the examples: a swap leaves a fleet the engine steps through."""
    examples = Path(__file__).resolve().parents[2] / "examples"
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    apply = ["--db", url, "--operator", "alice", "policy", "apply", str(examples / "policies")]
    assert run(apply)[0] == 0
    csv = examples / "inventory" / "harbour-dental.csv"
    assert run(["--db", url, "inventory", "import", str(csv)])[0] == 0
    lines = csv.read_text(encoding="utf-8").splitlines()
    first, second = lines[1].split(","), lines[2].split(",")
    first[-1], second[-1] = second[-1], first[-1]
    swap = tmp_path / "swap.csv"
    swap.write_text("\n".join([lines[0], ",".join(first), ",".join(second)]) + "\n")
    argv = ["--db", url, "--operator", "alice", "inventory", "import", str(swap)]
    assert run([*argv, "--move-external-ids"])[0] == 0
    code, out, err = run(["--db", url, "engine", "--once", "--log-file", str(tmp_path / "log")])
    assert code == 0, err
    assert out.startswith("opened ")
