"""gateway/meta/version_cache.py: the write sequence's parity and the cache's rules."""

from __future__ import annotations

from gateway.meta.base import ObjectVersion
from gateway.meta.bucket_cache import Miss, SharedGeneration
from gateway.meta.version_cache import VersionCache


def version(key: str, data: bytes | None = None) -> ObjectVersion:
    return ObjectVersion("bkt", key, "null", 1.0, size=len(data or b""), inline_data=data)


def missed(cache: VersionCache, key: str) -> Miss:
    found = cache.lookup(("bkt", key))
    assert isinstance(found, Miss)
    return found


def test_hits_under_the_sequence_it_was_read_under_and_a_write_voids_it() -> None:
    generation = SharedGeneration(None)
    cache = VersionCache(generation)
    k = version("k")
    cache.fill(missed(cache, "k"), ("bkt", "k"), k)
    cache.fill(missed(cache, "gone"), ("bkt", "gone"), None)
    assert cache.lookup(("bkt", "k")) is k
    assert cache.lookup(("bkt", "gone")) is None  # a missing key is cached too
    generation.begin_write()
    assert cache.lookup(("bkt", "k")) == Miss(None)  # under way: cache nothing
    cache.fill(Miss(None), ("bkt", "k"), k)
    generation.end_write()
    assert cache.lookup(("bkt", "k")) == Miss(2)


def test_a_read_that_raced_a_write_is_not_trusted_after_it() -> None:
    generation = SharedGeneration(None)
    cache = VersionCache(generation)
    miss = missed(cache, "k")  # loaded before the store was read ...
    generation.begin_write()
    generation.end_write()  # ... and a write committed meanwhile
    cache.fill(miss, ("bkt", "k"), version("k"))
    assert cache.lookup(("bkt", "k")) == Miss(2)


def test_the_sequence_is_odd_only_inside_a_write_and_a_dead_writer_is_healed() -> None:
    generation = SharedGeneration(None)
    seen = [generation.writes()]
    generation.begin_write()
    seen.append(generation.writes())
    generation.end_write()
    seen.append(generation.writes())
    generation.begin_write()  # this writer dies here
    seen.append(generation.writes())
    generation.begin_write()  # the next one begins
    seen.append(generation.writes())
    generation.end_write()
    seen.append(generation.writes())
    generation.end_write()  # a stray end changes nothing
    seen.append(generation.writes())
    assert seen == [0, 1, 2, 3, 5, 6, 6]


def test_bounded_by_count_and_by_inline_bytes() -> None:
    cache = VersionCache(SharedGeneration(None), limit=3, byte_limit=10)
    for key in "abc":
        cache.fill(missed(cache, key), ("bkt", key), version(key))
    cache.fill(missed(cache, "d"), ("bkt", "d"), version("d"))  # the fourth: cleared first
    assert [isinstance(cache.lookup(("bkt", k)), Miss) for k in "abcd"] == [
        True,
        True,
        True,
        False,
    ]
    big = version("big", b"x" * 8)
    cache.fill(missed(cache, "big"), ("bkt", "big"), big)
    assert cache.lookup(("bkt", "big")) is big
    cache.fill(missed(cache, "more"), ("bkt", "more"), version("more", b"y" * 4))  # 12 > 10
    assert isinstance(cache.lookup(("bkt", "big")), Miss)
    assert isinstance(cache.lookup(("bkt", "more")), ObjectVersion)


def test_a_refilled_entry_counts_its_bytes_once() -> None:
    generation = SharedGeneration(None)
    cache = VersionCache(generation, limit=10, byte_limit=10)
    cache.fill(missed(cache, "k"), ("bkt", "k"), version("k", b"x" * 6))
    generation.begin_write()
    generation.end_write()
    kept = version("kept", b"y" * 3)
    cache.fill(missed(cache, "kept"), ("bkt", "kept"), kept)
    cache.fill(missed(cache, "k"), ("bkt", "k"), version("k", b"z" * 6))  # 6 + 3, not 12 + 3
    assert cache.lookup(("bkt", "kept")) is kept
