"""MeteredBackend: any Backend, with every call counted and timed (gateway/metrics/series.py).

The one place backend metrics come from, so each backend stays free of them. A call is
counted once, timed until it returns (get_blob: until its first chunk, since the rest of
the stream goes at the client's pace; relay_blob, which stands for one, until its socket
is handed over; put_blob_digested counts as the put_blob it stands for), and on a
BackendError counted as an error of its kind. Optional capabilities the collector looks
for (clean_stale_temp, abort_stale_uploads) are the inner backend's, reached through
__getattr__, so `isinstance(backend, _HasStaleTemp)` answers for the backend underneath;
relay_blob and put_blob_digested are bound in __init__ when the inner backend has them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar, cast

from backends.base import (
    Backend,
    BackendError,
    BackendUnavailable,
    BlobInfo,
    BlobNotFound,
    BlobRelay,
    ByteStream,
    Digesting,
    Relaying,
)
from gateway.metrics.series import BACKEND_DURATION, BACKEND_ERRORS, BACKEND_REQUESTS

T = TypeVar("T")


def error_kind(exc: BackendError) -> str:
    """The `error` label of a backend failure."""
    if isinstance(exc, BlobNotFound):
        return "not_found"
    if isinstance(exc, BackendUnavailable):
        return "unavailable"
    return "error"


class _Call:
    """One backend call being measured."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        self.started = time.perf_counter()
        BACKEND_REQUESTS.labels(operation).inc()

    def done(self) -> None:
        BACKEND_DURATION.labels(self.operation).observe(time.perf_counter() - self.started)

    def failed(self, exc: BackendError) -> None:
        BACKEND_ERRORS.labels(self.operation, error_kind(exc)).inc()


class MeteredBackend:
    """`inner` (a Backend), measured."""

    # The optional capabilities are bound once, if the inner backend has them: asking a
    # runtime-checkable Protocol on every attribute lookup cost ~15 us a request.
    relay_blob: Callable[[str, int, int], Awaitable[BlobRelay | None]]
    put_blob_digested: Callable[..., Awaitable[tuple[int, bytes | None]]]

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = inner.name
        if isinstance(inner, Relaying):
            self.relay_blob = self._relay_blob
        if isinstance(inner, Digesting):
            self.put_blob_digested = self._put_blob_digested

    def __getattr__(self, name: str) -> Any:
        # Only for what Backend does not declare (optional capabilities); never underscores.
        if name.startswith("_") or name in ("relay_blob", "put_blob_digested"):
            raise AttributeError(name)  # not a capability of the inner backend
        return getattr(self.inner, name)

    async def _put_blob_digested(
        self, blob_id: str, data: ByteStream, size: int | None = None
    ) -> tuple[int, bytes | None]:
        """The inner backend's put_blob_digested, measured as the put_blob it stands for."""
        inner = cast(Digesting, self.inner)
        return await self._measure("put_blob", lambda: inner.put_blob_digested(blob_id, data, size))

    async def _relay_blob(self, blob_id: str, start: int, end: int) -> BlobRelay | None:
        """The inner backend's relay_blob, measured as the get_blob it stands for."""
        inner = cast(Relaying, self.inner)
        return await self._measure("get_blob", lambda: inner.relay_blob(blob_id, start, end))

    async def _measure(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        measure = _Call(operation)
        try:
            result = await call()
        except BackendError as exc:
            measure.failed(exc)
            raise
        finally:
            measure.done()
        return result

    async def put_blob(self, blob_id: str, data: ByteStream, size: int | None = None) -> int:
        return await self._measure("put_blob", lambda: self.inner.put_blob(blob_id, data, size))

    async def get_blob(self, blob_id: str, start: int = 0, end: int | None = None) -> ByteStream:
        measure = _Call("get_blob")
        stream = self.inner.get_blob(blob_id, start, end)
        first = True
        try:
            async for chunk in stream:
                if first:
                    measure.done()
                    first = False
                yield chunk
        except BackendError as exc:
            measure.failed(exc)
            raise
        finally:
            if first:
                measure.done()  # empty, failed or abandoned before its first chunk
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()

    async def blob_size(self, blob_id: str) -> int:
        return await self._measure("blob_size", lambda: self.inner.blob_size(blob_id))

    async def delete_blob(self, blob_id: str) -> None:
        await self._measure("delete_blob", lambda: self.inner.delete_blob(blob_id))

    async def list_blobs(self) -> AsyncIterator[BlobInfo]:
        measure = _Call("list_blobs")
        try:
            async for info in self.inner.list_blobs():
                yield info
        except BackendError as exc:
            measure.failed(exc)
            raise
        finally:
            measure.done()

    async def health(self) -> None:
        await self._measure("health", self.inner.health)

    def local_path(self, blob_id: str) -> str | None:
        return self.inner.local_path(blob_id)

    async def close(self) -> None:
        await self.inner.close()
