"""Long-lived data and the garbage collector.

A process loads its reference data once (intake's code sets hold some 700,000 objects, submission's ICD-10-CM
tabular more) and keeps it for its whole life. Left in the collector's reach, every full collection walks all of
it: about 170 ms on this hardware, paid by whichever request or batch happens to trigger it, which is what shows
as an API's p99. Freezing the heap once start-up has loaded everything moves those objects to a permanent
generation that later collections skip (the technique the gc module documents for exactly this).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable

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
