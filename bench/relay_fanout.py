"""`python -m bench.relay_fanout`: many concurrent GETs through a remote backend's relay.

Starts SeaweedFS and a KloudVault with `--backend s3` on it (or Azurite and `--backend
azure`, with `--backend azure`: bench/backend_overhead.py's Servers), stores a few objects
through the gateway one at a time, then GETs them at high concurrency (400 by default: the
storage spec's clients) and reports throughput, failed requests, the gateway's CPU per GET
and per GiB, and the gateway process's resident memory before and at its peak (sampled
every 50 ms). The store is not benchmarked directly here: SeaweedFS does not survive 400
concurrent 25 MiB uploads of its own on a small machine, and the objects are stored
serially. `--size-kib` measures small GETs.

Not a test: run it by hand on an otherwise idle machine; bench/RESULTS.md has the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp

from bench.backend_overhead import Servers

MIB = 1024 * 1024


def rss_mib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def fetch_all(urls: list[str], concurrency: int, total: int, size: int) -> tuple[int, int]:
    """GET urls[i % len(urls)] for i < total, `concurrency` at a time; (bytes, failures)."""
    moved = failures = 0
    todo = iter(range(total))
    limits = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=limits, timeout=aiohttp.ClientTimeout(total=600)
    ) as http:

        async def worker() -> None:
            nonlocal moved, failures
            for i in todo:
                try:
                    async with http.get(urls[i % len(urls)]) as response:
                        got = 0
                        async for chunk in response.content.iter_any():
                            got += len(chunk)
                    moved += got
                    failures += response.status != 200 or got != size
                except (aiohttp.ClientError, TimeoutError):
                    failures += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return moved, failures


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.relay_fanout", description=__doc__)
    p.add_argument("--backend", choices=("s3", "azure"), default="s3")
    p.add_argument("--concurrency", type=int, default=400)
    p.add_argument("--requests", type=int, default=800)
    p.add_argument("--objects", type=int, default=16)
    p.add_argument("--size", type=int, default=25, help="MiB per object (default 25)")
    p.add_argument("--size-kib", type=int, help="KiB per object, instead of --size")
    args = p.parse_args(argv)
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config

    size = args.size_kib * 1024 if args.size_kib else args.size * MIB
    label = f"{args.size_kib} KiB" if args.size_kib else f"{args.size} MiB"
    servers = Servers(Path(tempfile.mkdtemp(prefix="kvbench-fanout-")), args.backend)
    gateway = servers.start()[1]
    try:
        assert gateway.pid is not None
        s3 = boto3.client(
            "s3",
            endpoint_url=gateway.url,
            aws_access_key_id=gateway.access_key,
            aws_secret_access_key=gateway.secret_key,
            region_name=gateway.region,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        s3.create_bucket(Bucket="fanout")
        data = os.urandom(size)
        urls = []
        for i in range(args.objects):
            s3.put_object(Bucket="fanout", Key=f"o{i}", Body=data)
            params = {"Bucket": "fanout", "Key": f"o{i}"}
            urls.append(s3.generate_presigned_url("get_object", Params=params, ExpiresIn=3600))
        before = peak = rss_mib(gateway.pid)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.05):
                peak = max(peak, rss_mib(gateway.pid))  # type: ignore[arg-type]

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        cpu_before = cpu_seconds(gateway.pid)
        started = time.monotonic()
        moved, failures = asyncio.run(fetch_all(urls, args.concurrency, args.requests, size))
        seconds = time.monotonic() - started
        cpu = cpu_seconds(gateway.pid) - cpu_before
        done.set()
        sampler.join()
        print(
            f"c={args.concurrency}, {args.requests} GETs of {label} through the gateway"
            f" on {args.backend}:"
            f" {args.requests / seconds:,.0f} GET/s, {moved / seconds / 1e6:,.0f} MB/s,"
            f" {failures} failed; gateway CPU {cpu / args.requests * 1000:.3f} ms/GET,"
            f" {cpu / (moved or 1) * 2**30:.2f} s/GiB;"
            f" gateway RSS {before} MiB -> peak {peak} MiB (+{peak - before})"
        )
        return 1 if failures else 0
    finally:
        servers.stop()


if __name__ == "__main__":
    raise SystemExit(main())
