"""Benchmark (not a test): the engine over one patch cycle's windows, at MSP sizes.

Runs ``patchdesk.simulation.run.run_simulation`` (the code behind ``patchdesk
simulate``) on a fresh temporary SQLite file for each size, each run in its own child
process so that peak memory and caches of one run never leak into the next, and prints per
size:

- wall seconds (median of the runs): building and loading the simulated MSP plus every
  engine step, as ``patchdesk simulate`` reports it;
- targets per second (targets created / median wall seconds);
- peak RSS of the child (``ru_maxrss``, taken before the raw-SQLite comparison below);
- database size (main file plus WAL) after the run;
- rows written: rows in the tables the engine writes, less what loading the MSP wrote;
- raw seconds: in the same child, the time plain ``sqlite3.executemany`` takes to write
  those same rows (read back from the run's database, chunk by chunk, untimed) into a fresh
  file database with the same tables and indexes, in one transaction; and engine/raw, the
  ratio of the two (the figure to bring down).

With ``--verbose`` it also prints, per size, where the wall time went (medians of the runs):
the simulator's connector calls, SQL reads and writes sent straight to the driver
(``store.direct``), commits, other SQL (through SQLAlchemy's ``Connection``: ORM flushes,
the few statements not sent to the driver), building and loading the MSP, and the rest,
which is the engine's and the simulation driver's own Python (with SQLAlchemy's session
work). Each second goes to the innermost timed call it is in (``Stopwatch``); the timers
add about a microsecond per call and are on only with ``--verbose``. "Unavoidable" sums
the simulator, the writes, the commits and the loading: what a run would still take with an
engine that read nothing and decided in no time, but wrote the same rows in the same steps
against the same simulator (writes that go through SQLAlchemy count as other SQL, not here).

"One patch cycle's windows": from Patch Tuesday, 2026-11-10 00:00 UTC, for 7 days. The
simulated MSP's Patch-Tuesday-relative server windows (2 to 5 days after Patch Tuesday, in
each client's evening) all fall in that span, and so does at least one occurrence of every
weekly window (shared workstations, staff laptops and desktops); the monthly catch-up (last
Sunday of the month) does not. Clients: one per 250 devices, at least 6 (``patchdesk
simulate``'s default); seed 7.

    .venv/bin/python benchmarks/bench_cycle.py                 # 1,000, 10,000, 50,000
    .venv/bin/python benchmarks/bench_cycle.py --sizes 1000,10000 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

START = datetime(2026, 11, 10, tzinfo=UTC)  # Patch Tuesday, November 2026
DAYS = 7.0
SEED = 7
DEVICES_PER_CLIENT = 250
MIN_CLIENTS = 6
SIZES = (1_000, 10_000, 50_000)
# Tables the engine writes while it runs (devices and engine_lease are only updated, or
# hold one row; they are counted too, since loading wrote their rows and we subtract that).
ENGINE_TABLES = (
    "deployments",
    "targets",
    "target_patches",
    "checkins",
    "exceptions",
    "remediation_records",
    "events",
    "device_patches",
    "patches",
    "operator_commands",
    "engine_state",
    "engine_lease",
)
CHUNK = 20_000


def clients_for(devices: int) -> int:
    return max(MIN_CLIENTS, devices // DEVICES_PER_CLIENT)


# ------------------------------------------------------------------------- child process


def _count(connection: sqlite3.Connection, table: str) -> int:
    row = connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # noqa: S608
    return int(row[0])


def _file_size(path: Path) -> int:
    return sum(
        p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )


def _rows(source: sqlite3.Connection, table: str, skip: int) -> Iterator[list[tuple[Any, ...]]]:
    """The table's rows after the first ``skip`` (by rowid), in chunks."""
    cursor = source.execute(
        f'SELECT * FROM "{table}" ORDER BY rowid LIMIT -1 OFFSET ?',  # noqa: S608
        (skip,),
    )
    while chunk := cursor.fetchmany(CHUNK):
        yield chunk


