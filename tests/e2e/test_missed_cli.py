"""After ``simulate --devices 500 --seed 7`` a server the window missed is in
``exceptions --class missed`` and in ``handover``, with the next window that carries it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_engine_cli import run


def test_a_server_the_window_missed_is_in_the_queue_and_the_handover(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'sim.db'}"
    assert run(["--db", db, "simulate", "--devices", "500", "--seed", "7"]) == 0
    capsys.readouterr()
    assert run(["--db", db, "exceptions", "--class", "missed", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    rows = found["exceptions"] if isinstance(found, dict) else found
    assert rows
    assert {row["class"] for row in rows} == {"missed"}
    assert {int(row["tier"]) for row in rows} <= {1, 2}
    assert all("next window:" in row["summary"] for row in rows)
    hostnames = {row["device"] for row in rows}
    assert run(["--db", db, "handover", "--format", "json"]) == 0
    handover = json.loads(capsys.readouterr().out)
    listed = {row["device"]: row for row in handover["not_patched"]}
    assert hostnames <= set(listed)
    assert all(listed[h]["next_window"] is not None for h in hostnames)
    assert all(listed[h]["exception_id"] is not None for h in hostnames)
    assert run(["--db", db, "handover"]) == 0
    text = capsys.readouterr().out
    assert "## Not patched this cycle" in text
    assert "window closed before its turn; next window" in text
