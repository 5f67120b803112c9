"""How often CPython's cyclic garbage collector runs while the engine works.

A reconcile step makes and drops a great many small containers (rows, tuples, dicts, the
rows' dataclasses) that never form reference cycles: reference counting frees them. With
CPython's default thresholds (700, 10, 10) the collector still runs every 700 net
allocations, and every so often a full collection walks every object the process holds;
on a large fleet that is millions (the store's rows in flight, the simulated fleet's
model), walked again and again for the few cycles there are to find.

:func:`engine_collection` sets the thresholds to ``ENGINE_THRESHOLDS``: a young
collection every 50,000 net allocations instead of 700, a middle one every 20 of those, and a
full one only after 100 middle ones (and, as CPython always does, only once the objects that
survived since the last full one are a quarter of the heap). The collector still runs and
still finds every cycle, much less often, for the same peak memory
(``benchmarks/bench_cycle.py`` measures both).

The thresholds are the whole process's, so only a process entry point sets them, for the
engine work it exists to do (``patchdesk engine``, ``patchdesk simulate``, the benchmarks);
library code never does. The thresholds before it are put back when it ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

ENGINE_THRESHOLDS = (50_000, 20, 100)


@contextmanager
def engine_collection() -> Iterator[None]:
    """Run the block with the collector at ``ENGINE_THRESHOLDS``; restore them after."""
    previous = gc.get_threshold()
    gc.set_threshold(*ENGINE_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
