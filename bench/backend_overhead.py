"""`python -m bench.backend_overhead`: what the gateway costs in front of its store.

Starts one SeaweedFS and a KloudVault with `--backend s3` storing its blobs in it (or, with
`--backend azure`, one Azurite and a KloudVault with `--backend azure`), then runs the
`large` workload (bench/workloads.py: 25 MiB PUT, then GET of the same objects, at
concurrency 16, presigned URLs from bench/loadgen.py; SAS URLs for Azurite, from
bench/azure_direct.py) against the store directly and against the gateway, interleaved
round by round (A B, then B A). The ratio gateway / direct is the backend overhead: every
byte crosses the gateway and then the store, so 1.00 would mean the gateway is free. The
gateway's server CPU column is the gateway's own process only; the store works for both
targets.

`--store-cpus 0` runs the store on CPU 0 alone and the gateway and the load generator on
the other CPUs (bench/procstat.py's pin): closer to a deployment, where the store does not
share the gateway's machine; on two CPUs it also halves what the store can use.

Not a test: run it by hand on an otherwise idle machine and record the figures in
bench/RESULTS.md under "Backend overhead" or "Azure backend overhead" (`--record`
rewrites that section, and only it).
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
from typing import Any

from bench import procstat, report
from bench.azure_direct import AzureSession
from bench.calibrate import machine_speed
from bench.loadgen import PhaseResult
from bench.targets import Target, _bench_seaweedfs
from bench.workloads import QUICK, Scale, Session, in_turn, large, payload_for

MIB = 1024 * 1024
BLOB_BUCKET = "kloudvault-blobs"
RESULTS = Path(__file__).with_name("RESULTS.md")
HEADINGS = {"s3": "## Backend overhead", "azure": "## Azure backend overhead"}
STORES = {"s3": ("seaweedfs", "SeaweedFS"), "azure": ("azurite", "Azurite")}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.backend_overhead", description=__doc__)
    p.add_argument("--backend", choices=sorted(STORES), default="s3")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--size", type=int, default=25, help="MiB per object (default 25)")
    p.add_argument("--requests", type=int, help="objects per phase (default max(2c, 64))")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    p.add_argument("--quick", action="store_true", help="4 MiB objects, few requests: a smoke run")
    p.add_argument("--record", action="store_true", help=f"write the section into {RESULTS}")
    p.add_argument("--workers", type=int, default=1, help="gateway worker processes (default 1)")
    p.add_argument(
        "--store-cpus",
        type=cpu_list,
        help="run the store on these CPUs (e.g. 0) and the gateway and the load generator on"
        " the others: a machine of its own for the store, as deployed (default: all share)",
    )
    return p


def cpu_list(text: str) -> set[int]:
    """ "0" or "0,2" or "0-1": the CPUs of --store-cpus, which must leave some for the rest."""
    cpus: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    if not cpus or not cpus < os.sched_getaffinity(0):
        raise argparse.ArgumentTypeError(f"{text!r}: some, not all, of this machine's CPUs")
    return cpus


class Servers:
    """The store (SeaweedFS or Azurite, direct) and a KloudVault on it, in `workdir`."""

    def __init__(self, workdir: Path, backend: str = "s3", workers: int = 1) -> None:
        from tests.support.gateway import GatewayProcess

        self.backend = backend
        self.store: Any
        env: dict[str, str]
        if backend == "azure":
            from tests.support.azurite import start_azurite

            self.store = start_azurite(workdir / "azurite")
            args: tuple[str, ...] = ("--backend", "azure", "--azure-container", BLOB_BUCKET)
            env = {"KLOUDVAULT_AZURE_CONNECTION_STRING": self.store.connection_string}
        else:
            self.store = _bench_seaweedfs(workdir / "seaweedfs")
            args = ("--backend", "s3", "--s3-endpoint", self.store.endpoint)
            args += ("--s3-bucket", BLOB_BUCKET)
            env = {
                "KLOUDVAULT_S3_ACCESS_KEY": self.store.access_key,
                "KLOUDVAULT_S3_SECRET_KEY": self.store.secret_key,
            }
        self.gateway = GatewayProcess(
            workdir / "kloudvault",
            "http",
            extra_args=(*args, "--workers", str(workers)),
            extra_env=env,
        )

    def start(self) -> list[Target]:
        store, gw = self.store, self.gateway
        name = STORES[self.backend][0]
        if self.backend == "azure":
            direct = Target(
                name, store.account_url, store.account_name, store.account_key, store.pid,
                kind="azure",
            )  # fmt: skip
        else:
            store.start()
            direct = Target(name, store.endpoint, store.access_key, store.secret_key, store.pid)
        gw.start()
        return [
            direct,
            Target(f"kloudvault-{self.backend}", gw.endpoint, gw.access_key, gw.secret_key, gw.pid),
        ]

    def stop(self) -> None:
        try:
            self.gateway.stop()
        finally:
            self.store.close()


def section(
    backend: str,
    scale: Scale,
    concurrency: int,
    rounds: int,
    results: dict[tuple[str, str], PhaseResult],
    store_cpus: set[int] | None = None,
) -> str:
    phases = list(dict.fromkeys(phase for _, phase in results))
    store, store_name = STORES[backend]
    targets = [store, f"kloudvault-{backend}"]
    ratios = []
    for phase in phases:
        direct, gateway = results[(targets[0], phase)], results[(targets[1], phase)]
        if direct.mb_per_s:
            ratios.append(f"{phase.split()[1]} {gateway.mb_per_s / direct.mb_per_s:.2f}")
    mem = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    return "\n".join(
        [
            HEADINGS[backend],
            "",
            f"KloudVault `--backend {backend}` on {store_name} against the same {store_name}"
            " directly:"
            f" {scale.large_size // MIB} MiB PUT then GET at concurrency {concurrency},"
            f" {scale.large_requests(concurrency)} objects per phase, {rounds} interleaved"
            f" rounds (`python -m bench.backend_overhead`, {time.strftime('%Y-%m-%d')}).",
            f"Machine: {os.cpu_count()} CPUs, {mem:.0f} GiB, {platform.platform()};"
            f" {_sharing(store_name, store_cpus)}; {machine_speed()}.",
            "",
            f"**Gateway / direct throughput: {', '.join(ratios)}** (1.00: the gateway costs"
            f" nothing; every byte crosses the gateway and then {store_name}).",
            "",
            report.phase_table(phases, results, targets),
            "",
            report.server_table(phases, results, targets),
            "",
        ]
    )


def _sharing(store_name: str, store_cpus: set[int] | None) -> str:
    if not store_cpus:
        return f"load generator, gateway and {store_name} share it"
    cpus = ",".join(map(str, sorted(store_cpus)))
    return f"{store_name} on CPU {cpus} alone, the gateway and the load generator on the others"


def record(heading: str, text: str) -> None:
    """Replace the section of RESULTS.md under `heading` (or add it); keep the rest."""
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    start = old.find(heading + "\n")
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = old.find("\n## ", start + len(heading))
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
    servers = Servers(workdir, args.backend, args.workers)
    results: dict[tuple[str, str], PhaseResult] = {}
    sessions: list[Session] = []
    try:
        targets = servers.start()
        if args.store_cpus:
            store_pid, gateway_pid = (target.pid for target in targets)
            if store_pid is None or gateway_pid is None:
                raise SystemExit("--store-cpus: the store's or the gateway's process is unknown")
            others = os.sched_getaffinity(0) - args.store_cpus
            procstat.pin(store_pid, args.store_cpus)
            procstat.pin(gateway_pid, others)
            procstat.pin(os.getpid(), others)
        run_id = uuid.uuid4().hex[:6]
        payload = payload_for(scale)
        sessions = [
            AzureSession(t, loop, run_id) if t.kind == "azure" else Session(t, loop, run_id)
            for t in targets
        ]
        for rnd in range(args.rounds):
            print(f"round {rnd + 1}/{args.rounds}", file=sys.stderr, flush=True)
            for s in in_turn(sessions, rnd):
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
    text = section(args.backend, scale, args.concurrency, args.rounds, results, args.store_cpus)
    print(text)
    if args.record:
        record(HEADINGS[args.backend], text)
        print(f"recorded in {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
