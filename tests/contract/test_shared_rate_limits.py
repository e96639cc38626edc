"""gateway/limits/rate.py on a real Redis: two limiters (two replicas) draw from one token
bucket through TAKE_LUA, and a limiter whose Redis is unreachable limits per process."""

from __future__ import annotations

import asyncio
import secrets

from gateway.limits.rate import RateLimiter, RedisBuckets
from gateway.limits.token_bucket import Rate
from tests.support.ports import free_port
from tests.support.redis import delete_namespace, shared_redis_url


def test_replicas_share_one_bucket(aio: asyncio.Runner) -> None:
    url = shared_redis_url()
    namespace = f"kvt-rl-{secrets.token_hex(4)}"
    rates = {"key": Rate(rps=0.001, burst=5)}

    async def body() -> None:
        replicas = [
            RateLimiter(rates, shared=RedisBuckets(url, namespace=namespace, timeout=2))
            for _ in range(2)
        ]
        try:
            waits = [await replicas[i % 2].retry_after("key", "AKIA1") for i in range(7)]
            assert waits[:5] == [0.0] * 5
            assert all(w > 900 for w in waits[5:])  # ~1000 s for one token at 0.001/s
            assert await replicas[1].retry_after("key", "AKIA2") == 0.0
            assert await replicas[0].retry_after("ip", "10.0.0.1") == 0.0  # no such limit
            assert len(replicas[0].local) == 0  # nothing fell back to the process
        finally:
            for r in replicas:
                await r.close()

    try:
        aio.run(body())
    finally:
        delete_namespace(url, namespace)


def test_redis_down_limits_per_process(aio: asyncio.Runner) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"

    async def body() -> None:
        limiter = RateLimiter(
            {"ip": Rate(rps=0.001, burst=2)},
            shared=RedisBuckets(dead, namespace="kv", timeout=0.5),
        )
        try:
            waits = [await limiter.retry_after("ip", "192.0.2.1") for _ in range(3)]
            assert waits[:2] == [0.0, 0.0] and waits[2] > 0
        finally:
            await limiter.close()

    aio.run(body())
