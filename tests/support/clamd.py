"""A private clamd for the malware scan's tests (Debian's clamav-daemon; no freshclam).

clamd refuses to start on an empty database, and the tests have no internet to fetch one:
the server's DatabaseDirectory holds one signature file written here, `kloudvault.ndb`, an
extended (body) signature matching the EICAR test string anywhere in a file (ClamAV
reports it as "KloudVault.Test.EICAR.UNOFFICIAL": a signature outside its official
databases). With nothing else to load, clamd is ready in a fraction of a second.

It listens on a free loopback TCP port and on a unix socket in its working directory,
with a small StreamMaxLength (STREAM_MAX bytes) so that the size limit is cheap to reach.
`session_clamd(config)` is the one server of a pytest run; a test that stops it has it
started again, on the same port and socket, by the next `session_clamd` call.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.support.ports import free_port
from tests.support.services import ServiceProcess, run_until_interrupted, session_service

CLAMD_BIN_ENV = "KLOUDVAULT_CLAMD_BIN"
# The EICAR anti-malware test file (https://www.eicar.org/download-anti-malware-testfile/),
# 68 bytes that every scanner agrees to call infected and that do nothing.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "KloudVault.Test.EICAR"
FOUND_AS = f"{SIGNATURE}.UNOFFICIAL"  # clamd's name for a signature of our own database
STREAM_MAX = 6 * 1024 * 1024  # above one 5 MiB multipart part plus a small last one
MISSING = f"no clamd binary (apt install clamav-daemon, or set {CLAMD_BIN_ENV})"


def find_clamd() -> str | None:
    explicit = os.environ.get(CLAMD_BIN_ENV)
    if explicit:
        return explicit
    return shutil.which("clamd") or next(
        (p for p in ("/usr/sbin/clamd", "/usr/local/sbin/clamd") if os.access(p, os.X_OK)), None
    )


class Clamd(ServiceProcess):
    name = "clamd"
    startup_timeout = 30.0

    def __init__(self, workdir: Path | None = None) -> None:
        super().__init__(workdir)
        self.port = free_port()
        self.socket_path = self.workdir / "clamd.sock"
        database = self.workdir / "db"
        database.mkdir(exist_ok=True)
        # .ndb: Name:TargetType:Offset:HexSignature (type 0: any file, offset *: anywhere).
        (database / "kloudvault.ndb").write_text(f"{SIGNATURE}:0:*:{EICAR.hex()}\n")
        self.config = self.workdir / "clamd.conf"
        self.config.write_text(
            "\n".join(
                (
                    "Foreground yes",
                    f"DatabaseDirectory {database}",
                    f"TemporaryDirectory {self.workdir}",
                    "TCPAddr 127.0.0.1",
                    f"TCPSocket {self.port}",
                    f"LocalSocket {self.socket_path}",
                    f"StreamMaxLength {STREAM_MAX}",
                    "MaxThreads 4",
                    "SelfCheck 0",
                    "LogTime yes",
                    "",
                )
            )
        )

    @property
    def tcp_url(self) -> str:
        return f"clamd://127.0.0.1:{self.port}"

    @property
    def unix_url(self) -> str:
        return f"clamd://{self.socket_path}"

    def command(self) -> Sequence[str]:
        binary = find_clamd()
        if binary is None:
            require_service("clamd", MISSING)
        return [binary, "--config-file", str(self.config)]

    def is_ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"zPING\0")
                return sock.recv(16).startswith(b"PONG")
        except OSError:
            return False

    def cleanup_after_exit(self) -> None:
        self.socket_path.unlink(missing_ok=True)


def start_clamd(workdir: Path | None = None) -> Clamd:
    """A started clamd, or skip/fail the test (tests/conftest.py) if there is none."""
    if find_clamd() is None:
        require_service("clamd", MISSING)
    server = Clamd(workdir)
    try:
        server.start()
    except BaseException:
        server.close()
        raise
    return server


def session_clamd(config: pytest.Config) -> Clamd:
    """The clamd shared by this pytest run (started again if a test stopped it)."""
    return session_service(config, "clamd", start_clamd, Clamd)


if __name__ == "__main__":
    server = Clamd()
    run_until_interrupted(server, f"clamd at {server.tcp_url} and {server.unix_url}")
