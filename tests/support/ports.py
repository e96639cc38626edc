"""Free loopback ports for the servers that tests start.

`free_port()` asks the kernel for an unused port. `free_port_pair(offset)` finds a port P
such that P and P + offset are both free: SeaweedFS binds every HTTP port + 10000 for its
gRPC twin. Pair ports are drawn at random from below the kernel's ephemeral range when they
fit there, so an outgoing connection cannot grab a port between our check and the server's
bind, nor while a test has the server killed and is about to restart it on the same ports.

Ports handed out by this process are remembered and never handed out twice, so a server
that asks for several pairs does not get P2 == P1 + offset. Ports are also claimed for the
whole machine: each is a one-byte record lock (at offset = port) on one shared lock file,
held until this process exits. Parallel test processes (pytest-xdist workers, another
checkout's run) thus never hand out the same port, not even one whose server a test has
killed and is about to restart, and a crashed process's claims vanish with it.
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
import threading
from pathlib import Path

_lock = threading.Lock()
_handed_out: set[int] = set()
# Opened once and never closed: closing any descriptor of the file would drop every record
# lock this process holds on it (POSIX lock semantics).
_claims_fd: int | None = None
CLAIMS_FILE = Path(tempfile.gettempdir()) / "kloudvault-test-ports.lock"


def _claim(port: int) -> bool:
    """Claim `port` for this process, machine-wide; False if another process holds it."""
    global _claims_fd
    if _claims_fd is None:
        _claims_fd = os.open(CLAIMS_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.lockf(_claims_fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, port)
    except OSError:
        return False
    return True


def _release(port: int) -> None:
    if _claims_fd is not None:
        fcntl.lockf(_claims_fd, fcntl.LOCK_UN, 1, port)


def _claim_all(ports: tuple[int, ...]) -> bool:
    """Claim every port of `ports` or none of them."""
    claimed: list[int] = []
    for port in ports:
        if not _claim(port):
            for held in claimed:
                _release(held)
            return False
        claimed.append(port)
    return True


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # the Linux default


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with _lock:
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind(("127.0.0.1", 0))
                port: int = sock.getsockname()[1]
            if port not in _handed_out and _claim(port):
                _handed_out.add(port)
                return port
    raise RuntimeError("no free loopback port")


def free_port_pair(offset: int = 10000, *, below: int = 55535) -> int:
    """A port P < `below` such that P and P + `offset` are both free on 127.0.0.1."""
    ephemeral_low, _ = _ephemeral_range()
    # Prefer P and P + offset both under the ephemeral range; else anything under `below`.
    quiet_high = min(below, ephemeral_low - offset)
    ranges = [(10000, quiet_high)] if quiet_high > 11000 else []
    ranges.append((1024, min(below, 65535 - offset)))
    with _lock:
        for low, high in ranges:
            for _ in range(200):
                port = random.randrange(low, high)
                pair = (port, port + offset)
                if any(p in _handed_out for p in pair):
                    continue
                if all(_is_free(p) for p in pair) and _claim_all(pair):
                    _handed_out.update(pair)
                    return port
    raise RuntimeError(f"no free loopback port pair (P, P+{offset})")
