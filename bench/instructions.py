"""`python -m bench.instructions`: CPU instructions per small request, counted by callgrind.

On a shared two-core machine the throughput of one tree moves 10-25% from one run to the
next, so a change worth a few percent of a request cannot be seen there. Callgrind counts
the instructions the server executes instead, which no other load on the machine changes:
two runs of one tree back to back agree within about 0.5%, and within 1.5% over an hour
(group commit's batches depend on timing): compare trees in runs side by side
(bench/RESULTS.md).

Starts one KloudVault (`--workers 1`, local backend, SQLite) under `valgrind
--tool=callgrind --instr-atstart=no`, creates a bucket and warms the server up with
`--warmup` 4 KiB PUTs, then, for each of PUT, GET, HEAD and DELETE, switches counting on
(`callgrind_control -i on`), runs `--requests` presigned 4 KiB requests (the bench's own
generator, bench/loadgen.py, 16 at a time), switches it off and dumps the counts. Prints
instructions per request, every thread of the server included. Under valgrind the server
runs some fifty times slower: the defaults take about two minutes.

`--tree DIR` measures another checkout (a `git worktree` of the commit to compare with).
Needs valgrind (Debian's package). Not a test: run it by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path

from bench.loadgen import Request
from bench.targets import Target
from bench.workloads import Session

SIZE = 4096
CONCURRENCY = 16
# In this order: GET, HEAD and DELETE address the objects the counted PUTs stored.
OPERATIONS = (
    ("PUT", "put_object"),
    ("GET", "get_object"),
    ("HEAD", "head_object"),
    ("DELETE", "delete_object"),
)
_TOTALS = re.compile(rb"^totals: (\d+)", re.MULTILINE)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    p.add_argument("--tree", type=Path, default=Path.cwd(), help="checkout to measure")
    p.add_argument("--requests", type=int, default=1000, help="requests counted per operation")
    p.add_argument("--warmup", type=int, default=300, help="PUTs before counting starts")
    return p


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited ({server.returncode}) before it was ready")
        try:
            with urllib.request.urlopen(f"{url}/health/live", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server was not ready within {timeout:g} s")


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True)


def _counted(out: Path, pid: int, dumps: int) -> int:
    """Dump the counts since the last dump; the instructions in that dump."""
    _control("-d", str(pid))
    path = out.with_name(f"{out.name}.{dumps}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if path.exists() and (found := _TOTALS.search(path.read_bytes())):
            return int(found.group(1))
        time.sleep(0.2)
    raise SystemExit(f"callgrind wrote no {path.name}")


def measure(tree: Path, requests: int, warmup: int) -> dict[str, int]:
    """Instructions per request of each operation (see the module docstring)."""
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (Debian: apt-get install valgrind)")
    work = Path(tempfile.mkdtemp(prefix="kv-instructions-"))
    out = work / "callgrind.out"
    port = _free_port()
    access_key, secret_key = "AKIA" + secrets.token_hex(8).upper(), secrets.token_hex(20)
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "KLOUDVAULT_ROOT_ACCESS_KEY": access_key,
        "KLOUDVAULT_ROOT_SECRET_KEY": secret_key,
    }
    command = [
        "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
        sys.executable, "-m", "gateway", "serve", "--data-dir", str(work / "data"),
        "--listen", f"127.0.0.1:{port}", "--workers", "1",
    ]  # fmt: skip
    log = (work / "server.log").open("wb")
    server = subprocess.Popen(command, cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT)
    loop = asyncio.new_event_loop()
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, server)
        session = Session(
            Target("kloudvault", url, access_key, secret_key), loop, uuid.uuid4().hex[:8]
        )
        payload = memoryview(os.urandom(SIZE))

        def run(method: str, operation: str, keys: Sequence[str]) -> None:
            batch = [
                Request(method, session.presign(operation, key), SIZE if method == "PUT" else 0)
                for key in keys
            ]
            result = session.phase(method, batch, CONCURRENCY, payload)
            if result.errors:
                raise SystemExit(f"{method}: {result.errors} errors ({result.first_error})")

        run("PUT", "put_object", [f"warm/{i}" for i in range(warmup)])
        keys = [f"k/{i}" for i in range(requests)]
        per_request: dict[str, int] = {}
        for dumps, (method, operation) in enumerate(OPERATIONS, start=1):
            _control("-i", "on", str(server.pid))
            run(method, operation, keys)
            _control("-i", "off", str(server.pid))
            per_request[method] = _counted(out, server.pid, dumps) // requests
        return per_request
    finally:
        loop.close()
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    tree = args.tree.resolve()
    counts = measure(tree, args.requests, args.warmup)
    print(f"instructions per request, {tree} (callgrind; {args.requests} each, 4 KiB, c=16):")
    for method, count in counts.items():
        print(f"  {method:6} {count:>12,}")


if __name__ == "__main__":
    main()
