"""Redis for tests: the shared server at KLOUDVAULT_TEST_REDIS_URL, or a private one.

Tests that only need *a* Redis use the shared server with a namespace of their own
(`?prefix=` in the gateway's URL, `namespace=` for RedisCoherence) and delete their keys
afterwards. Tests that kill Redis start a private `redis-server` (RedisServer) on a free
port, without persistence, as the cache must run (a restart comes back empty).
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Sequence

import redis

from tests.conftest import require_service
from tests.support.ports import free_port
from tests.support.services import ServiceProcess

REDIS_URL_ENV = "KLOUDVAULT_TEST_REDIS_URL"
DEFAULT_URL = "redis://127.0.0.1:6379/0"


def shared_redis_url() -> str:
    """The shared server's URL; skips (or fails, services policy) if it does not answer."""
    url = os.environ.get(REDIS_URL_ENV) or DEFAULT_URL
    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError) as exc:
        require_service("redis", f"{url}: {type(exc).__name__}: {exc}")
    return url


def delete_namespace(url: str, namespace: str) -> None:
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match="{" + namespace + "}:*", count=1000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i : i + 500])
    finally:
        client.close()


class RedisServer(ServiceProcess):
    """A private redis-server on a free loopback port, no persistence; kill()/start() keep
    the port."""

    name = "redis"
    startup_timeout = 20.0

    def __init__(self) -> None:
        super().__init__()
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> Sequence[str]:
        binary = shutil.which("redis-server")
        if binary is None:
            require_service("redis", "no redis-server binary on PATH")
        return [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
        ]

    def is_ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False
