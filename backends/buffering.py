"""How much of the uploads in progress one process holds in memory: one shared budget.

An upload is a pipeline: chunks received from the socket are gathered into batches, and a
worker thread hashes (gateway.writepath) or writes (backends.local) one batch while the
next arrives, so each upload holds about two batches. Large batches make one upload fast
(fewer hand-offs to threads); at 400 concurrent uploads the same 1 MiB batches held more
than a GiB. So the batch size is the budget divided among the uploads in progress, between
MIN_BATCH and MAX_BATCH: a lone upload keeps 1 MiB batches. Past PIPELINE_LIMIT uploads
in a process (`pipelined()` false), each upload waits for its batch to be hashed and
written before it reads on: one batch per upload, and the rest of the body waits in the
kernel's socket buffer. That many uploads keep the threads busy anyway: it costs no
throughput. The HTTP server's read buffer is 64 KiB, raised to aiohttp's 256 KiB for a
body that starts while uploads are few enough to get MAX_BATCH (`roomy()`; gateway.body):
the raise lasts for the whole body, so it is kept for the few. A socket read is up to
256 KB, so a batch of MIN_BATCH is in practice one read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

KiB = 1024
MAX_BATCH = 1024 * KiB
MIN_BATCH = 64 * KiB
# Uploads per process up to which each one pipelines (two batches); past it, one batch.
PIPELINE_LIMIT = 128


class BufferBudget:
    """`budget` bytes of batches, shared by the uploads registered with `upload()`."""

    def __init__(
        self,
        budget: int,
        *,
        low: int = MIN_BATCH,
        high: int = MAX_BATCH,
        pipeline_limit: int = PIPELINE_LIMIT,
    ) -> None:
        if not 0 < low <= high:
            raise ValueError("need 0 < low <= high")
        self.budget = budget
        self.low = low
        self.high = high
        self.pipeline_limit = pipeline_limit
        self.active = 0

    @contextmanager
    def upload(self) -> Iterator[None]:
        """Count one upload in progress for as long as the block runs."""
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1

    def roomy(self) -> bool:
        """Whether uploads still get the largest batches (few in progress)."""
        return self.batch_size() == self.high

    def pipelined(self) -> bool:
        """Whether an upload may receive its next batch while the last one is processed."""
        return self.active <= self.pipeline_limit

    def batch_size(self) -> int:
        """The batch size for each upload now: two batches per upload fit the budget."""
        share = self.budget // (2 * max(self.active, 1))
        return max(self.low, min(self.high, share))


# One per process (each worker process has its own event loop and its own uploads). 32 MiB
# keeps 1 MiB batches up to 16 uploads at once, 128 KiB ones at 128.
UPLOADS = BufferBudget(32 * 1024 * KiB)
