"""How a simulation treats the process it runs in."""

from __future__ import annotations

import gc
import weakref

from hub.sim.engine import YOUNG_GC_THRESHOLD, fewer_collections


class Node:
    def __init__(self) -> None:
        self.itself = self  # a reference cycle: only the cyclic collector frees it


def test_the_intervals_run_with_fewer_collections_and_the_collector_is_put_back() -> None:
    gc.unfreeze()  # as in a fresh process
    before = gc.get_threshold()
    garbage = weakref.ref(Node())

    with fewer_collections():
        assert garbage() is None  # collected before the freeze, not frozen for good
        assert gc.get_threshold() == (YOUNG_GC_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 0

    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
