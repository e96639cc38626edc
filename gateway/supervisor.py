"""`serve --workers N`: the process that starts the N workers, forwards signals and waits.

It holds no request and does no work, so it runs without the gateway's modules: `serve`
bootstraps the store and prints the banner in the full process, then replaces itself
(`exec`, same pid, so a supervisor of processes or a benchmark still sees one tree) with
`python -m gateway.supervisor`, which imports multiprocessing and this module only. The
full command line process held ~85 MiB resident for nothing; this one holds ~15 MiB,
which counts when 400 uploads must fit in 512 MiB for the whole tree (issue 17).

The settings reach it pickled in a private file (they may name secrets: never on the
command line, where `ps` shows them), and go on to each worker unread: only the worker,
which imports the gateway anyway, unpickles them.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import sys
from multiprocessing.connection import wait

SETTINGS_FILE = "settings.pickle"


def exec_supervisor(settings_blob: bytes, workers: int, metrics_dir: str) -> None:
    """Replace this process with the lean supervisor (does not return)."""
    path = os.path.join(metrics_dir, SETTINGS_FILE)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(settings_blob)
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [sys.executable, "-m", "gateway.supervisor", str(workers), metrics_dir]
    os.execv(sys.executable, argv)


def _worker(settings_blob: bytes, primary: bool) -> None:
    import pickle

    from gateway.cli import run_worker

    run_worker(pickle.loads(settings_blob), primary)


def supervise(settings_blob: bytes, workers: int, metrics_dir: str) -> int:
    """Start the workers (the first is the primary), wait for all; the worst exit code."""
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_worker, args=(settings_blob, i == 0), daemon=False)
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()

    def _forward(signum: int, _frame: object) -> None:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()

    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    running = list(procs)
    while running:
        ready = wait([proc.sentinel for proc in running])
        for proc in [p for p in running if p.sentinel in ready]:
            running.remove(proc)
            proc.join()
            if proc.pid is not None:
                _mark_dead(proc.pid, metrics_dir)
    return max((p.exitcode or 0) for p in procs)


def _mark_dead(pid: int, metrics_dir: str) -> None:
    # Its in-flight gauge leaves the sum; its counters stay (they were counted). Imported
    # here: prometheus-client costs ~10 MiB, needed only once a worker has ended.
    from prometheus_client.multiprocess import mark_process_dead

    mark_process_dead(pid, metrics_dir)  # type: ignore[no-untyped-call]


def main(argv: list[str]) -> int:
    workers, metrics_dir = int(argv[0]), argv[1]
    try:
        path = os.path.join(metrics_dir, SETTINGS_FILE)
        with open(path, "rb") as f:
            blob = f.read()
        os.unlink(path)
        return supervise(blob, workers, metrics_dir)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
