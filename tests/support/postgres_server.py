"""A throwaway PostgreSQL cluster of a test's own, for tests that restart or crash it.

The machine's PostgreSQL (tests/support/postgres.py, 127.0.0.1:5432) is shared by every
test run and every developer on the machine: no test may stop it. A test that needs
PostgreSQL to go away makes its own cluster instead: `initdb` in a temporary directory,
`postgres` on a free loopback port (no Unix socket), from the server binaries in
KLOUDVAULT_POSTGRES_BIN (default: Debian's /usr/lib/postgresql/15/bin). Missing binaries
go through the services policy (tests/conftest.py): skip, or fail under
KLOUDVAULT_REQUIRE_SERVICES=1.

PostgreSQL refuses to run as root; run as root (a CI container), the cluster belongs to
the `postgres` system user and its programs run under it (setpriv, which execs: the
process the test holds is the postmaster itself).

fsync is off: the tests kill the server process, not the machine, and whatever a commit
wrote to the WAL is in the kernel's page cache either way.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tests.conftest import require_service
from tests.support.ports import free_port
from tests.support.services import ServiceProcess

POSTGRES_BIN_ENV = "KLOUDVAULT_POSTGRES_BIN"
DEFAULT_BIN = "/usr/lib/postgresql/15/bin"
OWNER = "postgres"  # the system user the cluster runs as when we are root


class PostgresServer(ServiceProcess):
    """A private PostgreSQL cluster; `crash()` shuts it down at once (SIGQUIT, "immediate
    shutdown": no checkpoint, WAL recovery at the next start), `start()` brings it back on
    the same port and data."""

    name = "postgres"
    startup_timeout = 60.0

    def __init__(self) -> None:
        self.bin = Path(os.environ.get(POSTGRES_BIN_ENV) or DEFAULT_BIN)
        missing = [p for p in ("initdb", "postgres", "pg_isready") if not (self.bin / p).is_file()]
        if missing:
            require_service("postgres-server", f"no {', '.join(missing)} in {self.bin}")
        self._as_owner: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(OWNER)
            except KeyError:
                require_service("postgres-server", f"running as root and no {OWNER!r} user")
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                require_service("postgres-server", "running as root and no setpriv")
            self._as_owner = [setpriv, f"--reuid={OWNER}", f"--regid={OWNER}", "--init-groups"]
        super().__init__()
        self.port = free_port()
        self.data = self.workdir / "data"
        if self._as_owner:
            shutil.chown(self.workdir, OWNER, OWNER)
        self._initdb()

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _initdb(self) -> None:
        done = subprocess.run(
            [
                *self._as_owner,
                str(self.bin / "initdb"),
                "--pgdata",
                str(self.data),
                "--username=postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            out = (done.stdout + done.stderr).decode(errors="replace")
            raise RuntimeError(f"initdb failed ({done.returncode}):\n{out}")

    def command(self) -> Sequence[str]:
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": "",
            "fsync": "off",
            "max_connections": "60",
            "log_min_messages": "warning",
        }
        flags = [arg for name, value in settings.items() for arg in ("-c", f"{name}={value}")]
        return [
            *self._as_owner,
            str(self.bin / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            *flags,
        ]

    def is_ready(self) -> bool:
        probe = [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
        return subprocess.run([*probe, "-t", "1"], check=False).returncode == 0

    def crash(self) -> None:
        """Immediate shutdown: every backend quits now, clients see their connections
        drop mid-transaction; the next start() replays the WAL."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self._proc = None

    def stop(self) -> None:
        # SIGINT is PostgreSQL's "fast shutdown" (clients disconnected); the base class's
        # SIGTERM is a "smart" one that would wait for every client to leave.
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        super().stop()
