"""Writes audit lines (gateway/audit.py) to a file or stdout without making requests wait.

A request only appends its line to a list; a background task writes the list out every
FLUSH_INTERVAL seconds, or sooner once FLUSH_LINES are waiting, in a thread. Each batch
is one write(2) on a file opened O_APPEND, so the worker processes of one gateway
(`--workers`) can share a file without tearing each other's lines. `close()` writes what
is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys

log = logging.getLogger("kloudvault.audit")

FLUSH_INTERVAL = 0.5  # seconds a record may wait in memory
FLUSH_LINES = 1000  # ... unless this many are waiting


class AuditWriter:
    def __init__(
        self,
        target: str,
        *,
        flush_interval: float = FLUSH_INTERVAL,
        flush_lines: int = FLUSH_LINES,
    ) -> None:
        self.target = target  # a path, or "-" for stdout
        self._interval = flush_interval
        self._flush_lines = flush_lines
        self._pending: list[str] = []
        self._wake = asyncio.Event()
        self._fd: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    async def start(self) -> None:
        if self.target == "-":
            self._fd = sys.stdout.fileno()
        else:
            self._fd = await asyncio.to_thread(
                os.open, self.target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640
            )
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    def write(self, line: str) -> None:
        """Queue one record (a line without its newline); never blocks."""
        self._pending.append(line)
        if len(self._pending) >= self._flush_lines:
            self._wake.set()

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task  # its last flush finishes before ours starts: lines keep order
            self._task = None
        await self.flush()
        if self._fd is not None and self.target != "-":
            os.close(self._fd)
        self._fd = None

    async def flush(self) -> None:
        if not self._pending or self._fd is None:
            return
        batch, self._pending = self._pending, []
        data = ("\n".join(batch) + "\n").encode()
        try:
            await asyncio.to_thread(_write_all, self._fd, data)
        except OSError as exc:
            # Keeping them would grow without bound while the disk is full; say so loudly.
            log.error("audit log %s: %d records lost: %s", self.target, len(batch), exc)

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            await self.flush()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
