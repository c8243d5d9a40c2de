"""The start-up heap: loaded once, then frozen out of the collector's reach."""

from __future__ import annotations

import gc

import pytest

from shared.heap import collector_paced, freeze_startup_heap


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


def test_a_paced_collector_collects_the_youngest_generation_less_often_until_the_block_ends() -> None:
    before = gc.get_threshold()
    with collector_paced(50_000):
        assert gc.get_threshold() == (50_000, *before[1:])
    assert gc.get_threshold() == before


def test_a_paced_collector_is_restored_when_the_block_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), collector_paced(20_000):
        raise RuntimeError("the bulk job failed")
    assert gc.get_threshold() == before
