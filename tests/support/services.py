"""Peer servers the tests start as child processes (SeaweedFS, Azurite).

A ServiceProcess owns one working directory and a fixed set of ports that it keeps across
restarts, so a test can `kill()` the server (SIGKILL, like a crash), `start()` it again on
the same data and ports, and keep using the clients it already has. `freeze()`/`thaw()`
(SIGSTOP/SIGCONT) make it hang instead: connections open but nothing answers, the case
that only timeouts catch.

When a server's binary is missing, tests call tests/conftest.py's `require_service()`: skip
with the reason, or fail under KLOUDVAULT_REQUIRE_SERVICES=1 (CI sets it, so a broken CI
image cannot turn the remote backend suites into silent skips).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

import pytest

S = TypeVar("S", bound="ServiceProcess")


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a preexec_fn making the kernel SIGKILL the server when the thread that
    started it dies: a test run killed without cleanup (SIGKILL, OOM) leaves no server
    behind holding ports. Servers are therefore started from the main thread."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not in the child
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def set_pdeathsig() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)

    return set_pdeathsig


class ServiceNotReady(RuntimeError):
    """The server exited or did not become ready in time; the message holds its log tail."""


class ServiceProcess:
    """Base for a server run as a child process: start, wait until ready, stop, crash."""

    name = "service"
    startup_timeout = 60.0
    stop_timeout = 10.0

    def __init__(self, workdir: Path | None = None) -> None:
        self._own_workdir = workdir is None
        self.workdir = (
            Path(tempfile.mkdtemp(prefix=f"kv-{self.name}-")) if workdir is None else workdir
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / f"{self.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # -- what a subclass provides ------------------------------------------------------

    def command(self) -> Sequence[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def is_ready(self) -> bool:
        """One quick probe; called repeatedly until True or the startup timeout."""
        raise NotImplementedError

    def cleanup_after_exit(self) -> None:
        """Remove what the server leaves outside the workdir (sockets in /tmp, ...)."""

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def start(self) -> None:
        """Start the server (again, after stop() or kill(): same ports, same data)."""
        if self.running:
            return
        self.cleanup_after_exit()
        with self.log_path.open("ab") as log:
            log.write(f"\n==== start {time.strftime('%H:%M:%S')} ====\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                list(self.command()),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=self.environment(),
                start_new_session=True,  # a Ctrl-C aimed at pytest is not aimed at us
                preexec_fn=_die_with_parent(),
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise ServiceNotReady(
                    f"{self.name} exited with status {self._proc.returncode}\n{self.log_tail()}"
                )
            if self.is_ready():
                return
            if time.monotonic() > deadline:
                self.kill()
                raise ServiceNotReady(
                    f"{self.name} not ready after {self.startup_timeout:.0f}s\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), SIGKILL after stop_timeout."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGCONT)  # a frozen process cannot handle SIGTERM
            proc.terminate()
            try:
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._proc = None
        self.cleanup_after_exit()  # also after kill(), which leaves it to a restart

    def kill(self) -> None:
        """Crash the server: SIGKILL, no chance to flush anything."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        self._proc = None

    def freeze(self) -> None:
        """SIGSTOP: the sockets stay open but nothing answers."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGCONT)

    def close(self) -> None:
        """Stop the server and delete its working directory if we created it."""
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_SESSION_SERVICES = pytest.StashKey[dict[str, "ServiceProcess | ServiceNotReady"]]()


def session_service(config: pytest.Config, name: str, start: Callable[[], S], kind: type[S]) -> S:
    """The one `name` server of this pytest run: started by `start()` on first use, stopped
    when the run ends (config.add_cleanup). A server found dead is started again on its
    ports and data; one that failed to start is not retried for every test."""
    services = config.stash.setdefault(_SESSION_SERVICES, {})
    found = services.get(name)
    if isinstance(found, ServiceNotReady):
        raise ServiceNotReady(f"{name} failed to start earlier in this session: {found}")
    if found is None:
        try:
            found = start()
        except ServiceNotReady as exc:
            services[name] = exc
            raise
        services[name] = found
        config.add_cleanup(found.close)
    assert isinstance(found, kind)
    if not found.running:
        found.start()
    return found


def run_until_interrupted(server: ServiceProcess, describe: str) -> None:
    """`python -m tests.support.<server>`: run one for manual use until Ctrl-C."""
    with server:
        print(f"{describe}\nlogs and data: {server.workdir}\nCtrl-C stops it.", flush=True)
        try:
            while server.running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
