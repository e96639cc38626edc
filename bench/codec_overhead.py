"""`python -m bench.codec_overhead`: what SSE-S3 and zstd cost against plain storage.

Starts one KloudVault (local backend) with three buckets: plain, SSE-S3 (bucket default
encryption AES256) and zstd (`admin compression set BUCKET on`), then runs the `large`
workload (bench/workloads.py: 25 MiB PUT, then GET of the same objects, at concurrency 16,
presigned URLs) on each, interleaved round by round, and prints each one's throughput as a
ratio to plain. The shared payload is random (bench/workloads.py), so zstd pays for
compressing every frame and saves nothing: its worst case. `--text` uses log-like text
instead (zstd's good case; plain and SSE-S3 do not care).

Not a test: run it by hand, ideally on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

from bench import report
from bench.loadgen import PhaseResult
from bench.targets import Target
from bench.workloads import MIB, QUICK, Scale, Session, large, payload_for

MODES = ("plain", "sse-s3", "zstd")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.codec_overhead", description=__doc__)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--size", type=int, default=25, help="MiB per object (default 25)")
    p.add_argument("--requests", type=int, help="objects per phase (default max(2c, 64))")
    p.add_argument("--rounds", type=int, default=1, help="interleaved rounds (default 1)")
    p.add_argument("--text", action="store_true", help="a compressible payload")
    p.add_argument("--quick", action="store_true", help="4 MiB objects, few requests")
    return p


def text_payload(size: int) -> memoryview:
    rng = random.Random(7)
    words = [b"GET", b"PUT", b"/bucket/key", b"200", b"404", b"kloudvault", b"agent", b"ms"]
    out = bytearray()
    while len(out) < size:
        verb, path = rng.sample(words, 2)
        number, status = rng.randrange(10**9), rng.randrange(10**4)
        out += b"%d %s %s %d\n" % (number, verb, path, status)
    return memoryview(bytes(out[:size])).toreadonly()


def _configure(session: Session, mode: str, admin: object) -> None:
    if mode == "sse-s3":
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        session.s3.put_bucket_encryption(
            Bucket=session.bucket, ServerSideEncryptionConfiguration={"Rules": [rule]}
        )
    elif mode == "zstd":
        admin("compression", "set", session.bucket, "on")  # type: ignore[operator]


def main(argv: Sequence[str] | None = None) -> int:
    from tests.support.gateway import GatewayProcess

    args = build_parser().parse_args(argv)
    base = QUICK if args.quick else Scale()
    requests = args.requests
    scale = Scale(
        **{
            **base.__dict__,
            "large_size": 4 * MIB if args.quick else args.size * MIB,
            "large_concurrency": (args.concurrency,),
            "large_requests": (lambda c: requests) if requests else base.large_requests,
        }
    )
    loop = asyncio.new_event_loop()
    workdir = Path(tempfile.mkdtemp(prefix="kv-bench-codec-"))
    gateway = GatewayProcess(workdir / "kloudvault", "http")
    results: dict[tuple[str, str], PhaseResult] = {}
    sessions: list[Session] = []
    try:
        gateway.start()
        payload = text_payload(scale.large_size + MIB) if args.text else payload_for(scale)
        run_id = uuid.uuid4().hex[:6]
        for mode in MODES:
            target = Target(
                mode, gateway.endpoint, gateway.access_key, gateway.secret_key, gateway.pid
            )
            session = Session(target, loop, f"{run_id}-{mode}")
            _configure(session, mode, gateway.admin)
            sessions.append(session)
        for rnd in range(args.rounds):
            print(f"round {rnd + 1}/{args.rounds}", file=sys.stderr, flush=True)
            for s in sessions:
                for r in large(s, scale, args.concurrency, payload):
                    print(
                        f"  {r.target:8} {r.phase:28} {r.mb_per_s:8.1f} MB/s"
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
        gateway.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        loop.close()
    phases = list(dict.fromkeys(phase for _, phase in results))
    print(f"payload: {'text' if args.text else 'random'}; {os.cpu_count()} CPUs")
    for mode in MODES[1:]:
        ratios = [
            f"{p.split()[1]} {results[(mode, p)].mb_per_s / results[('plain', p)].mb_per_s:.2f}"
            for p in phases
            if results[("plain", p)].mb_per_s
        ]
        print(f"{mode} / plain throughput: {', '.join(ratios)}")
    print(report.phase_table(phases, results, list(MODES)))
    print(report.server_table(phases, results, list(MODES)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
