"""GET workloads driven by wrk: a C load generator for the rates the Python one
(bench/loadgen.py, ~4,000 requests/s or ~1 GB/s on two cores) cannot offer.

    small-wrk  4 KiB GET at 64 connections for a fixed time, presigned URLs of 1,000
               objects taken in turn by a Lua script, against every target (KloudVault,
               SeaweedFS, nginx) in the same session
    large-wrk  the same with 16 objects of the large size (25 MiB): the HTTP ceiling for
               big GETs, where the Python generator would be the limit

Setup (the objects' PUTs, the presigning) and clean-up go through the Python generator
and are not measured. wrk's latency percentiles (every 0.1) stand in for the phase's
latency list, so p50 and p99 read as in the other phases; its own CPU (a child process) is the
generator's. wrk is a Debian package (`apt-get install wrk`): the workload is skipped,
with a message, where it is missing. Bench only: nothing in the test suite needs it.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from bench import procstat
from bench.loadgen import PhaseResult, Request
from bench.workloads import KIB, MIB, Scale, Session

OBJECTS = 1000
LARGE_OBJECTS = 16
CONNECTIONS = 64
THREADS = 2

# Each wrk thread runs its own copy: it starts at a different place in the list, so the
# threads do not ask for the same objects in lockstep.
_LUA = """
local paths = {
%s
}
local i = 0
setup = function(thread)
  thread:set("start", math.random(#paths))
end
init = function(args)
  i = tonumber(start) or 0
end
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("KVWRK %%d %%d %%d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout + e.status))
  for p = 1, 1000 do
    io.write(string.format("KVLAT %%d\\n", latency:percentile(p / 10)))
  end
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def lua_script(paths: list[str]) -> str:
    """The Lua script rotating over `paths` (request targets: path and query)."""
    for path in paths:
        if "]==]" in path or "\n" in path:
            raise ValueError(f"cannot quote {path!r} in Lua")
    return _LUA % ",\n".join(f"  [==[{p}]==]" for p in paths)


def parse_output(text: str, result: PhaseResult) -> None:
    """Fill `result` from the script's `done` lines (durations in microseconds)."""
    latencies: list[float] = []
    for line in text.splitlines():
        fields = line.split()
        if fields[:1] == ["KVWRK"]:
            result.requests, duration_us, result.errors = (int(f) for f in fields[1:4])
            result.seconds = duration_us / 1e6
        elif fields[:1] == ["KVLAT"]:
            latencies.append(int(fields[1]) / 1e6)
    if not result.seconds:
        raise RuntimeError(f"wrk printed no summary:\n{text[-2000:]}")
    result.latencies = latencies


def small_get(s: Session, scale: Scale, payload: memoryview) -> list[PhaseResult]:
    """PUT OBJECTS small objects, then GET them with wrk for scale.wrk_seconds."""
    size = scale.small_size
    return [_gets(s, scale, payload, size, OBJECTS, f"small GET {size // KIB} KiB wrk")]


def large_get(s: Session, scale: Scale, payload: memoryview) -> list[PhaseResult]:
    """PUT LARGE_OBJECTS large objects, then GET them with wrk for scale.wrk_seconds."""
    size = scale.large_size
    return [_gets(s, scale, payload, size, LARGE_OBJECTS, f"large GET {size // MIB} MiB wrk")]


def _gets(
    s: Session, scale: Scale, payload: memoryview, size: int, objects: int, label: str
) -> PhaseResult:
    prefix = f"wrk-{uuid.uuid4().hex[:6]}/"
    keys = [f"{prefix}{i:05d}" for i in range(objects)]
    # Bodies start at different offsets, as in the large workload: no two objects alike.
    puts = [
        Request("PUT", s.presign("put_object", k), size, (i * 4099) % MIB)
        for i, k in enumerate(keys)
    ]
    s.phase("setup", puts, min(CONNECTIONS, objects), payload)
    base = s.target.url.rstrip("/")
    paths = []
    for key in keys:
        url = s.presign("get_object", key)
        if not url.startswith(base):
            raise RuntimeError(f"presigned URL {url!r} is not under {base!r}")
        paths.append(url[len(base) :] or "/")
    phase = f"{label} c={CONNECTIONS}"
    result = PhaseResult(s.target.name, phase, CONNECTIONS)
    with tempfile.TemporaryDirectory(prefix="kvbench-wrk-") as tmp:
        script = Path(tmp) / "rotate.lua"
        script.write_text(lua_script(paths))
        command = [
            "wrk", "-t", str(THREADS), "-c", str(CONNECTIONS),
            "-d", f"{scale.wrk_seconds:g}s", "--timeout", "30s", "-s", str(script), base,
        ]  # fmt: skip
        pid = s.target.pid
        server_cpu = procstat.cpu_seconds(pid) if pid else None
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if pid and server_cpu is not None:
            result.server_cpu = procstat.cpu_seconds(pid) - server_cpu
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited with {done.returncode}: {done.stderr[-2000:]}")
    parse_output(done.stdout, result)
    result.received = result.requests * size
    result.generator_cpu = (after.ru_utime - children.ru_utime) + (
        after.ru_stime - children.ru_stime
    )
    s.delete_all(prefix, payload)
    return result
