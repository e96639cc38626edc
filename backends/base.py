"""The Backend protocol: where bytes live.

A backend stores immutable blobs named by ids the gateway generates. It knows nothing of
buckets, keys, versions or users; it never overwrites a blob. Every implementation passes
tests/contract/test_backend_contract.py.

    Exception
     └── BackendError           any failure of the store itself (-> 503/500 at the gateway)
          ├── BlobNotFound      the blob id is unknown (a metadata/blob mismatch: a bug or
          │                     a lost blob, never a normal answer)
          └── BackendUnavailable the store cannot be reached or is throttling; retryable
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)

ByteStream = AsyncIterator[bytes]


class BackendError(Exception):
    """A backend failed; the message never contains credentials."""


class BlobNotFound(BackendError):
    pass


class BackendUnavailable(BackendError):
    pass


def check_size(blob_id: str, got: int, size: int | None) -> None:
    """Fail a put whose stream did not yield the `size` its caller announced."""
    if size is not None and got != size:
        raise BackendError(f"put {blob_id}: the stream held {got} bytes, not {size}")


@dataclass(frozen=True)
class BlobInfo:
    blob_id: str
    size: int
    # When the blob was written (seconds since the epoch), if the store says: the scrubber
    # deletes only orphans older than its grace period.
    modified: float | None = None


@runtime_checkable
class Backend(Protocol):
    """Stores immutable blobs.

    - put_blob consumes `data` to the end and makes the blob durable before returning its
      size; on any error (including one raised by `data` itself) nothing is left under
      `blob_id` that list_blobs would report as complete. `size`, when the caller knows
      it, is the exact number of bytes `data` yields: a remote backend then streams the
      bytes to its store with known lengths instead of buffering them, and fails the put
      if `data` yields fewer or more.
    - get_blob streams bytes [start, end) of the blob (end None = to the end). It raises
      BlobNotFound before yielding anything if the blob does not exist.
    - delete_blob is idempotent: deleting a missing blob is not an error.
    """

    name: str

    async def put_blob(self, blob_id: str, data: ByteStream, size: int | None = None) -> int: ...

    def get_blob(self, blob_id: str, start: int = 0, end: int | None = None) -> ByteStream: ...

    async def blob_size(self, blob_id: str) -> int: ...

    async def delete_blob(self, blob_id: str) -> None: ...

    def list_blobs(self) -> AsyncIterator[BlobInfo]: ...

    async def health(self) -> None:
        """Return if the store answers; raise BackendUnavailable otherwise."""
        ...

    def local_path(self, blob_id: str) -> str | None:
        """A file path holding exactly the blob's bytes, for sendfile; None if not local."""
        ...

    async def close(self) -> None: ...


class BlobRelay:
    """Bytes [start, end) of a blob arriving on a plain TCP socket, for the caller to
    relay without reading them into the process (gateway/sendfile.py splices them):
    `head`, already read, then `remaining` bytes still to be read from `fd`, a
    non-blocking socket that stays the backend's; a wait of more than `idle_timeout`
    seconds for its next byte means the store stalled. The caller calls `finish` once, with
    complete=True only if it read exactly `remaining` bytes from `fd` (the connection
    may then serve another request)."""

    __slots__ = ("_release", "fd", "head", "idle_timeout", "remaining")

    def __init__(
        self,
        fd: int,
        head: bytes,
        remaining: int,
        idle_timeout: float,
        release: Callable[[bool], None],
    ) -> None:
        self.fd = fd
        self.head = head
        self.remaining = remaining
        self.idle_timeout = idle_timeout
        self._release: Callable[[bool], None] | None = release

    def finish(self, complete: bool) -> None:
        release, self._release = self._release, None
        if release is not None:
            release(complete)


@runtime_checkable
class Relaying(Protocol):
    """An optional capability: a backend that can hand a blob's bytes over on a socket."""

    async def relay_blob(self, blob_id: str, start: int, end: int) -> BlobRelay | None:
        """Bytes [start, end) of the blob (end > start), or None when they cannot be
        relayed this time: the caller then reads them with get_blob, which raises what a
        read raises (BlobNotFound, BackendUnavailable...)."""
        ...


@runtime_checkable
class Digesting(Protocol):
    """An optional capability: a backend whose store computes the MD5 of a blob as it
    stores it and says so in its answer (an S3 server's PutObject ETag), so the gateway
    need not hash every byte itself for the ETag."""

    def digests(self, size: int | None) -> bool:
        """Whether put_blob_digested of a blob of `size` bytes (None: not known) is
        expected to return the store's MD5."""
        ...

    async def put_blob_digested(
        self, blob_id: str, data: ByteStream, size: int | None = None
    ) -> tuple[int, bytes | None]:
        """put_blob, and the MD5 of the bytes as the store computed it: None when its
        answer carried none the backend is sure of (the caller then hashes the blob)."""
        ...


PROBE_SIZE = 64 * 1024


async def store_tells_md5(
    what: str,
    put: Callable[[str, bytes], Awaitable[bytes | None]],
    delete: Callable[[str], Awaitable[None]],
) -> bool:
    """Whether a store answers a write with the MD5 of the bytes it stored (Digesting),
    from a probe of random bytes that `put` stores under a fresh id and returns the
    answer's MD5 of; deleted afterwards (or by the blob collector, as an orphan, if the
    delete fails). BackendUnavailable passes through (not ready: the caller asks again
    later); any other BackendError means no."""
    probe = secrets.token_bytes(PROBE_SIZE)
    blob_id = f"kloudvault-md5-probe-{secrets.token_hex(8)}"
    try:
        md5 = await put(blob_id, probe)
    except BackendUnavailable:
        raise
    except BackendError as exc:
        log.warning("%s: MD5 probe failed, the gateway hashes every blob: %s", what, exc)
        return False
    await delete(blob_id)
    if md5 == hashlib.md5(probe, usedforsecurity=False).digest():
        log.info("%s: the store's answers carry the MD5; blobs' MD5s are taken from them", what)
        return True
    log.info("%s: the store's answers carry no MD5; the gateway hashes every blob", what)
    return False


# A runtime-checkable Protocol's isinstance walks the protocol's members on every call:
# ~15 us on Python 3.11, per request where a request asks. A backend's capabilities do not
# change, so each backend object is asked once (the cache keeps the last few alive).
@functools.lru_cache(maxsize=32)
def _capabilities(backend: Hashable) -> tuple[Relaying | None, Digesting | None]:
    return (
        backend if isinstance(backend, Relaying) else None,
        backend if isinstance(backend, Digesting) else None,
    )


def as_relaying(backend: object) -> Relaying | None:
    """`backend` if it can hand its bytes over on a socket (Relaying), else None."""
    return _capabilities(backend)[0]


def as_digesting(backend: object) -> Digesting | None:
    """`backend` if its store may tell a blob's MD5 (Digesting), else None."""
    return _capabilities(backend)[1]
