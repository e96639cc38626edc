"""bench.backend_overhead --store-cpus: the store on CPUs of its own, the gateway and the
load generator on the others (bench/procstat.py's pin)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import pytest

from bench import procstat
from bench.backend_overhead import cpu_list


def test_cpu_lists() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("one CPU: nothing to leave to the others")
    assert cpu_list(str(cpus[0])) == {cpus[0]}
    assert cpu_list(f"{cpus[0]}-{cpus[0]}") == {cpus[0]}
    for every in (",".join(map(str, cpus)), f"{cpus[0]}-{cpus[-1]}"):
        with pytest.raises(argparse.ArgumentTypeError):
            cpu_list(every)  # nothing left for the gateway and the generator
    with pytest.raises(argparse.ArgumentTypeError):
        cpu_list("4096")  # not this machine's
    with pytest.raises(ValueError):
        cpu_list("a")


def test_pin_reaches_every_thread_of_the_tree() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("one CPU")
    # A parent with a thread and a child process: all of them end up on the one CPU.
    script = (
        "import subprocess, sys, threading, time\n"
        "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        "time.sleep(30)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 10
        while len(procstat.tree(parent.pid)) < 2 or len(os.listdir(f"/proc/{parent.pid}/task")) < 2:
            assert time.monotonic() < deadline, "the child process did not start"
            time.sleep(0.05)
        procstat.pin(parent.pid, {cpus[-1]})
        tasks = [
            int(task)
            for pid in procstat.tree(parent.pid)
            for task in os.listdir(f"/proc/{pid}/task")
        ]
        assert len(tasks) >= 3
        assert all(os.sched_getaffinity(task) == {cpus[-1]} for task in tasks)
    finally:
        for pid in reversed(procstat.tree(parent.pid)):
            os.kill(pid, 9)
        parent.wait()
