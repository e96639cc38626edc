"""Large byte buffers reused across requests: the blocks of sealed GETs.

Why: a sealed GET needs three buffers of about 1 MiB (gateway/responses.py's two, the
stored frames of gateway/codec/frame_file.py). A new `bytearray` is zero-filled, and
memory glibc has handed back to the kernel page-faults on that first write: 3-4% of a
sealed GET's CPU. A buffer given back here is handed out again as it is (its old bytes
are overwritten before any is sent: readers write before the writer reads).

Only a few sizes recur (a whole run of frames); `take` makes any other size new, and at
most KEEP_BYTES of free buffers are kept per process. `take` and `give` may be called
from any thread.
"""

from __future__ import annotations

import threading
from typing import Final

KEEP_BYTES: Final = 32 * 1024 * 1024  # free buffers kept per process, all sizes together

_lock = threading.Lock()
_free: dict[int, list[bytearray]] = {}
_kept = 0  # bytes in _free


def take(size: int) -> bytearray:
    """A buffer of `size` bytes, of unspecified contents."""
    global _kept
    with _lock:
        free = _free.get(size)
        if free:
            _kept -= size
            return free.pop()
    return bytearray(size)


def give(buf: bytearray) -> None:
    """Give back a buffer nobody uses any more (no view of it is read or written again)."""
    global _kept
    size = len(buf)
    with _lock:
        if _kept + size <= KEEP_BYTES:
            _kept += size
            _free.setdefault(size, []).append(buf)
