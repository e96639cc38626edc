"""`python -m bench --target NAME=URL,KEY,SECRET[,PID] ... | --start-local`.

Runs the workloads (bench/workloads.py) against every target, interleaved round by round
(A B, then B A, ...: an even --rounds puts each target first as often as last), and
prints Markdown tables with each target's figures and its ratio to the
first target (and to nginx, when it runs). `--start-local` starts SeaweedFS (the
reference, first), nginx (the HTTP ceiling, bench/nginx.py; when installed, unless
--no-nginx) and KloudVault on the local backend, benchmarks them and stops them. nginx
runs the large, small, small-wrk and large-wrk workloads only. Not part of the test suite:
run it by hand on an otherwise idle machine and record the result in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from bench import nginx, report, wrk
from bench.loadgen import PhaseResult
from bench.targets import LocalServers, Target, parse_target
from bench.workloads import (
    QUICK,
    Scale,
    Session,
    in_turn,
    large,
    listing,
    multipart,
    payload_for,
    populate_listing,
    small,
)

WORKLOADS = ("large", "small", "small-wrk", "large-wrk", "multipart", "listing")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--target", action="append", default=[], help="NAME=URL,KEY,SECRET[,PID]")
    p.add_argument("--start-local", action="store_true", help="start SeaweedFS and KloudVault")
    p.add_argument(
        "--kloudvault-args", default="", help="extra `gateway serve` args (--start-local)"
    )
    p.add_argument(
        "--kloudvault-workers", help="comma-separated --workers values: one KloudVault each"
    )
    p.add_argument(
        "--no-seaweedfs", action="store_true", help="--start-local without the reference"
    )
    p.add_argument(
        "--no-nginx", action="store_true", help="--start-local without nginx (the HTTP ceiling)"
    )
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset")
    p.add_argument("--large-concurrency", help="comma-separated, default 16,64,400")
    p.add_argument("--large-size", type=int, help="MiB per large object (default 25)")
    p.add_argument("--small-requests", type=int, help="requests per small phase (default 5000)")
    p.add_argument("--wrk-seconds", type=float, help="seconds of each wrk phase (default 10)")
    p.add_argument("--listing-keys", type=int, help="keys to list (default 100000)")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds per phase group")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    p.add_argument("--cpu", type=int, help="pin the load generator to this CPU")
    p.add_argument("--json", help="write every phase result here")
    p.add_argument("--markdown", help="write the tables here too")
    return p


def _versions(targets: Sequence[Target]) -> list[str]:
    import aiohttp
    import botocore

    from bench.calibrate import machine_speed

    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB, "
        f"{platform.platform()}",
        machine_speed(),
        f"generator: Python {platform.python_version()}, aiohttp {aiohttp.__version__}, "
        f"botocore {botocore.__version__} (presigned SigV4 URLs), uvloop",
    ]
    for t in targets:
        note = t.notes.get("start", "")
        lines.append(f"target {t.name}: {t.url} pid {t.pid} {note}".rstrip())
    return lines


def _load(avg: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.1f}" for x in avg)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = set(workloads) - set(WORKLOADS)
    if unknown:
        print(f"unknown workloads: {sorted(unknown)}", file=sys.stderr)
        return 2
    scale = QUICK if args.quick else Scale()
    if args.large_concurrency:
        conc = tuple(int(c) for c in args.large_concurrency.split(","))
        scale = Scale(**{**scale.__dict__, "large_concurrency": conc})
    if args.large_size:
        scale = Scale(**{**scale.__dict__, "large_size": args.large_size * 1024 * 1024})
    if args.small_requests:
        scale = Scale(**{**scale.__dict__, "small_requests": args.small_requests})
    if args.wrk_seconds:
        scale = Scale(**{**scale.__dict__, "wrk_seconds": args.wrk_seconds})
    if {"small-wrk", "large-wrk"} & set(workloads) and not wrk.available():
        print(
            "bench: wrk is not installed (apt-get install wrk): wrk phases skipped", file=sys.stderr
        )
    if args.listing_keys:
        dirs = max(1, min(scale.listing_dirs, args.listing_keys // 100))
        scale = Scale(**{**scale.__dict__, "listing_keys": args.listing_keys, "listing_dirs": dirs})
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    try:
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    servers: LocalServers | None = None
    targets = [parse_target(spec) for spec in args.target]
    if args.start_local:
        workers = tuple(int(n) for n in (args.kloudvault_workers or "").split(",") if n)
        servers = LocalServers(
            kloudvault_args=tuple(shlex.split(args.kloudvault_args)),
            workers=workers,
            seaweedfs=not args.no_seaweedfs,
            nginx=not args.no_nginx and nginx.binary() is not None,
        )
        try:
            targets = servers.start() + targets
        except BaseException:
            servers.stop()  # those that did start
            raise
    if len(targets) < 1:
        print("give --target at least once, or --start-local", file=sys.stderr)
        return 2
    run_id = uuid.uuid4().hex[:6]
    payload = payload_for(scale)
    sessions = [Session(t, loop, run_id) for t in targets]
    s3_sessions = [s for s in sessions if s.target.kind == "s3"]
    names = [t.name for t in targets]
    references = [names[0], *(t.name for t in targets[1:] if t.kind == "http")]
    results: dict[tuple[str, str], PhaseResult] = {}
    order: list[str] = []
    started = time.time()
    load_before = os.getloadavg()

    def record(batch: list[PhaseResult]) -> None:
        for r in batch:
            if r.phase not in order:
                order.append(r.phase)
            if (r.target, r.phase) in results:
                results[(r.target, r.phase)].merge(r)
            else:
                results[(r.target, r.phase)] = r
            print(
                f"  {r.target:12} {r.phase:34} {r.mb_per_s:9.1f} MB/s {r.ops_per_s:9.1f} ops/s "
                f"p50 {r.percentile(50) * 1000:8.1f} ms p99 {r.percentile(99) * 1000:8.1f} ms "
                f"gen {r.generator_cores:.2f} cores err {r.errors} {r.first_error}",
                file=sys.stderr,
                flush=True,
            )

    try:
        if "listing" in workloads:
            for s in s3_sessions:  # populating is setup, done once per target
                record([populate_listing(s, scale, payload)])
        for rnd in range(args.rounds):
            print(f"round {rnd + 1}/{args.rounds}", file=sys.stderr, flush=True)
            turn, s3_turn = in_turn(sessions, rnd), in_turn(s3_sessions, rnd)
            if "large" in workloads:
                for c in scale.large_concurrency:
                    for s in turn:
                        record(large(s, scale, c, payload))
            if "small" in workloads:
                for s in turn:
                    record(small(s, scale, payload))
            if "small-wrk" in workloads and wrk.available():
                for s in turn:
                    record(wrk.small_get(s, scale, payload))
            if "large-wrk" in workloads and wrk.available():
                for s in turn:
                    record(wrk.large_get(s, scale, payload))
            if "multipart" in workloads:
                for s in s3_turn:
                    record(multipart(s, scale, payload))
            if "listing" in workloads:
                for s in s3_turn:
                    record(listing(s, scale))
    finally:
        for s in sessions:
            s.close()
        if servers is not None:
            servers.stop()
        loop.close()
    text = "\n".join(
        [
            f"Run {time.strftime('%Y-%m-%d %H:%M', time.localtime(started))}, "
            f"{time.time() - started:.0f} s, {args.rounds} interleaved round(s)"
            + (" (quick scale)" if args.quick else ""),
            "",
            *[f"- {line}" for line in _versions(targets)],
            f"- load average (1/5/15 min) at start {_load(load_before)}, "
            f"at end {_load(os.getloadavg())}: the machine may be shared",
            "",
            report.phase_table(order, results, names, references),
            "",
            report.server_table(order, results, names),
            "",
        ]
    )
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    if args.json:
        doc = [r.as_dict() for r in results.values()]
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
