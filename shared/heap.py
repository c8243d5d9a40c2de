"""Long-lived data and the garbage collector.

A process loads its reference data once (intake's code sets hold some 700,000 objects, submission's ICD-10-CM
tabular more) and keeps it for its whole life. Left in the collector's reach, every full collection walks all of
it: about 170 ms on this hardware, paid by whichever request or batch happens to trigger it, which is what shows
as an API's p99. Freezing the heap once start-up has loaded everything moves those objects to a permanent
generation that later collections skip (the technique the gc module documents for exactly this).

A bulk job (analytics' replay) is the other case: it builds millions of short-lived objects, and CPython collects
its youngest generation every 700 allocations and the older ones every 10 of those, so the collector ran a full
collection of the process every few thousand events (70 in a replay of 300,000), and half the replay's parsing time
was the collector's. `collector_paced` spaces the collections out while such a job runs.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import structlog

log = structlog.get_logger()


def freeze_startup_heap(warm: Iterable[Callable[[], object]] = ()) -> int:
    """Load what the process will keep (each `warm` loader), collect the start-up garbage, then freeze what is left;
    returns how many objects are now out of the collector's reach."""
    for load in warm:
        load()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("start-up heap frozen", objects=frozen)
    return frozen


# Allocations between collections of the youngest generation during a bulk job (CPython's default: 700).
BULK_YOUNG_THRESHOLD = 10_000


@contextmanager
def collector_paced(young_threshold: int = BULK_YOUNG_THRESHOLD) -> Iterator[None]:
    """Collect the youngest generation every `young_threshold` allocations while the block runs, then restore the
    process's schedule. The older generations are collected that much less often too, so garbage cycles (rare in a
    bulk job's records) live longer: memory, not correctness."""
    before = gc.get_threshold()
    gc.set_threshold(young_threshold, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
