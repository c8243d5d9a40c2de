"""The start-up heap: loaded once, then frozen out of the collector's reach."""

from __future__ import annotations

import gc

from shared.heap import freeze_startup_heap


def test_the_loaders_run_before_the_heap_is_frozen_and_what_they_keep_is_frozen() -> None:
    kept: list[object] = []

    def load() -> None:
        kept.extend([str(n)] for n in range(10_000))  # lists stay tracked by the collector

    try:
        frozen = freeze_startup_heap([load])
        assert len(kept) == 10_000
        assert frozen >= 10_000
        collectable = {id(item) for item in gc.get_objects()}  # generations 0-2, not the frozen one
        assert all(gc.is_tracked(item) and id(item) not in collectable for item in kept)
    finally:
        gc.unfreeze()
