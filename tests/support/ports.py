"""Free loopback ports for the servers that tests start.

`free_port()` asks the kernel for an unused port. `free_port_pair(offset)` finds a port P
such that P and P + offset are both free: SeaweedFS binds every HTTP port + 10000 for its
gRPC twin. Pair ports are drawn at random from below the kernel's ephemeral range when they
fit there, so an outgoing connection cannot grab a port between our check and the server's
bind, nor while a test has the server killed and is about to restart it on the same ports.

Ports handed out by this process are remembered and never handed out twice, so a server
that asks for several pairs does not get P2 == P1 + offset.
"""

from __future__ import annotations

import random
import socket
import threading
from pathlib import Path

_lock = threading.Lock()
_handed_out: set[int] = set()


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
            if port not in _handed_out:
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
                if all(_is_free(p) for p in pair):
                    _handed_out.update(pair)
                    return port
    raise RuntimeError(f"no free loopback port pair (P, P+{offset})")