def raw_write_seconds(source_path: Path, skip: dict[str, int], scratch: Path) -> float:
    """Seconds plain sqlite3.executemany needs to write the rows the engine wrote."""
    source = sqlite3.connect(source_path)
    target_path = scratch / "raw.db"
    target = sqlite3.connect(target_path, isolation_level=None)
    target.execute("PRAGMA journal_mode=WAL")
    target.execute("PRAGMA synchronous=NORMAL")
    schema = source.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        "WHERE sql IS NOT NULL AND type IN ('table', 'index')"
    ).fetchall()
    for _kind, _name, table, sql in sorted(schema, key=lambda r: r[0] != "table"):
        if table in ENGINE_TABLES:
            target.execute(sql)
    elapsed = 0.0
    began = time.perf_counter()
    target.execute("BEGIN")
    elapsed += time.perf_counter() - began
    for table in ENGINE_TABLES:
        width = len(source.execute(f'SELECT * FROM "{table}" LIMIT 0').description)  # noqa: S608
        insert = f'INSERT INTO "{table}" VALUES ({", ".join("?" * width)})'  # noqa: S608
        for chunk in _rows(source, table, skip.get(table, 0)):
            began = time.perf_counter()
            target.executemany(insert, chunk)
            elapsed += time.perf_counter() - began
    began = time.perf_counter()
    target.execute("COMMIT")
    elapsed += time.perf_counter() - began
    target.close()
    source.close()
    return elapsed


# The parts of the wall time --verbose shows, in the order shown.
PARTS = ("simulator", "SQL reads", "SQL writes", "commits", "other SQL", "building and loading")
# The parts an engine that writes the same rows on the same simulator cannot do without.
UNAVOIDABLE = ("simulator", "SQL writes", "commits", "building and loading")
# The connector protocol's calls, and the simulation driver's question to the simulator.
SIMULATOR_CALLS = (
    "devices",
    "device_changes",
    "job_changes",
    "missing_patches",
    "job_status",
    "health",
    "install",
    "reboot",
    "wake",
    "rollback",
    "next_change",
)


class Stopwatch:
    """Seconds spent in chosen functions, by part. A timed call inside another one (a
    simulator call that reads the store, say) counts for its own part, and the outer call's
    clock stops meanwhile: every second goes to the innermost timed call it is in, once."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PARTS, 0.0)
        self._running: list[str] = []  # the parts of the timed calls under way, innermost last
        self._since = 0.0  # when the innermost one started or took over again

    def start(self, part: str) -> None:
        """Time ``part`` from now, stopping the clock of the part under way (if any)."""
        now = time.perf_counter()
        if self._running:
            self.seconds[self._running[-1]] += now - self._since
        self._running.append(part)
        self._since = now

    def stop(self) -> None:
        """End the innermost part; the one it interrupted takes over again."""
        now = time.perf_counter()
        self.seconds[self._running.pop()] += now - self._since
        self._since = now

    def wrap(self, owner: Any, name: str, part: str) -> None:
        """Time every call of ``owner.name`` as ``part``."""
        original: Callable[..., Any] = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            self.start(part)
            try:
                return original(*args, **kwargs)
            finally:
                self.stop()

        setattr(owner, name, timed)


def _time_parts(watch: Stopwatch) -> None:
    """Put ``watch``'s timers on the simulator, the driver-level SQL and the commits."""
    from sqlalchemy.engine import Connection
    from sqlalchemy.engine.default import DefaultDialect

    from patchdesk.connectors.simulator import Simulator
    from patchdesk.store import direct

    for name in SIMULATOR_CALLS:
        watch.wrap(Simulator, name, "simulator")
    watch.wrap(direct, "_run", "SQL reads")
    watch.wrap(direct, "execute_many", "SQL writes")
    watch.wrap(DefaultDialect, "do_commit", "commits")
    watch.wrap(Connection, "_execute_context", "other SQL")


