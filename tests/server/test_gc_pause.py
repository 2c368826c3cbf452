"""The process-wide cyclic-GC pause: off inside, back on after the last of nested pauses
on any thread, never turned on when someone else had it off, and with ``promote`` the
survivors of the pause go to the oldest generation unscanned (no full collection when
collection resumes) while cyclic garbage among them is still collected later."""
from __future__ import annotations

import gc
import threading
import weakref

import pytest

from cbserver.gc_pause import gc_paused


class Node:
    """A container object the cyclic collector tracks (and can weak-reference)."""

    def __init__(self) -> None:
        self.other: Node | None = None


def generation_of(obj: object) -> int | None:
    """The collector generation holding ``obj``, or None (untracked or frozen)."""
    for generation in range(3):
        if any(each is obj for each in gc.get_objects(generation)):
            return generation
    return None


@pytest.fixture(autouse=True)
def collector_on():
    """Every test starts and ends with the collector on and nothing frozen."""
    gc.enable()
    yield
    gc.unfreeze()
    gc.enable()


def test_collection_is_off_inside_and_on_after():
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_nested_pauses_on_two_threads_end_with_the_last():
    inner_entered, outer_may_leave = threading.Event(), threading.Event()

    def other_thread() -> None:
        with gc_paused():
            inner_entered.set()
            outer_may_leave.wait(10)

    with gc_paused():
        thread = threading.Thread(target=other_thread)
        thread.start()
        assert inner_entered.wait(10)
    assert not gc.isenabled()  # the other thread's pause is still on
    outer_may_leave.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off():
    gc.disable()
    with gc_paused(promote=True):
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_without_promote_survivors_stay_young():
    with gc_paused():
        survivor = Node()
    assert generation_of(survivor) in (0, 1)


def test_promoted_survivors_skip_the_young_generations_and_no_full_collection_runs():
    full_collections = []

    def watch(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            full_collections.append(info)

    gc.callbacks.append(watch)
    try:
        with gc_paused(promote=True):
            survivors = [Node() for _ in range(50_000)]
        after = [Node() for _ in range(1_000)]  # allocations that would trigger collections
    finally:
        gc.callbacks.remove(watch)
    assert generation_of(survivors[0]) == 2
    assert generation_of(survivors) == 2
    assert full_collections == []
    assert after


def test_a_promote_request_inside_a_longer_pause_is_kept_for_its_end():
    with gc_paused():
        with gc_paused(promote=True):
            survivor = Node()
        assert not gc.isenabled()
    assert generation_of(survivor) == 2


def test_promoted_cyclic_garbage_is_collected_by_a_later_full_collection():
    with gc_paused(promote=True):
        first, second = Node(), Node()
        first.other, second.other = second, first
        watcher = weakref.ref(first)
        del first, second
    assert watcher() is not None  # promoted, not collected yet
    gc.collect()
    assert watcher() is None
