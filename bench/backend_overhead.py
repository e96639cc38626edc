"""`python -m bench.backend_overhead`: what the gateway costs in front of an S3 server.

Starts one SeaweedFS and a KloudVault with `--backend s3` storing its blobs in it, then runs
the `large` workload (bench/workloads.py: 25 MiB PUT, then GET of the same objects, at
concurrency 16, presigned URLs from bench/loadgen.py) against SeaweedFS directly and against
the gateway, interleaved round by round (A B A B). The ratio gateway / direct is the
backend overhead: every byte crosses the gateway and then SeaweedFS, so 1.00 would mean
the gateway is free. The gateway's server CPU column is the gateway's own process only;
SeaweedFS works for both targets.

Not a test: run it by hand on an otherwise idle machine and record the figures in
bench/RESULTS.md under "Backend overhead" (`--record` rewrites that section, and only it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from bench import report
from bench.calibrate import machine_speed
from bench.loadgen import PhaseResult
from bench.targets import Target, _bench_seaweedfs
from bench.workloads import QUICK, Scale, Session, large, payload_for

MIB = 1024 * 1024
BLOB_BUCKET = "kloudvault-blobs"
RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Backend overhead"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.backend_overhead", description=__doc__)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--size", type=int, default=25, help="MiB per object (default 25)")
    p.add_argument("--requests", type=int, help="objects per phase (default max(2c, 64))")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    p.add_argument("--quick", action="store_true", help="4 MiB objects, few requests: a smoke run")
    p.add_argument("--record", action="store_true", help=f"write the section into {RESULTS}")
    return p


class Servers:
    """SeaweedFS (direct) and a KloudVault on it (--backend s3), in `workdir`."""

    def __init__(self, workdir: Path) -> None:
        from tests.support.gateway import GatewayProcess

        self.weed = _bench_seaweedfs(workdir / "seaweedfs")
        args = ("--backend", "s3", "--s3-endpoint", self.weed.endpoint, "--s3-bucket", BLOB_BUCKET)
        self.gateway = GatewayProcess(
            workdir / "kloudvault",
            "http",
            extra_args=args,
            extra_env={
                "KLOUDVAULT_S3_ACCESS_KEY": self.weed.access_key,
                "KLOUDVAULT_S3_SECRET_KEY": self.weed.secret_key,
            },
        )

    def start(self) -> list[Target]:
        weed, gw = self.weed, self.gateway
        weed.start()
        gw.start()
        return [
            Target("seaweedfs", weed.endpoint, weed.access_key, weed.secret_key, weed.pid),
            Target("kloudvault-s3", gw.endpoint, gw.access_key, gw.secret_key, gw.pid),
        ]

    def stop(self) -> None:
        try:
            self.gateway.stop()
        finally:
            self.weed.close()


def section(
    scale: Scale, concurrency: int, rounds: int, results: dict[tuple[str, str], PhaseResult]
) -> str:
    phases = list(dict.fromkeys(phase for _, phase in results))
    targets = ["seaweedfs", "kloudvault-s3"]
    ratios = []
    for phase in phases:
        direct, gateway = results[("seaweedfs", phase)], results[("kloudvault-s3", phase)]
        if direct.mb_per_s:
            ratios.append(f"{phase.split()[1]} {gateway.mb_per_s / direct.mb_per_s:.2f}")
    mem = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    return "\n".join(
        [
            HEADING,
            "",
            f"KloudVault `--backend s3` on SeaweedFS against the same SeaweedFS directly:"
            f" {scale.large_size // MIB} MiB PUT then GET at concurrency {concurrency},"
            f" {scale.large_requests(concurrency)} objects per phase, {rounds} interleaved"
            f" rounds (`python -m bench.backend_overhead`, {time.strftime('%Y-%m-%d')}).",
            f"Machine: {os.cpu_count()} CPUs, {mem:.0f} GiB, {platform.platform()}; load"
            f" generator, gateway and SeaweedFS share it; {machine_speed()}.",
            "",
            f"**Gateway / direct throughput: {', '.join(ratios)}** (1.00: the gateway costs"
            " nothing; every byte crosses the gateway and then SeaweedFS).",
            "",
            report.phase_table(phases, results, targets),
            "",
            report.server_table(phases, results, targets),
            "",
        ]
    )


def record(text: str) -> None:
    """Replace the "Backend overhead" section of RESULTS.md (or add it); keep the rest."""
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    start = old.find(HEADING)
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = old.find("\n## ", start + len(HEADING))
        new = old[:start] + text + ("" if end < 0 else "\n" + old[end + 1 :])
    RESULTS.write_text(new)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    base = QUICK if args.quick else Scale()
    size = 4 * MIB if args.quick else args.size * MIB
    requests = args.requests
    scale = Scale(
        **{
            **base.__dict__,
            "large_size": size,
            "large_concurrency": (args.concurrency,),
            "large_requests": (lambda c: requests) if requests else base.large_requests,
        }
    )
    try:
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    workdir = Path(tempfile.mkdtemp(prefix="kv-bench-overhead-"))
    servers = Servers(workdir)
    results: dict[tuple[str, str], PhaseResult] = {}
    sessions: list[Session] = []
    try:
        targets = servers.start()
        run_id = uuid.uuid4().hex[:6]
        payload = payload_for(scale)
        sessions = [Session(t, loop, run_id) for t in targets]
        for rnd in range(args.rounds):
            print(f"round {rnd + 1}/{args.rounds}", file=sys.stderr, flush=True)
            for s in sessions:
                for r in large(s, scale, args.concurrency, payload):
                    print(
                        f"  {r.target:14} {r.phase:28} {r.mb_per_s:8.1f} MB/s"
                        f" p50 {r.percentile(50) * 1000:7.0f} ms err {r.errors} {r.first_error}",
                        file=sys.stderr,
                        flush=True,
                    )
                    if (r.target, r.phase) in results:
                        results[(r.target, r.phase)].merge(r)
                    else:
                        results[(r.target, r.phase)] = r
    finally:
        for s in sessions:
            s.close()
        servers.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        loop.close()
    text = section(scale, args.concurrency, args.rounds, results)
    print(text)
    if args.record:
        record(text)
        print(f"recorded in {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
