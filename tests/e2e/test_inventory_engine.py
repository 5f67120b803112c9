"""After any inventory import the CLI accepts, ``patchdesk engine --once`` steps the fleet.

Each example imports generated devices (odd but printable text, the example fleet's own
hostnames and external ids, new ones, moves) into a copy of a database holding the example
policies and inventories, then runs the engine once as a user does.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from patchdesk.domain import Role
from patchdesk.inventory.devices import COLUMNS
from tests.test_untrusted_files import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
INVENTORIES = ["harbour-dental.csv", "kessler-engineering.csv"]
EXAMPLE = itertools.count()


def example_rows() -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for name in INVENTORIES:
        with (EXAMPLES / "inventory" / name).open(encoding="utf-8", newline="") as handle:
            found += list(csv.DictReader(handle))
    return found


EXISTING = example_rows()
CLIENTS = sorted({row["client"] for row in EXISTING})
PRINTABLE = st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=20)

ROLES = st.sampled_from([role.value for role in Role])
CRITICALITIES = st.sampled_from(["", "critical", "standard"])
OS_NAMES = st.one_of(
    st.sampled_from(["Windows Server 2022 Standard", "Ubuntu 24.04 LTS", "macOS 14", ""]),
    PRINTABLE,
)
SITES = st.one_of(st.sampled_from(["", "Boston", "Berlin-Mitte"]), PRINTABLE)
TAGS = st.one_of(st.sampled_from(["", "pilot", "ring-early;build"]), PRINTABLE)


@st.composite
def files(draw: st.DrawFn) -> list[dict[str, str]]:
    """Rows for some example devices (changed, their external ids kept, cleared, new or
    shuffled among them) and for new devices (any printable hostname, ids of their own)."""
    chosen = draw(st.lists(st.sampled_from(EXISTING), max_size=6, unique_by=id))
    shuffled = draw(st.permutations([row["external_id"] for row in chosen]))
    rows = []
    for number, (row, other) in enumerate(zip(chosen, shuffled, strict=True)):
        how = draw(st.sampled_from(["keep", "keep", "empty", "new", "shuffled"]))
        external_id = {"keep": row["external_id"], "empty": "", "new": f"new-{number}"}.get(
            how, other
        )
        rows.append(
            {
                **row,
                "role": draw(st.one_of(st.just(row["role"]), ROLES)),
                "criticality": draw(CRITICALITIES),
                "site": draw(st.one_of(st.just(row["site"]), SITES)),
                "os": draw(st.one_of(st.just(row["os"]), OS_NAMES)),
                "tags": draw(st.one_of(st.just(row["tags"]), TAGS)),
                "external_id": external_id,
            }
        )
    for number in range(draw(st.integers(0, 4))):
        rows.append(
            {
                "hostname": f"NEW{number}-{draw(PRINTABLE)}",
                "client": draw(st.sampled_from(CLIENTS)),
                "site": draw(SITES),
                "role": draw(ROLES),
                "criticality": draw(CRITICALITIES),
                "os": draw(OS_NAMES),
                "tags": draw(TAGS),
                "external_id": draw(st.sampled_from(["", f"added-{number}"])),
            }
        )
    return rows


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the example policies and two example inventories."""
    folder = tmp_path_factory.mktemp("template")
    config = folder / "config.toml"
    config.write_text("")
    path = folder / "template.db"
    base = ["--config", str(config), "--db", f"sqlite:///{path}", "--operator", "alice"]
    assert run([*base, "policy", "apply", str(EXAMPLES / "policies")])[0] == 0
    for name in INVENTORIES:
        assert run([*base, "inventory", "import", str(EXAMPLES / "inventory" / name)])[0] == 0
    assert not path.with_name("template.db-wal").exists()
    return path


@pytest.fixture
def engine_logging() -> Iterator[None]:
    """``engine`` adds its log handlers each run: take them away after each example."""
    logger = logging.getLogger("patchdesk")
    handlers, level = list(logger.handlers), logger.level
    yield
    for handler in logger.handlers[len(handlers) :]:
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(level)


@settings(
    max_examples=25,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=files(), allow_moves=st.booleans())
def test_the_engine_steps_after_any_accepted_import(
    template: Path,
    tmp_path: Path,
    engine_logging: None,
    rows: list[dict[str, str]],
    allow_moves: bool,
) -> None:
    name = f"example-{next(EXAMPLE)}"
    database = tmp_path / f"{name}.db"
    shutil.copyfile(template, database)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([row[column] for column in COLUMNS] for row in rows)
    path = tmp_path / f"{name}.csv"
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    base = ["--db", f"sqlite:///{database}", "--operator", "alice"]
    argv = [*base, "inventory", "import", str(path)]
    code, _, err = run(argv + (["--move-external-ids"] if allow_moves else []))
    assert code in (0, 2), err
    event("imported" if code == 0 else "refused")
    if code != 0:
        return
    log = tmp_path / f"{name}.log"
    code, out_text, err = run([*base, "engine", "--once", "--log-file", str(log)])
    assert code == 0, err
    assert out_text.startswith("opened "), out_text
