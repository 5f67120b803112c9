"""How often CPython's cyclic garbage collector runs while the engine works.

A reconcile step makes and drops a great many small containers (rows, tuples, dicts, the
rows' dataclasses) that never form reference cycles: reference counting frees them. With
CPython's default thresholds (700, 10, 10) the collector still runs every 700 net
allocations, and every so often a full collection walks every object the process holds;
on a large fleet that is millions (the store's rows in flight, the simulated fleet's
model), walked again and again for the few cycles there are to find. In a simulated patch
cycle of 50,000 devices that came to a fifth of the wall time (``benchmarks/
bench_cycle.py``; the README's Performance section has the figures), for a few hundred
objects collected and no difference in peak memory.

:func:`engine_collection` raises the first threshold to ``ENGINE_THRESHOLDS`` (the other
two as CPython's): the collector still runs, and still finds every cycle, but about
fourteen times less often. It is for long-running engine work in a process of its own or
for a bounded stretch (``patchdesk engine``, ``patchdesk simulate``); the thresholds
before it are put back when it ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

ENGINE_THRESHOLDS = (10_000, 10, 10)


@contextmanager
def engine_collection() -> Iterator[None]:
    """Run the block with the collector at ``ENGINE_THRESHOLDS``; restore them after."""
    previous = gc.get_threshold()
    gc.set_threshold(*ENGINE_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
