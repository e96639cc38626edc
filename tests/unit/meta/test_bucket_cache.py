"""gateway/meta/bucket_cache.py: the shared generation's words and the cache's rules."""

from __future__ import annotations

from pathlib import Path

from gateway.meta.base import Bucket
from gateway.meta.bucket_cache import (
    HOLD,
    BucketCache,
    Miss,
    SharedGeneration,
    generation_path,
)

BKT = Bucket("bkt", "alice", 1.0)
ENTRY = ("bucket", "bkt")


def missed(cache: BucketCache, entry: tuple[str, ...]) -> Miss:
    found = cache.lookup(entry)
    assert isinstance(found, Miss)
    return found


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_generation_path() -> None:
    assert generation_path("/data/meta.sqlite3") == "/data/meta.sqlite3-generation"
    assert generation_path(":memory:") is None


def test_cache_fills_and_hits_under_the_same_generation() -> None:
    cache = BucketCache(SharedGeneration(None))
    miss = missed(cache, ENTRY)
    assert miss == Miss(0)
    cache.fill(miss, ENTRY, BKT)
    assert cache.lookup(ENTRY) is BKT
    none = ("bucket", "none")
    cache.fill(missed(cache, none), none, None)
    assert cache.lookup(none) is None  # a missing bucket is cached too


def test_a_write_voids_what_was_read_before_it() -> None:
    generation = SharedGeneration(None)
    cache = BucketCache(generation)
    cache.fill(missed(cache, ENTRY), ENTRY, BKT)
    generation.hold()
    assert cache.lookup(ENTRY) == Miss(None)  # under way: read the store, cache nothing
    cache.fill(Miss(None), ENTRY, BKT)
    generation.release()
    assert cache.lookup(ENTRY) == Miss(2)


def test_a_read_that_raced_a_write_is_not_trusted_after_it() -> None:
    generation = SharedGeneration(None)
    cache = BucketCache(generation)
    raced = missed(cache, ENTRY)  # generation loaded, then the store read ...
    generation.hold()
    generation.release()
    cache.fill(raced, ENTRY, BKT)  # ... what it read may predate the write
    assert isinstance(cache.lookup(ENTRY), Miss)


def test_writers_are_counted() -> None:
    generation = SharedGeneration(None)
    generation.hold()
    generation.hold()
    generation.release()
    assert generation.current() is None
    generation.release()
    assert generation.current() == 4


def test_a_writer_that_died_is_waited_for_until_its_hold_ends() -> None:
    clock = Clock()
    generation = SharedGeneration(None, clock=clock)
    generation.hold()  # never released: its process was killed
    clock.now += HOLD - 1
    assert generation.current() is None
    clock.now += 2
    assert generation.current() == 1


def test_processes_share_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "meta.sqlite3-generation")
    ours, theirs = SharedGeneration(path), SharedGeneration(path)
    ours.open()
    theirs.open()
    try:
        cache = BucketCache(ours)
        cache.fill(missed(cache, ENTRY), ENTRY, BKT)
        theirs.hold()
        assert cache.lookup(ENTRY) == Miss(None)
        theirs.release()
        assert cache.lookup(ENTRY) == Miss(2)
    finally:
        ours.close()
        theirs.close()
    reopened = SharedGeneration(path)
    reopened.open()  # an existing file keeps its generation
    try:
        assert reopened.current() == 2
    finally:
        reopened.close()


def test_cache_is_bounded() -> None:
    cache = BucketCache(SharedGeneration(None), limit=2)
    for name in ("a", "b", "c"):
        cache.fill(missed(cache, ("bucket", name)), ("bucket", name), None)
    assert isinstance(cache.lookup(("bucket", "a")), Miss)
    assert cache.lookup(("bucket", "c")) is None
