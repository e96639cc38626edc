"""The latest version of each object read lately, cached per process over SQLite, kept
exact by a write sequence in the shared generation file.

A small GET's one metadata read, its object's latest version, is a hop to the readers'
thread and back: the thread's wake-up, the GIL handed over and back, and the row decoded,
about a fifth of the request's CPU (bench/RESULTS.md, "A version cache for what is read
more than written"). Objects that are shared are written once and read many times, so
each process keeps the versions it read, and trusts them while no write has happened.

How this works (the write sequence: offset 24 of gateway/meta/bucket_cache.py's file):

- Write: every write transaction of every process runs in a group-commit batch, and the
  writers of all processes take turns through an flock (gateway/meta/group_commit.py).
  The holder of the turn makes the sequence odd before its BEGIN and even after its
  COMMIT or ROLLBACK, and tells the batch's outcomes after that. Only the holder of the
  turn stores the word, so it needs no lock.
- Read (`lookup`): load the sequence. Odd: a write is under way; the store is read and
  nothing cached. Even: an entry cached under that value is current; otherwise the store
  is read and its answer cached under the value loaded *before* the read.
- Why a hit is exact: a write acknowledged before the lookup had committed and ended its
  transaction before the lookup loaded the sequence, so the sequence moved past every
  value an entry from before that write was filled under. A write under way when the
  sequence was loaded made it odd (nothing is trusted); one that begins after the load
  moves it before its COMMIT, so an entry filled under the loaded value stops matching
  before the write is visible, let alone acknowledged.
- A writer killed between its two stores leaves the sequence odd: every process reads
  the store, caching nothing, until the next transaction of any process moves it to the
  next odd value and then to even.
- Every write voids every entry: under a steady stream of PUTs the cache rarely hits
  and costs a GET one load from shared memory; what is written once and read many times
  (a shared file, a public bucket's downloads) is answered without the store.
- Entries: (bucket, key) -> the latest ObjectVersion (its inline bytes included) or None
  (no such key). Bounded by count and by the inline bytes they hold: when full, cleared.
  Versions are frozen and shared by every request that finds them, as the store's answer
  to one request is shared by its handlers: nobody changes one in place.
- Not cached: reads of a given versionId; PostgreSQL (replicas on several machines, which
  a file cannot reach). Migrations run when a process opens the store, outside the
  committer: every process of a database runs the same code, so none has a cache to void.
"""

from __future__ import annotations

from gateway.meta.base import ObjectVersion
from gateway.meta.bucket_cache import Entry, Miss, SharedGeneration

CACHE_LIMIT = 4096
BYTE_LIMIT = 16 * 1024 * 1024


class VersionCache:
    """(bucket, key) -> the latest version, while the write sequence is where it was read:
    BucketCache's interface (lookup, then fill with the store's answer under the Miss)."""

    def __init__(
        self,
        generation: SharedGeneration,
        *,
        limit: int = CACHE_LIMIT,
        byte_limit: int = BYTE_LIMIT,
    ) -> None:
        self.generation = generation
        self.limit = limit
        self.byte_limit = byte_limit
        self._entries: dict[Entry, tuple[int, ObjectVersion | None]] = {}
        self._bytes = 0

    def lookup(self, entry: Entry) -> object:
        """The cached version (or None: no such key), or a Miss."""
        writes = self.generation.writes()
        if writes % 2:
            return Miss(None)
        hit = self._entries.get(entry)
        if hit is not None and hit[0] == writes:
            return hit[1]
        return Miss(writes)

    def fill(self, miss: Miss, entry: Entry, version: object) -> None:
        if miss.generation is None:
            return
        assert version is None or isinstance(version, ObjectVersion)
        replaced = self._entries.pop(entry, None)
        if replaced is not None:
            self._bytes -= _inline_size(replaced[1])
        size = _inline_size(version)
        if len(self._entries) >= self.limit or self._bytes + size > self.byte_limit:
            self._entries.clear()
            self._bytes = 0
        self._entries[entry] = (miss.generation, version)
        self._bytes += size


def _inline_size(version: ObjectVersion | None) -> int:
    return 0 if version is None or version.inline_data is None else len(version.inline_data)
