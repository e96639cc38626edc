"""The load generator: presigned requests sent by a lean aiohttp client, measured.

Every URL is presigned (SigV4 query auth, botocore) before a phase starts, so the phase
itself spends no CPU on signing. A phase is a list of requests run by N concurrent workers
over one connection pool; each request's latency runs from sending the request to reading
the last byte of the answer. PUT bodies stream as memoryview slices of one shared read-only
buffer, so 400 concurrent 25 MiB uploads hold no copy of their bodies, and GET bodies are
counted and dropped as they arrive.

What a phase reports besides throughput and latencies: the generator's own CPU seconds (it
shares the machine with the server, so its cost is part of the picture), the server's CPU
seconds and its peak resident memory (process tree, /proc) when its pid is known.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench import procstat

CHUNK = 256 * 1024


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    body: int = 0  # bytes of the shared payload to send (PUT)
    offset: int = 0  # where in the shared payload the body starts
    headers: tuple[tuple[str, str], ...] = ()  # sent as they are (Azure's x-ms-blob-type)


@dataclass
class PhaseResult:
    target: str
    phase: str
    concurrency: int
    requests: int = 0
    errors: int = 0
    sent: int = 0
    received: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    generator_cpu: float = 0.0
    server_cpu: float | None = None
    server_rss_base: int | None = None
    server_rss_peak: int | None = None
    first_error: str = ""

    @property
    def bytes(self) -> int:
        return self.sent + self.received

    def merge(self, other: PhaseResult) -> None:
        """Fold another round of the same phase into this one."""
        self.requests += other.requests
        self.errors += other.errors
        self.sent += other.sent
        self.received += other.received
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.statuses.update(other.statuses)
        self.generator_cpu += other.generator_cpu
        if other.server_cpu is not None:
            self.server_cpu = (self.server_cpu or 0.0) + other.server_cpu
        if other.server_rss_peak is not None and other.server_rss_base is not None:
            # Growth is what matters: keep the round with the largest peak - base.
            if (
                self.server_rss_peak is None
                or self.server_rss_base is None
                or (
                    other.server_rss_peak - other.server_rss_base
                    > self.server_rss_peak - self.server_rss_base
                )
            ):
                self.server_rss_base = other.server_rss_base
                self.server_rss_peak = other.server_rss_peak
        self.first_error = self.first_error or other.first_error

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "phase": self.phase,
            "concurrency": self.concurrency,
            "requests": self.requests,
            "errors": self.errors,
            "bytes": self.bytes,
            "seconds": self.seconds,
            "ops_per_s": self.ops_per_s,
            "mb_per_s": self.mb_per_s,
            "p50_ms": self.percentile(50) * 1000,
            "p99_ms": self.percentile(99) * 1000,
            "generator_cpu_s": self.generator_cpu,
            "server_cpu_s": self.server_cpu,
            "server_rss_base": self.server_rss_base,
            "server_rss_peak": self.server_rss_peak,
            "statuses": dict(self.statuses),
            "first_error": self.first_error,
        }

    @property
    def ops_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.bytes / self.seconds / 1e6 if self.seconds else 0.0

    @property
    def generator_cores(self) -> float:
        """Generator CPU as a share of one core over the phase's wall time."""
        return self.generator_cpu / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[index]


async def _body(payload: memoryview, offset: int, size: int) -> AsyncIterator[memoryview]:
    end = offset + size
    while offset < end:
        step = min(CHUNK, end - offset)
        yield payload[offset : offset + step]
        offset += step


async def _one(
    session: aiohttp.ClientSession, req: Request, payload: memoryview, result: PhaseResult
) -> None:
    started = time.perf_counter()
    headers = dict(req.headers)
    data: Any = None
    if req.method in ("PUT", "POST"):
        headers["Content-Length"] = str(req.body)
        data = _body(payload, req.offset, req.body) if req.body else b""
    try:
        async with session.request(req.method, req.url, data=data, headers=headers) as resp:
            received = 0
            async for chunk in resp.content.iter_any():
                received += len(chunk)
            status = resp.status
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        result.errors += 1
        result.first_error = result.first_error or f"{req.method}: {exc!r}"
        return
    elapsed = time.perf_counter() - started
    result.statuses[status] += 1
    if status >= 300:
        result.errors += 1
        result.first_error = result.first_error or f"{req.method} -> {status}"
        return
    result.requests += 1
    result.sent += req.body
    result.received += received
    result.latencies.append(elapsed)


async def _run(
    requests: Sequence[Request],
    concurrency: int,
    payload: memoryview,
    result: PhaseResult,
    low_memory: threading.Event,
) -> None:
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=0, ttl_dns_cache=None)
    # total: a peer that dies mid-upload must not leave a writer waiting for drain forever.
    timeout = aiohttp.ClientTimeout(total=1200, sock_connect=30, sock_read=600)
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=False,
        skip_auto_headers=("User-Agent",),
    ) as session:
        queue = iter(requests)

        async def worker() -> None:
            for req in queue:  # the iterator is shared: each request is taken once
                await _one(session, req, payload, result)

        workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(requests)))]
        # Requests in flight are cancelled too: with 400 x 25 MiB, all are in flight.
        while not all(w.done() for w in workers):
            if low_memory.is_set():
                for w in workers:
                    w.cancel()
                result.errors += 1
                result.first_error = "aborted: the machine ran low on memory (MemAvailable < 2 GiB)"
                break
            await asyncio.wait(workers, timeout=0.1)
        await asyncio.gather(*workers, return_exceptions=True)


def run_phase(
    target: str,
    phase: str,
    requests: Sequence[Request],
    concurrency: int,
    payload: memoryview,
    server_pid: int | None,
    loop: asyncio.AbstractEventLoop,
) -> PhaseResult:
    """Run `requests` at `concurrency` and measure (see the module docstring)."""
    result = PhaseResult(target, phase, concurrency)
    server_cpu = procstat.cpu_seconds(server_pid) if server_pid else None
    gen_cpu = procstat.self_cpu_seconds()
    with procstat.Sampler(server_pid) as sampler:
        started = time.perf_counter()
        loop.run_until_complete(_run(requests, concurrency, payload, result, sampler.low_memory))
        result.seconds = time.perf_counter() - started
    result.generator_cpu = procstat.self_cpu_seconds() - gen_cpu
    if server_pid and server_cpu is not None:
        result.server_cpu = procstat.cpu_seconds(server_pid) - server_cpu
        result.server_rss_base = sampler.baseline
        result.server_rss_peak = sampler.peak
    return result
