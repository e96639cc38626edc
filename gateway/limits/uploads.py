"""A cap on the uploads an access key runs at once (--max-uploads-per-key).

An upload is a request streaming a body into a new blob (PutObject, UploadPart, POST
Object): each holds a slot from before its body is read until its handler returns. The
count is per process (each worker process and replica admits N), so the cap bounds what
one key can tie up of a process's sockets, memory and backend connections.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from gateway.errors import S3Error, S3ErrorCode

UPLOADS = frozenset({"PutObject", "UploadPart", "PostObject"})


class UploadSlots:
    def __init__(self, per_key: int) -> None:
        self.per_key = per_key
        self._running: dict[str, int] = {}

    def running(self, key: str) -> int:
        return self._running.get(key, 0)

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """A slot for one upload of `key`, or S3Error SlowDown if all are taken."""
        count = self._running.get(key, 0)
        if count >= self.per_key:
            raise S3Error(
                S3ErrorCode.SLOW_DOWN,
                f"Too many uploads at once for this access key (at most {self.per_key}).",
                headers={"Retry-After": "1"},
            )
        self._running[key] = count + 1
        try:
            yield
        finally:
            left = self._running[key] - 1
            if left:
                self._running[key] = left
            else:
                del self._running[key]
