"""Request rate limits per access key and per source IP (--rate-limit-key, --rate-limit-ip).

Each (kind, identity) has a token bucket (token_bucket.py). Without Redis the buckets live
in this process (each worker process and each replica has its own: the configured rate is
then per process). With --redis-url every replica takes its tokens from one bucket in
Redis: TAKE_LUA refills and takes atomically on Redis's own clock (replicas' clocks may
differ; Redis's is one). When Redis fails, the process falls back to its own buckets
rather than refusing or waving everything through, and tries Redis again on the next
request: the gateway stays correct with Redis down, as DESIGN.md asks.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from gateway.limits.token_bucket import Rate, TokenBucket
from gateway.settings import Settings

log = logging.getLogger(__name__)

Clock = Callable[[], float]
# Buckets kept per process at most; the least recently used full ones go first. Bounded so
# that a flood of source addresses cannot grow the process without limit.
LOCAL_BUCKETS = 100_000
_ERROR_LOG_INTERVAL = 30.0

# KEYS[1] the bucket; ARGV rps, burst. Returns 0 (granted) or the milliseconds until a
# token (at least 1). Same rule as TokenBucket.take; state as two hash fields, the key
# expires once the bucket would be full again (a full bucket and no key are the same).
TAKE_LUA = """
local rps = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 't', 's')
local tokens = tonumber(state[1])
local stamp = tonumber(state[2])
if tokens == nil or stamp == nil then
  tokens = burst
  stamp = now
end
if now > stamp then
  tokens = math.min(burst, tokens + (now - stamp) * rps)
  stamp = now
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.max(1, math.ceil((1 - tokens) / rps * 1000))
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 's', tostring(stamp))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rps * 1000) + 1000)
return wait
"""


class LocalBuckets:
    """Token buckets in this process, bounded to LOCAL_BUCKETS entries."""

    def __init__(self, clock: Clock = time.monotonic, capacity: int = LOCAL_BUCKETS) -> None:
        self.clock = clock
        self.capacity = capacity
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, name: str, rate: Rate) -> float:
        now = self.clock()
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = TokenBucket.full(rate, now)
            if len(self._buckets) > self.capacity:
                self._evict(rate, now)
        else:
            self._buckets.move_to_end(name)
        return bucket.take(rate, now)

    def _evict(self, rate: Rate, now: float) -> None:
        # The oldest entry goes even when not full: at capacity, memory wins over a bucket.
        oldest, bucket = next(iter(self._buckets.items()))
        del self._buckets[oldest]
        if not bucket.idle_since(rate, now):
            log.debug("rate limiter at capacity: dropped the bucket of %s", oldest)

    def __len__(self) -> int:
        return len(self._buckets)


class RedisBuckets:
    """Token buckets shared by every replica, in Redis (see the module docstring)."""

    def __init__(self, url: str, *, namespace: str, timeout: float) -> None:
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.prefix = f"{namespace}:rl:"
        self._client: Any = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._script = self._client.register_script(TAKE_LUA)

    async def take(self, name: str, rate: Rate) -> float:
        """As LocalBuckets.take; raises redis's RedisError (or OSError) when Redis fails."""
        wait_ms = await self._script(keys=[self.prefix + name], args=[rate.rps, rate.burst])
        return int(wait_ms) / 1000.0

    async def close(self) -> None:
        await self._client.aclose()


class RateLimiter:
    """The limits a request must pass: `retry_after(kind, identity)` is 0.0 when it may go
    on, else the seconds before it could (dispatch answers 503 SlowDown with Retry-After)."""

    def __init__(
        self,
        rates: dict[str, Rate],
        *,
        shared: RedisBuckets | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.rates = rates
        self.local = LocalBuckets(clock)
        self.shared = shared
        self._last_error_log = -math.inf

    def limits(self, kind: str) -> bool:
        return kind in self.rates

    async def retry_after(self, kind: str, identity: str) -> float:
        rate = self.rates.get(kind)
        if rate is None:
            return 0.0
        name = f"{kind}:{identity}"
        if self.shared is not None:
            from redis.exceptions import RedisError

            try:
                return await self.shared.take(name, rate)
            except (RedisError, OSError) as exc:
                now = time.monotonic()
                if now - self._last_error_log > _ERROR_LOG_INTERVAL:
                    self._last_error_log = now
                    log.warning("rate limits: Redis failed (%s); limiting per process", exc)
        return self.local.take(name, rate)

    async def close(self) -> None:
        if self.shared is not None:
            await self.shared.close()


def rate_limiter(settings: Settings) -> RateLimiter | None:
    """The limiter --rate-limit-key/--rate-limit-ip ask for (None: neither is set)."""
    rates = {
        kind: Rate.parse(text)
        for kind, text in (("key", settings.rate_limit_key), ("ip", settings.rate_limit_ip))
        if text is not None
    }
    if not rates:
        return None
    shared = None
    if settings.redis_url:
        from gateway.meta.redis_cache import split_redis_url

        url, namespace = split_redis_url(settings.redis_url)
        shared = RedisBuckets(url, namespace=namespace, timeout=settings.redis_timeout)
    return RateLimiter(rates, shared=shared)
