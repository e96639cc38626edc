"""Local-disk backend: one file per blob under a fan-out directory.

How a blob is written (DESIGN.md, "Write path"):

    root/tmp/<blob_id>.<random>.tmp   incoming chunks are gathered, uncopied, into batches
        │                             (64 KiB to 1 MiB: backends.buffering shares one
        │                             budget among the uploads in progress); each batch
        │                             is one writev(2) in a thread,
        │                             overlapping with receiving the next batch
        │  fsync(file)
        ▼  rename(2): atomic within one filesystem, which is why tmp/ lives under root
    root/ab/cd/<blob_id>              the blob ("ab", "cd": the first four characters of
                                      its id); fsync(root/ab/cd) makes the rename durable

A crash mid-upload leaves only a temp file, never a partial blob under its final name;
clean_stale_temp() (called by gateway.jobs.collector) removes those. Reads open the file once and
pread ~1 MiB blocks in a thread. The event loop never waits on the disk.

A thread still running when its awaiting task is cancelled keeps the file descriptor: the
fd is closed (and a temp file removed) only once that thread has finished, so a cancelled
request can never make a thread write into a recycled descriptor.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

from backends.base import (
    BackendError,
    BackendUnavailable,
    BlobInfo,
    BlobNotFound,
    ByteStream,
    check_size,
)
from backends.buffering import UPLOADS

_IOV_MAX = 1024  # the POSIX minimum, and Linux's limit on buffers per writev(2)
READ_BLOCK = 1024 * 1024
TMP_DIR = "tmp"

# Blob ids come from the gateway, never from a client; checked anyway so that no id can
# name a path outside the fan-out tree.
_BLOB_ID = re.compile(r"[0-9a-f-]{8,64}")
_FANOUT = re.compile(r"[0-9a-f-]{2}")

# errno -> the error the gateway sees. Conditions an operator can fix (full disk, read-only
# mount, permissions) are "unavailable" (503, retry later); anything else is a plain
# BackendError (500). A missing blob is handled where it is meaningful (get, size).
_UNAVAILABLE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
)

P = ParamSpec("P")
T = TypeVar("T")


def _translate(exc: OSError, what: str) -> BackendError:
    cls = BackendUnavailable if exc.errno in _UNAVAILABLE_ERRNOS else BackendError
    return cls(f"local backend: {what}: {exc.strerror or exc}")


async def _in_thread(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


def _check_blob_id(blob_id: str) -> None:
    if not _BLOB_ID.fullmatch(blob_id):
        raise ValueError(f"invalid blob id {blob_id!r}")


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _discard_after(fut: asyncio.Future[T], cleanup: Callable[[], None]) -> None:
    """Run `cleanup` once the thread behind `fut` is done (now, if it already is)."""

    def done(f: asyncio.Future[T]) -> None:
        if not f.cancelled():
            f.exception()  # retrieved: the error that matters was already raised
        cleanup()

    if fut.done():
        done(fut)
    else:
        fut.add_done_callback(done)


class _TempFile:
    """The temp file of one upload; every method except the constructor runs in a thread."""

    def __init__(self, tmp_dir: str, blob_id: str) -> None:
        self.tmp_dir = tmp_dir
        self.path = os.path.join(tmp_dir, f"{blob_id}.{secrets.token_hex(4)}.tmp")
        self.fd: int | None = None

    def write(self, chunks: list[bytes]) -> None:
        if self.fd is None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            try:
                self.fd = os.open(self.path, flags, 0o644)
            except FileNotFoundError:
                os.makedirs(self.tmp_dir, exist_ok=True)
                self.fd = os.open(self.path, flags, 0o644)
        views = [memoryview(c) for c in chunks if c]
        while views:
            written = os.writev(self.fd, views[:_IOV_MAX])
            while written and written >= len(views[0]):  # drop what was fully written
                written -= len(views[0])
                views.pop(0)
            if written:
                views[0] = views[0][written:]

    def commit(self, rest: list[bytes], final: str, root: str) -> None:
        self.write(rest)
        assert self.fd is not None
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = None
        parent = os.path.dirname(final)
        if not os.path.isdir(parent):
            os.makedirs(parent, exist_ok=True)
            # New directories must be durable too, or the rename could vanish with them.
            _fsync_dir(os.path.dirname(parent))
            _fsync_dir(root)
        os.rename(self.path, final)
        _fsync_dir(parent)

    def discard(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class LocalBackend:
    """Blobs as files under `root` (see the module docstring for the layout)."""

    name = "local"

    def __init__(self, root: str | Path) -> None:
        self.root = os.path.abspath(root)
        self._tmp = os.path.join(self.root, TMP_DIR)

    def _blob_path(self, blob_id: str) -> str:
        _check_blob_id(blob_id)
        return os.path.join(self.root, blob_id[:2], blob_id[2:4], blob_id)

    # -- write ------------------------------------------------------------------------------
    async def put_blob(self, blob_id: str, data: ByteStream, size: int | None = None) -> int:
        final = self._blob_path(blob_id)
        temp = _TempFile(self._tmp, blob_id)
        loop = asyncio.get_running_loop()
        busy: asyncio.Future[None] | None = None
        batch: list[bytes] = []
        batched = 0
        written = 0
        try:
            async for chunk in data:
                batch.append(chunk)  # by reference: ByteStream chunks are immutable bytes
                batched += len(chunk)
                written += len(chunk)
                if batched >= UPLOADS.batch_size():
                    # One write in flight: the next batch is received while this one is
                    # written, and writes still reach the file in order.
                    if busy is not None:
                        await self._await_io(busy, "write")
                    full, batch, batched = batch, [], 0
                    busy = loop.run_in_executor(None, temp.write, full)
                    if not UPLOADS.pipelined():  # many uploads: hold one batch each
                        await self._await_io(busy, "write")
            if busy is not None:
                await self._await_io(busy, "write")
            check_size(blob_id, written, size)
            busy = loop.run_in_executor(None, temp.commit, batch, final, self.root)
            await self._await_io(busy, "commit")
        except BaseException as exc:
            # Whatever failed (the input stream, the disk, a cancellation): no temp file
            # survives, and nothing was renamed into place.
            if busy is None:
                temp.discard()
            elif busy.done() or isinstance(exc, asyncio.CancelledError):
                _discard_after(busy, temp.discard)
            else:
                # The input failed while a write was in flight: let it end, so the temp
                # file is gone by the time the error reaches the caller.
                try:
                    await asyncio.wait({busy})
                finally:
                    _discard_after(busy, temp.discard)
            raise
        return written

    @staticmethod
    async def _await_io(fut: asyncio.Future[T], what: str) -> T:
        try:
            # shield: cancelling the request must not detach us from a running thread.
            return await asyncio.shield(fut)
        except OSError as exc:
            raise _translate(exc, what) from exc

    # -- read -------------------------------------------------------------------------------
    async def get_blob(
        self, blob_id: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        if start < 0 or (end is not None and end < 0):
            raise ValueError(f"negative range [{start}, {end})")
        path = self._blob_path(blob_id)
        try:
            fd, size = await _in_thread(_open_for_read, path)
        except FileNotFoundError:
            raise BlobNotFound(blob_id) from None
        except OSError as exc:
            raise _translate(exc, f"open {blob_id}") from exc
        loop = asyncio.get_running_loop()
        busy: asyncio.Future[bytes] | None = None
        try:
            offset = start
            stop = size if end is None else min(end, size)
            while offset < stop:
                busy = loop.run_in_executor(
                    None, os.pread, fd, min(READ_BLOCK, stop - offset), offset
                )
                block = await self._await_io(busy, f"read {blob_id}")
                if not block:
                    raise BackendError(f"local backend: blob {blob_id} is shorter than {size}")
                offset += len(block)
                yield block
        finally:
            if busy is None:
                os.close(fd)
            else:
                _discard_after(busy, lambda: os.close(fd))

    async def blob_size(self, blob_id: str) -> int:
        path = self._blob_path(blob_id)
        try:
            return (await _in_thread(os.stat, path)).st_size
        except FileNotFoundError:
            raise BlobNotFound(blob_id) from None
        except OSError as exc:
            raise _translate(exc, f"stat {blob_id}") from exc

    def local_path(self, blob_id: str) -> str | None:
        path = self._blob_path(blob_id)
        return path if os.path.isfile(path) else None

    # -- delete, list, housekeeping -----------------------------------------------------------
    async def delete_blob(self, blob_id: str) -> None:
        path = self._blob_path(blob_id)
        try:
            await _in_thread(os.unlink, path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _translate(exc, f"delete {blob_id}") from exc

    async def list_blobs(self) -> AsyncIterator[BlobInfo]:
        try:
            tops = await _in_thread(_fanout_children, self.root)
            for top in tops:
                # One thread hop per top-level directory: 1/256th of the blobs per batch.
                batch = await _in_thread(_scan_top, self.root, top)
                for info in batch:
                    yield info
        except OSError as exc:
            raise _translate(exc, "list") from exc

    async def clean_stale_temp(self, *, max_age: float, now: float | None = None) -> int:
        """Delete temp files of uploads not written to for `max_age` seconds (crashes);
        return how many were removed."""
        cutoff = (time.time() if now is None else now) - max_age
        try:
            return await _in_thread(_remove_older, self._tmp, cutoff)
        except OSError as exc:
            raise _translate(exc, "clean temp files") from exc

    async def health(self) -> None:
        try:
            await _in_thread(_probe_writable, self._tmp)
        except OSError as exc:
            raise BackendUnavailable(
                f"local backend: {self.root} is not writable: {exc.strerror or exc}"
            ) from exc

    async def close(self) -> None:
        return None


# -- blocking helpers, always run in a thread --------------------------------------------------
def _open_for_read(path: str) -> tuple[int, int]:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return fd, os.fstat(fd).st_size
    except BaseException:
        os.close(fd)
        raise


def _fanout_children(path: str) -> list[str]:
    try:
        with os.scandir(path) as it:
            return sorted(
                e.name for e in it if _FANOUT.fullmatch(e.name) and e.is_dir(follow_symlinks=False)
            )
    except FileNotFoundError:
        return []


def _scan_top(root: str, top: str) -> list[BlobInfo]:
    found: list[BlobInfo] = []
    for sub in _fanout_children(os.path.join(root, top)):
        try:
            with os.scandir(os.path.join(root, top, sub)) as it:
                for entry in it:
                    name = entry.name
                    if not (_BLOB_ID.fullmatch(name) and name[:2] == top and name[2:4] == sub):
                        continue
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # deleted while we looked
                    found.append(BlobInfo(name, st.st_size, st.st_mtime))
        except FileNotFoundError:
            continue
    return found


def _remove_older(directory: str, cutoff: float) -> int:
    removed = 0
    try:
        with os.scandir(directory) as it:
            entries = list(it)
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def _probe_writable(tmp_dir: str) -> None:
    os.makedirs(tmp_dir, exist_ok=True)
    fd, path = tempfile.mkstemp(dir=tmp_dir, prefix=".health-", suffix=".tmp")
    try:
        os.write(fd, b"ok")
    finally:
        os.close(fd)
        os.unlink(path)
