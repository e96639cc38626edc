"""What buckets say, cached per process over SQLite, kept exact by a generation in a shared file.

Every bucket-level request reads its bucket's record (dispatch's `_bucket_for`), and a small
PUT also reads the bucket's default encryption and compression documents and whether a
quota applies: on SQLite each a hop to the readers' thread and back, together more
main-thread CPU than the request's own object read or write. They change only through a
few writes: create_bucket, delete_bucket, put_bucket_versioning, enable_object_lock,
put_bucket_config, set_quota and clear_quota. Every process that can write the database
runs on the machine that holds its file (`serve --workers N`, admin commands: SQLite is
not shared over a network). So those writes announce themselves in a small file beside
the database that every process maps into memory (`<database>-generation`), and a process
trusts what it cached only while the file says no such write happened since it was read.
A request thus sees a change committed by any process exactly when a read of the store
would have, as before; a cache hit costs three loads from shared memory.

Cached entries (SqliteMetaStore): ("bucket", name) -> the Bucket or None;
("config", bucket, name) -> the document or None; ("no-quota", bucket) -> [] when no quota
applies to writes into the bucket (an answer with quotas holds usage, which every write
moves: never cached).

How this works (the coherence rules of gateway/meta/redis_cache.py, on a shared page):

    offset 0   generation  u64  bumped before and after every write listed above
    offset 8   writers     u64  such writes between their two bumps
    offset 16  until       f64  time.time() until which those writers are waited for
    offset 24  writes      u64  odd while any write transaction runs (gateway/meta/version_cache.py)

- Write (`hold` -> the transaction -> `release`): `hold` raises `until` to now + HOLD,
  counts the writer and bumps the generation (stored in that order); `release` bumps the
  generation again and uncounts the writer. Both under an flock of the file (such writes
  are rare; each voids every process's whole cache). The release runs when the
  transaction has finished, even when its request was cancelled meanwhile
  (SqliteMetaStore shields the write).
- Read (`lookup`): load the generation, then the writers and `until` (the opposite order of
  hold's stores, so a reader that sees hold's generation sees its writer too). While a
  writer is counted, the store is read and nothing is cached. Otherwise an entry cached
  under the loaded generation is current; else the store is read and its answer cached
  under the generation loaded *before* the read, so a read that raced a write is never
  trusted after the write's release.
- A process killed between its two bumps leaves its writer counted: the others read the
  store, caching nothing, until `until` has passed (HOLD seconds after the hold; by then
  its transaction has committed or died with it), and then fill under a generation its
  hold already bumped. A deleted generation file is recreated by the next process to open
  the store; processes still mapping the old one no longer hear the new one's writers
  (do not delete it while the gateway runs, as with the database's -wal and -shm files).
- The loads and stores are 8-byte aligned (single instructions on x86-64 and arm64);
  x86-64 keeps stores and loads in program order. ":memory:" (one connection, one
  process) keeps the words in a bytearray.

PostgreSQL serves several machines, which a file cannot reach: its store reads the record
every time (and Redis caches records and documents across replicas: gateway/meta/cached.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# Seconds the other processes wait for a bucket write whose process died between its bumps:
# beyond any transaction that still commits (busy timeout 10 s, a group commit's queue).
HOLD = 60.0
CACHE_LIMIT = 10_000
SIZE = 32
_U64 = struct.Struct("<Q")
_F64 = struct.Struct("<d")


def generation_path(database: str) -> str | None:
    """The generation file of the SQLite database at `database` (None: in memory)."""
    return None if database == ":memory:" else f"{database}-generation"


class SharedGeneration:
    """The three words of the module docstring, in a file every process maps (or, for an
    in-memory database, in this process alone)."""

    def __init__(self, path: str | None, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._fd: int | None = None
        self._words: mmap.mmap | bytearray = bytearray(SIZE)

    def open(self) -> None:
        if self.path is None or self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.fstat(fd).st_size < SIZE:  # new: zeros (a racing creator's too)
                    os.ftruncate(fd, SIZE)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            self._words = mmap.mmap(fd, SIZE)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        words, self._words = self._words, bytearray(SIZE)
        if isinstance(words, mmap.mmap):
            words.close()
        os.close(fd)

    def current(self) -> int | None:
        """The generation, None while a bucket write is under way (module docstring)."""
        words = self._words
        generation = _U64.unpack_from(words, 0)[0]
        if _U64.unpack_from(words, 8)[0] and self.clock() < _F64.unpack_from(words, 16)[0]:
            return None
        return int(generation)

    def writes(self) -> int:
        """The write sequence: odd while a write transaction runs (version_cache.py)."""
        return int(_U64.unpack_from(self._words, 24)[0])

    def begin_write(self) -> None:
        """A write transaction begins. Only the holder of the writers' turn calls this and
        end_write (gateway/meta/group_commit.py), so the word needs no lock."""
        writes = _U64.unpack_from(self._words, 24)[0]
        _U64.pack_into(self._words, 24, writes + (1 if writes % 2 == 0 else 2))

    def end_write(self) -> None:
        """The transaction begun has committed or rolled back."""
        writes = _U64.unpack_from(self._words, 24)[0]
        _U64.pack_into(self._words, 24, writes + 1 if writes % 2 else writes)

    def hold(self) -> None:
        """A bucket write begins: readers stop trusting and filling their caches."""
        with self._locked() as words:
            until = max(_F64.unpack_from(words, 16)[0], self.clock() + HOLD)
            _F64.pack_into(words, 16, until)
            _U64.pack_into(words, 8, _U64.unpack_from(words, 8)[0] + 1)
            _U64.pack_into(words, 0, _U64.unpack_from(words, 0)[0] + 1)

    def release(self) -> None:
        """The write (held before) has committed or failed: what it changed is readable."""
        with self._locked() as words:
            _U64.pack_into(words, 0, _U64.unpack_from(words, 0)[0] + 1)
            _U64.pack_into(words, 8, max(0, _U64.unpack_from(words, 8)[0] - 1))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[mmap.mmap | bytearray]:
        """The words under an exclusive flock of the file (no lock for an in-memory
        database)."""
        fd = self._fd
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield self._words
        finally:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Miss:
    """A lookup that found nothing current: fill with the store's answer under `generation`
    (None: a write is under way, cache nothing)."""

    generation: int | None


Entry = tuple[str, ...]


class BucketCache:
    """Entry -> the store's answer, valid while the shared generation it was read under is
    current (module docstring)."""

    def __init__(self, generation: SharedGeneration, *, limit: int = CACHE_LIMIT) -> None:
        self.generation = generation
        self.limit = limit
        self._entries: dict[Entry, tuple[int, object]] = {}

    def lookup(self, entry: Entry) -> object:
        """The cached answer, or a Miss."""
        current = self.generation.current()
        hit = self._entries.get(entry)
        if current is not None and hit is not None and hit[0] == current:
            return hit[1]
        return Miss(current)

    def fill(self, miss: Miss, entry: Entry, value: object) -> None:
        if miss.generation is None:
            return
        if len(self._entries) >= self.limit:
            self._entries.clear()
        self._entries[entry] = (miss.generation, value)
