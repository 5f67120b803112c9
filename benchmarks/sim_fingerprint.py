"""Companion of the benchmarks (not a test): what a simulation wrote, as one line per table.

Performance work on the engine must not change what it does. This runs ``patchdesk
simulate``'s code (``run_simulation``) on a fresh temporary SQLite file and prints, per
table, its row count and a hash of every row in rowid order, and a hash of the summary
(without its wall time). Run it before and after a change and compare the output: equal
lines mean the same rows, byte for byte. A simulation is deterministic for a seed, start
and size, so any difference is the change's doing.

    .venv/bin/python benchmarks/sim_fingerprint.py                  # 1,000 devices, seed 7
    .venv/bin/python benchmarks/sim_fingerprint.py --devices 3000 --seed 11 > after.txt
    diff before.txt after.txt
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

START = datetime(2026, 11, 10, tzinfo=UTC)  # as bench_cycle.py: Patch Tuesday, November 2026


def fingerprint(devices: int, seed: int, days: float) -> list[str]:
    from patchdesk.engine.gc_tuning import engine_collection
    from patchdesk.simulation.run import run_simulation
    from patchdesk.store.db import open_database

    lines = []
    with tempfile.TemporaryDirectory(prefix="sim-fingerprint-") as scratch:
        path = Path(scratch) / "simulate.db"
        # A fixed key: the remediation log's MACs are part of what is compared.
        key_file = Path(scratch) / "audit.key"
        key_file.write_text("42" * 32 + "\n")
        key_file.chmod(0o600)
        db = open_database(f"sqlite:///{path}", audit_key_file=key_file)
        with engine_collection():  # as ``patchdesk simulate`` runs it
            result = run_simulation(
                db,
                seed=seed,
                clients=max(6, devices // 250),
                devices=devices,
                start=START,
                days=days,
            )
        db.dispose()
        summary = result.as_json()
        summary.pop("wall_seconds")
        digest = hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()
        lines.append(f"{'summary':28} {result.steps:>9} steps {digest[:16]}")
        connection = sqlite3.connect(path)
        tables = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ).fetchall()
        for (table,) in tables:
            row_hash = hashlib.sha256()
            count = 0
            for row in connection.execute(f'SELECT * FROM "{table}" ORDER BY rowid'):  # noqa: S608
                row_hash.update(repr(row).encode())
                count += 1
            lines.append(f"{table:28} {count:>9} rows  {row_hash.hexdigest()[:16]}")
        connection.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=float, default=7.0)
    args = parser.parse_args()
    print(f"simulate: {args.devices} devices, seed {args.seed}, {args.days} days from {START}")
    for line in fingerprint(args.devices, args.seed, args.days):
        print(line)


if __name__ == "__main__":
    main()