def child(devices: int, days: float, seed: int, timed_parts: bool) -> dict[str, Any]:
    """One run at one size, in this (fresh) process; ``timed_parts``: with the stopwatch."""
    from sqlalchemy import text

    from patchdesk.engine.gc_tuning import engine_collection
    from patchdesk.simulation import builder
    from patchdesk.simulation import run as sim_run
    from patchdesk.store.db import open_database

    after_load: dict[str, int] = {}
    load_seconds: list[float] = []
    original_load: Callable[..., Any] = builder.load_msp
    watch = Stopwatch()

    def timed_load(session: Any, msp: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        watch.start("building and loading")  # (the load and its flush; not the counts below)
        try:
            loaded = original_load(session, msp, **kwargs)
            session.flush()
        finally:
            watch.stop()
        for table in (*ENGINE_TABLES, "devices"):
            query = text(f'SELECT count(*) FROM "{table}"')  # noqa: S608
            after_load[table] = int(session.execute(query).scalar_one())
        load_seconds.append(time.perf_counter() - began)
        return loaded

    sim_run.load_msp = timed_load  # type: ignore[attr-defined]  # (the name run.py calls)
    with tempfile.TemporaryDirectory(prefix="bench-cycle-") as scratch_name:
        scratch = Path(scratch_name)
        path = scratch / "simulate.db"
        # (migrated before the timers go on; its log keyed with a key of its own)
        db = open_database(f"sqlite:///{path}", audit_key_file=scratch / "audit.key")
        if timed_parts:
            _time_parts(watch)
            watch.wrap(sim_run, "build_msp", "building and loading")
        with engine_collection():  # as ``patchdesk simulate`` runs it
            result = sim_run.run_simulation(
                db,
                seed=seed,
                clients=clients_for(devices),
                devices=devices,
                start=START,
                days=days,
            )
        db.dispose()
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        size = _file_size(path)
        with sqlite3.connect(path) as connection:
            written = {t: _count(connection, t) - after_load.get(t, 0) for t in ENGINE_TABLES}
        raw = raw_write_seconds(path, after_load, scratch)
    summary = result.as_json()
    summary.pop("wall_seconds")
    return {
        "devices": devices,
        "clients": result.clients,
        "wall": result.wall_seconds,
        "load": load_seconds[0] if load_seconds else 0.0,
        "steps": result.steps,
        "targets": result.targets,
        "rss_mb": peak_kb / 1024,
        "db_mb": size / 1e6,
        "rows": sum(written.values()),
        "rows_by_table": written,
        "raw": raw,
        "summary": summary,
        "parts": watch.seconds if timed_parts else None,
    }


# ------------------------------------------------------------------------ parent process


def run_child(devices: int, days: float, seed: int, timed_parts: bool) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        str(devices),
        "--days",
        str(days),
        "--seed",
        str(seed),
        *(["--parts"] if timed_parts else []),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the run with {devices} devices failed (exit {done.returncode})")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def parts(runs: list[dict[str, Any]]) -> str:
    """Where the wall time went (medians of the runs), and the unavoidable part."""
    median = {part: statistics.median(r["parts"][part] for r in runs) for part in PARTS}
    wall = statistics.median(r["wall"] for r in runs)
    rest = wall - sum(median.values())
    shown = ", ".join(f"{part} {seconds:.1f}" for part, seconds in median.items())
    unavoidable = sum(median[part] for part in UNAVOIDABLE)
    return (
        f"time by part, s: {shown}, the rest (engine and driver Python) {rest:.1f}; "
        f"unavoidable {unavoidable:.1f} s ({unavoidable / wall:.0%})"
    )


def report(devices: int, runs: list[dict[str, Any]]) -> str:
    wall = statistics.median(r["wall"] for r in runs)
    raw = statistics.median(r["raw"] for r in runs)
    first = runs[0]
    same = all(r["summary"] == first["summary"] for r in runs)
    return (
        f"{devices:>8,} {first['clients']:>7} {first['steps']:>6} {first['targets']:>8,} "
        f"{wall:>8.1f} {statistics.median(r['load'] for r in runs):>6.1f} "
        f"{first['targets'] / wall:>9.0f} {max(r['rss_mb'] for r in runs):>8.0f} "
        f"{first['db_mb']:>7.1f} {first['rows']:>10,} {raw:>6.2f} {wall / raw:>8.1f}"
        + ("" if same else "   (runs differ!)")
    )


HEADER = (
    f"{'devices':>8} {'clients':>7} {'steps':>6} {'targets':>8} {'wall s':>8} {'load s':>6} "
    f"{'targets/s':>9} {'RSS MB':>8} {'DB MB':>7} {'rows':>10} {'raw s':>6} {'eng/raw':>8}"
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--days", type=float, default=DAYS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--parts", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--verbose", action="store_true", help="each run's figures and the rows written per table"
    )
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.days, args.seed, args.parts)))
        return
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    print(
        f"patchdesk engine, one patch cycle's windows: {START:%Y-%m-%d %H:%M} UTC (Patch "
        f"Tuesday) + {args.days:g} days, seed {args.seed}, SQLite file, median of {args.runs} "
        f"run(s), each in its own process; {os.cpu_count()} CPUs"
    )
    print(HEADER)
    for devices in sizes:
        runs = [run_child(devices, args.days, args.seed, args.verbose) for _ in range(args.runs)]
        print(report(devices, runs), flush=True)
        if args.verbose:
            each = ", ".join(f"{r['wall']:.1f} s ({r['wall'] / r['raw']:.1f})" for r in runs)
            print("         each run, wall (engine/raw):", each)
            print("         rows written:", json.dumps(runs[0]["rows_by_table"]))
            print("        ", parts(runs))
    print(
        "wall s: build + load the MSP and every engine step; load s: of which loading; "
        "rows: rows the engine wrote;\nraw s: plain sqlite3.executemany writing those rows; "
        "eng/raw: wall s / raw s"
    )


if __name__ == "__main__":
    main()
