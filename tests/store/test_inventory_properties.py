"""Generated inventory files: an import either applies every row, leaving no two devices with
one external id, or refuses with exit 2 and ``FILE:LINE:`` lines having changed nothing. On
SQLite and PostgreSQL alike."""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from patchdesk.domain import Criticality, OsFamily, Role
from patchdesk.inventory.device_import import MOVE_ACTION
from patchdesk.inventory.devices import COLUMNS
from patchdesk.inventory.records import is_control
from patchdesk.store.db import Database
from patchdesk.store.models import Client, Device, RemediationRecord
from tests.conftest import NOW
from tests.store.test_untrusted_csv import snapshot
from tests.test_untrusted_files import run

# Each example works on two clients of its own (and external ids of its own), so that the
# examples can share the test's database: a fresh one per example would take a migration each.
SHARED_DATABASE = settings(
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EXAMPLE = itertools.count()

HOSTNAMES = st.one_of(st.sampled_from(["H1", "H2", "H3", " H1 ", "h1"]), st.text(max_size=6))
# Mostly ids of the example's own (E1 .. E3, so rows collide with each other and with the
# devices already there), sometimes any text.
EXTERNAL_IDS = st.one_of(st.sampled_from(["", "E1", "E2", "E3", " E2 "]), st.text(max_size=4))
ROLES = st.one_of(
    st.sampled_from([r.value for r in Role] + ["Server", "laptop"]), st.text(max_size=3)
)
CRITICALITIES = st.sampled_from(["", "critical", "standard", "STANDARD", "urgent"])
TEXT = st.one_of(st.just(""), st.text(max_size=12))


@dataclass(frozen=True)
class Existing:
    client: int  # 0 or 1: which of the example's clients
    hostname: str
    external_id: str | None


existing_devices = st.lists(
    st.builds(
        Existing,
        st.integers(0, 1),
        st.sampled_from(["H1", "H2", "H3", "H4"]),
        st.sampled_from([None, "E1", "E2", "E3", "E4"]),
    ),
    max_size=5,
    unique_by=(lambda d: (d.client, d.hostname), lambda d: d.external_id or object()),
)
# Rows that are valid apart from their hostnames and external ids (which may collide), and
# rows of any text.
clean_row = st.fixed_dictionaries(
    {
        "hostname": st.sampled_from(["H1", "H2", "H3", "H4", "H5"]),
        "client": st.integers(0, 1),
        "site": st.sampled_from(["", "S1", "S2"]),
        "role": st.sampled_from([r.value for r in Role]),
        "criticality": st.sampled_from(["", "critical", "standard"]),
        "os": st.sampled_from(["", "Windows 11 Pro", "Ubuntu 24.04", "macOS 14"]),
        "tags": st.sampled_from(["", "pilot", "a; b"]),
        "external_id": st.sampled_from(["", "E1", "E2", "E3", "E4", "E5"]),
    }
)
dirty_row = st.fixed_dictionaries(
    {
        "hostname": HOSTNAMES,
        "client": st.integers(0, 1),
        "site": TEXT,
        "role": ROLES,
        "criticality": CRITICALITIES,
        "os": TEXT,
        "tags": TEXT,
        "external_id": EXTERNAL_IDS,
    }
)


@st.composite
def shuffled_ids(draw: st.DrawFn, existing: list[Existing]) -> list[dict[str, Any]]:
    """Rows for the devices there, with their external ids shuffled (and a new one):
    swaps, rotations, an id passed on to a device that had none."""
    ids = [d.external_id for d in existing if d.external_id] + ["E5"]
    order = draw(st.permutations(ids))
    base = draw(clean_row)
    return [
        {**base, "client": device.client, "hostname": device.hostname, "external_id": new}
        for device, new in zip(existing, order, strict=False)
    ]


def rows_for(existing: list[Existing]) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.one_of(
        shuffled_ids(existing),
        st.lists(  # one row per device and per external id
            clean_row,
            max_size=6,
            unique_by=(
                lambda r: (r["client"], r["hostname"]),
                lambda r: r["external_id"] or object(),
            ),
        ),
        st.lists(clean_row, max_size=6),
        st.lists(st.one_of(clean_row, dirty_row), max_size=6),
    )


scenarios = existing_devices.flatmap(
    lambda existing: st.tuples(st.just(existing), rows_for(existing))
)


def prefixed(prefix: str, external_id: str) -> str:
    """The example's own id for ``E1`` ...; any other text as it is (trimmed spaces kept)."""
    stripped = external_id.strip()
    if stripped in ("E1", "E2", "E3", "E4", "E5"):
        return external_id.replace(stripped, f"{prefix}-{stripped}")
    return external_id


def setup(database: Database, prefix: str, existing: list[Existing]) -> list[str]:
    clients = [f"{prefix}-a", f"{prefix}-b"]
    with database.writer() as session:
        for client_id in clients:
            session.add(
                Client(
                    id=client_id,
                    name=client_id,
                    timezone="UTC",
                    sla_tier="standard",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        session.flush()
        for device in existing:
            session.add(
                Device(
                    client_id=clients[device.client],
                    hostname=device.hostname,
                    role=Role.SINGLE_USER,
                    criticality=Criticality.STANDARD,
                    os_family=OsFamily.WINDOWS,
                    tags=[],
                    connector_id=(
                        None if device.external_id is None else f"{prefix}-{device.external_id}"
                    ),
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    return clients


def write_csv(path: Path, clients: list[str], prefix: str, data: list[dict[str, Any]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in data:
        values = {**row, "client": clients[row["client"]]}
        values["external_id"] = prefixed(prefix, row["external_id"])
        writer.writerow([values[name] for name in COLUMNS])
    path.write_text(out.getvalue(), encoding="utf-8", newline="")


def devices_of(database: Database, clients: list[str]) -> dict[tuple[str, str], Device]:
    with database.session() as session:
        query = select(Device).where(Device.client_id.in_(clients))
        return {(d.client_id, d.hostname): d for d in session.scalars(query)}


def all_links(database: Database) -> dict[tuple[str, str], str]:
    with database.session() as session:
        query = select(Device.client_id, Device.hostname, Device.connector_id)
        return {(c, h): x for c, h, x in session.execute(query) if x is not None}


def moves_logged(database: Database, clients: list[str]) -> int:
    with database.session() as session:
        query = (
            select(func.count())
            .select_from(RemediationRecord)
            .where(
                RemediationRecord.action == MOVE_ACTION, RemediationRecord.client_id.in_(clients)
            )
        )
        return session.scalar(query) or 0


@SHARED_DATABASE
@given(scenario=scenarios, allow_moves=st.booleans())
def test_an_import_applies_every_row_or_nothing(
    database: Database,
    tmp_path: Path,
    scenario: tuple[list[Existing], list[dict[str, Any]]],
    allow_moves: bool,
) -> None:
    existing, data = scenario
    prefix = f"x{next(EXAMPLE)}"
    clients = setup(database, prefix, existing)
    path = tmp_path / f"{prefix}.csv"
    write_csv(path, clients, prefix, data)
    before = snapshot(database)
    links_before = all_links(database)
    argv = ["--db", database.url, "--operator", "alice", "inventory", "import", str(path)]
    code, out, err = run(argv + (["--move-external-ids"] if allow_moves else []))

    event("refused" if code == 2 else "imported")
    if code == 2:
        assert out == ""
        assert err, "a refusal says why"
        for line in err.splitlines():
            assert line.startswith(f"{path}:"), line
        assert snapshot(database) == before
        return
    assert code == 0, err

    # Every row is there, as the file says (trimmed), without control characters.
    found = devices_of(database, clients)
    for row in data:
        device = found[(clients[row["client"]], row["hostname"].strip(" \t\r\n\f\v"))]
        assert device.os_name == row["os"].strip(" \t\r\n\f\v")
        for value in (device.hostname, device.os_name, device.connector_id or "", *device.tags):
            assert not any(is_control(char) for char in value), value
        wanted = prefixed(prefix, row["external_id"]).strip(" \t\r\n\f\v")
        if wanted:
            assert device.connector_id == wanted
    # No two devices share an external id, anywhere.
    links = all_links(database)
    assert len(set(links.values())) == len(links)
    # A device whose link changed, or that took another device's, is a logged move.
    holders_before = {link: key for key, link in links_before.items()}
    moved = [
        key
        for key, link in links.items()
        if links_before.get(key) != link
        and (links_before.get(key) is not None or holders_before.get(link, key) != key)
    ]
    event(f"{min(len(moved), 2)} moves")
    assert moved == [] or allow_moves
    assert moves_logged(database, clients) == len(moved)
    assert out.count("\nmoved ") + out.startswith("moved ") == len(moved)
