"""CPU time and resident memory of a process tree, from /proc (Linux).

The server's figures include its worker processes (children, recursively). Sampling RSS in
a background thread finds the peak of a phase; the sampler runs every 50 ms, so a spike
shorter than that can be missed (the peak is a lower bound).
"""

from __future__ import annotations

import os
import resource
import threading
import time
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            out.extend(int(c) for c in text.split())
    except OSError:
        pass
    return out


def tree(pid: int) -> list[int]:
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo.extend(_children(p))
    return seen


def cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of `pid` and its live descendants."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / _TICKS


def rss_bytes(pid: int) -> int:
    total = 0
    for p in tree(pid):
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * _PAGE
        except OSError:
            continue
    return total


def pin(pid: int, cpus: set[int]) -> None:
    """Run every thread of `pid` and its descendants on `cpus` only (threads started later
    inherit their creator's CPUs)."""
    for p in tree(pid):
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                os.sched_setaffinity(int(task), cpus)
            except OSError:  # the thread has ended
                pass


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def mem_available() -> int:
    """MemAvailable of the machine, in bytes (/proc/meminfo)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 1 << 62


# A server that buffers whole request bodies (SeaweedFS does: 400 concurrent 25 MiB PUTs
# took it past 20 GiB) must not take the machine down: below this, the phase is aborted.
MEMORY_FLOOR = 2 * 1024**3


class Sampler:
    """Samples a process tree's RSS while running: `with Sampler(pid) as s: ...; s.peak`.

    It also watches the machine's available memory: `low_memory` is set (and stays set)
    once it falls under MEMORY_FLOOR, and the load generator stops sending.
    """

    def __init__(self, pid: int | None, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.baseline = rss_bytes(pid) if pid else 0
        self.peak = self.baseline
        self.low_memory = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.pid:
                self.peak = max(self.peak, rss_bytes(self.pid))
            if mem_available() < MEMORY_FLOOR:
                self.low_memory.set()
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self.pid:
            self.peak = max(self.peak, rss_bytes(self.pid))


def now() -> float:
    return time.perf_counter()
