"""One core's speed, printed beside a run's results, so that runs from different sessions
(machines of the same kind) can be compared: on the 2-CPU VMs here, a pure Python loop has
measured 35 to 105 ns per iteration from one hour to the next, and every server's CPU per
request moved with it (a 4 KiB PUT cost the gateway 0.39 ms of CPU one day, 1.1-1.5 ms
another, SeaweedFS 0.32 and 1.05 ms). Ratios within one run stay comparable; absolute
figures only between runs whose core speeds match."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

_MD5_BYTES = 32 * 1024 * 1024
_LOOP = 2_000_000


def _best(run: Callable[[], object], times: int = 5) -> float:
    best = float("inf")
    for _ in range(times):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _loop() -> None:
    total = 0
    for i in range(_LOOP):
        total += i


def machine_speed() -> str:
    """The line "core speed: Python loop N ns/iteration, MD5 M MB/s" (best of five runs
    each, ~0.5 s in all)."""
    data = bytes(_MD5_BYTES)
    md5 = _best(lambda: hashlib.md5(data).digest())
    loop = _best(_loop)
    return (
        f"core speed (bench/calibrate.py): Python loop {loop / _LOOP * 1e9:.0f} ns/iteration,"
        f" MD5 {_MD5_BYTES / md5 / 1e6:.0f} MB/s"
    )
