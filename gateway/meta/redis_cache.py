"""A Redis cache that every replica shares and none can make stale: the coherence protocol.

gateway/meta/cached.py decides what is cached; this module makes sure that once a write
is acknowledged, no replica reads the value it replaced from Redis, whatever Redis does.

Redis keys (one hash tag, so each script's keys share a cluster slot):

    {ns}:epoch        random token; an entry is valid only in the epoch it was filled in
    {ns}:members      sorted set: replica id -> lease expiry (Redis TIME, seconds)
    {ns}:g:<entry>    the entry's generation: a random token every write replaces
    {ns}:v:<entry>    "<epoch>|<generation>|<value JSON>"
    {ns}:w:<entry>    writers of the entry between their two invalidations

Read (READ_LUA, one round trip): a hit needs the epoch and the generation the value was
filled under to be current. A miss returns both; the reader then reads the MetaStore and
fills with FILL_LUA, a compare-and-set on them: a slow reader whose read of the MetaStore
predates a write finds the generation changed and stores nothing.

Write (cached.py's _write): invalidate(entries) -> MetaStore write -> invalidate(entries),
then acknowledge. Each invalidation replaces the generation and deletes the value; the
first also counts the writer in w:<entry> (readers bypass an entry while it is non-zero),
the second uncounts it. So a reader never fills a value read before the commit after the
second invalidation, and a writer that dies between commit and its second invalidation
leaves the entry bypassed (w: expires with the writer's lease, see below).

Failures. Redis may be down, slow, flushed, restarted, or reachable by some replicas and
not others. Every Redis error, timeout or restart (new run_id seen by a new connection)
makes this replica *unhealthy*: it stops reading and writing Redis and serves everything
from the MetaStore. A background task rejoins when Redis answers again: REJOIN_LUA sets
a new random epoch (every entry filled before is void: whatever writes this replica made
meanwhile are covered) and registers the replica's lease. An entry missing from Redis, a
flushed Redis or a new epoch are only misses.

The hard case is a writer that cannot reach Redis while other replicas can: its write
commits, its invalidation fails, and others would go on reading the old value. Leases
close it. Each healthy replica holds a lease in {ns}:members, refreshed every
lease/3 seconds; readers bypass the whole cache while any member's lease has expired
(a dead or cut-off replica may have written without invalidating). A writer whose
invalidation failed acknowledges only once its own lease has certainly expired: every
lease call carries a deadline (LEASE_LUA refuses to run late), so the lease cannot outlive
`sent + timeout + lease` on the writer's clock. Readers then bypass until that replica
rejoins, which bumps the epoch. A member expired for longer than `dead_after` (a replica
killed for good) is dropped by the others, with a new epoch.

A replica that is not a live member cannot be seen by the others through Redis: one whose
first join failed, or one dropped after `dead_after` while cut off from Redis (alive, and
writing to the database). So each replica also keeps a row in the database (the roster:
table cache_replicas, rewritten every lease/3 seconds whether or not Redis answers), and
trusts the cache only for a short while (trust_window) after a check that found every
replica of the roster live in {ns}:members; when that trust has lapsed (a replica was
missing, or our checks stalled), the check that restores it sets a new epoch first, since
a replica we could not see may have written meanwhile. The database is where every writer must
reach to write at all, so no writer escapes it. A replica whose join fails at start-up
waits out trust_window before serving, so every other replica's next check sees it.
(Without a roster, i.e. over SQLite, only the leases apply.)

Run Redis without persistence (a restart must come back empty; a restored snapshot is
caught by the run_id check as well) and keep it private: it holds secret keys.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gateway.jobs.leader import cancel_and_wait

log = logging.getLogger(__name__)

# KEYS: epoch, members, g, v, w   ARGV: me, fresh generation, ttl
READ_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local epoch = redis.call('GET', KEYS[1])
if not epoch then return {'rejoin'} end
local mine = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not mine then return {'rejoin'} end
if tonumber(mine) <= now then return {'bypass'} end
if #redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1) > 0 then
  return {'bypass'}
end
if redis.call('EXISTS', KEYS[5]) == 1 then return {'bypass'} end
local gen = redis.call('GET', KEYS[3])
if not gen then
  gen = ARGV[2]
  redis.call('SET', KEYS[3], gen, 'EX', ARGV[3])
end
local value = redis.call('GET', KEYS[4])
local head = epoch .. '|' .. gen .. '|'
if value and string.sub(value, 1, #head) == head then
  return {'hit', string.sub(value, #head + 1)}
end
return {'miss', epoch, gen}
"""

# KEYS: epoch, members, g, v, w   ARGV: me, epoch, generation, value, ttl
FILL_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end
if redis.call('GET', KEYS[3]) ~= ARGV[3] then return 0 end
local mine = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not mine or tonumber(mine) <= now then return 0 end
if #redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1) > 0 then return 0 end
if redis.call('EXISTS', KEYS[5]) == 1 then return 0 end
redis.call('SET', KEYS[4], ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[4], 'EX', ARGV[5])
redis.call('EXPIRE', KEYS[3], ARGV[5])
return 1
"""

# KEYS: (g, v, w) per entry   ARGV: a fresh generation per entry, then ttl, writer delta
INVALIDATE_LUA = """
local n = #KEYS / 3
local ttl = ARGV[n + 1]
local delta = tonumber(ARGV[n + 2])
for i = 1, n do
  redis.call('SET', KEYS[3 * i - 2], ARGV[i], 'EX', ttl)
  redis.call('DEL', KEYS[3 * i - 1])
  if delta > 0 then
    redis.call('INCR', KEYS[3 * i])
    redis.call('EXPIRE', KEYS[3 * i], ttl)
  elseif delta < 0 then
    if redis.call('DECR', KEYS[3 * i]) <= 0 then redis.call('DEL', KEYS[3 * i]) end
  end
end
return n
"""

# KEYS: epoch, members   ARGV: me, lease, dead_after, deadline, new epoch, rejoin (1/0)
# Returns {status, redis time, run_id}. Refuses to run past the deadline (see docstring);
# a rejoin sets a new epoch; any call drops members expired for longer than dead_after.
LEASE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
local stamp = string.format('%.6f', now)
if now > tonumber(ARGV[4]) then return {'late', stamp, run_id} end
if ARGV[6] == '1' then
  redis.call('SET', KEYS[1], ARGV[5])
elseif not redis.call('GET', KEYS[1]) or not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  return {'rejoin', stamp, run_id}
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
local cutoff = now - tonumber(ARGV[3])
if #redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', cutoff, 'LIMIT', 0, 1) > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', cutoff)
  redis.call('SET', KEYS[1], ARGV[5])
end
return {'ok', stamp, run_id}
"""


@runtime_checkable
class Roster(Protocol):
    """The replicas using the cache, kept where every writer must reach (the database)."""

    async def cache_replica_seen(self, replica: str, now: float) -> None: ...

    async def cache_replicas(self, since: float) -> list[str]: ...

    async def cache_replica_gone(self, replica: str) -> None: ...


class CacheUnavailable(Exception):
    """Redis cannot be used right now; the caller serves from the MetaStore."""


@dataclass(frozen=True)
class Miss:
    """A miss the caller may fill (with fill()) after reading the MetaStore."""

    entry: str
    epoch: str
    generation: str
    session: int


class RedisCoherence:
    """The protocol of the module docstring, for one replica."""

    def __init__(
        self,
        url: str,
        *,
        namespace: str = "kv",
        timeout: float = 0.5,
        ttl: int = 300,
        lease: float = 3.0,
        dead_after: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.prefix = "{" + namespace + "}:"
        self.timeout = timeout
        self.ttl = ttl
        self.lease = lease
        self.dead_after = dead_after
        self.clock = clock
        self.me = f"{secrets.token_hex(6)}"
        self.period = lease / 3
        self.trust_window = 2.5 * self.period
        self.roster: Roster | None = None
        self._trusted_until = 0.0  # the roster check: every replica was a live member
        self.healthy = False
        self.session = 0  # changes whenever this replica stops trusting what it read
        self._run_id: str | None = None
        self._offset = 0.0  # Redis TIME minus our wall clock, from the last lease call
        self._lease_bound = 0.0  # monotonic time after which our lease has surely expired
        self._client: aioredis.Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_error_log = 0.0
        self._scripts: dict[str, Any] = {}

    # -- keys -------------------------------------------------------------------------------
    def _keys(self, entry: str) -> list[str]:
        p = self.prefix
        return [p + "epoch", p + "members", p + "g:" + entry, p + "v:" + entry, p + "w:" + entry]

    # -- life -------------------------------------------------------------------------------
    async def open(self) -> None:
        self._client = aioredis.Redis.from_url(
            self.url,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
            retry=Retry(NoBackoff(), 0),  # errors reach us: each one may hide a restart
            redis_connect_func=self._on_connect,
            decode_responses=True,
        )
        for name, lua in (
            ("read", READ_LUA),
            ("fill", FILL_LUA),
            ("invalidate", INVALIDATE_LUA),
            ("lease", LEASE_LUA),
        ):
            self._scripts[name] = self._client.register_script(lua)
        await self._announce()  # in the roster before anything else: others see us
        if await self._rejoin():
            await self._check_roster()
        elif self.roster is not None:
            # Not a member: our writes cannot invalidate. Wait until every replica's trust
            # in its last roster check (which may predate our row) has run out.
            await asyncio.sleep(self.trust_window)
        self._task = asyncio.get_running_loop().create_task(self._heartbeat(), name="redis-lease")

    async def close(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        client, self._client = self._client, None
        if client is None:
            return
        if self.healthy:
            try:  # leave cleanly: a lease left to expire would make others bypass a while
                await client.zrem(self.prefix + "members", self.me)
            except (RedisError, OSError):
                pass
        self.healthy = False
        await client.aclose()
        if self.roster is not None:
            try:
                await self.roster.cache_replica_gone(self.me)
            except Exception as exc:  # the row ages out of the roster anyway
                log.warning("redis cache: cannot leave the roster: %r", exc)

    async def _on_connect(self, conn: AbstractConnection) -> None:
        """Every new connection: a Redis with another run_id has restarted (and maybe
        restored an old snapshot): stop trusting it until we rejoin."""
        await conn.on_connect()
        await conn.send_command("INFO", "server")
        info = await conn.read_response()
        run_id = _run_id(info)
        if self._run_id is not None and run_id != self._run_id:
            self._fail(f"Redis restarted (run_id {self._run_id} -> {run_id})")

    # -- health -----------------------------------------------------------------------------
    def _fail(self, why: str) -> None:
        if self.healthy:
            log.warning("redis cache: %s; serving from the metadata store until it is back", why)
        else:
            now = self.clock()
            if now - self._last_error_log > 10:
                self._last_error_log = now
                log.warning("redis cache still unavailable: %s", why)
        self.healthy = False
        self.session += 1

    async def _lease_call(self, rejoin: bool) -> str:
        """LEASE_LUA with a deadline; returns its status. Raises on Redis errors."""
        client = self._client
        if client is None:
            raise CacheUnavailable("closed")
        # A rejoin asks for Redis's clock first: while Redis is down that fails before
        # any lease call is on the wire, so an outage does not move _lease_bound.
        if rejoin or self._run_id is None:
            (sec, usec) = await client.time()
            self._offset = sec + usec / 1e6 - time.time()
        # A lease call that runs, however late, extends our lease to deadline + lease at
        # most, i.e. to sent + timeout + lease on our clock (LEASE_LUA refuses to run past
        # the deadline): a writer whose invalidation failed waits for this bound.
        sent = self.clock()
        deadline = time.time() + self._offset + self.timeout
        self._lease_bound = max(self._lease_bound, sent + self.timeout + self.lease + 0.2)
        status, stamp, run_id = await self._scripts["lease"](
            keys=[self.prefix + "epoch", self.prefix + "members"],
            args=[
                self.me,
                self.lease,
                self.dead_after,
                f"{deadline:.6f}",
                secrets.token_hex(8),
                1 if rejoin else 0,
            ],
        )
        self._offset = float(stamp) - time.time()
        if self._run_id is not None and run_id != self._run_id and not rejoin:
            self._fail(f"Redis restarted (run_id {self._run_id} -> {run_id})")
            return "rejoin"
        if status == "ok" and rejoin:
            self._run_id = run_id
        return str(status)

    async def _rejoin(self) -> bool:
        try:
            status = await self._lease_call(rejoin=True)
        except (RedisError, OSError, CacheUnavailable) as exc:
            self._fail(f"{type(exc).__name__}: {exc}")
            return False
        if status != "ok":
            self._fail(f"rejoin {status}")
            return False
        if not self.healthy:
            log.info("redis cache: joined as %s (new epoch)", self.me)
        self.healthy = True
        self.session += 1
        return True

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            try:
                await self.beat()
            except Exception as exc:  # keep beating: a dead heartbeat would stall the cache
                log.exception("redis cache: heartbeat failed")
                self._fail(f"heartbeat: {exc!r}")

    async def beat(self) -> None:
        """One round: roster row, lease (or rejoin), roster check."""
        await self._announce()
        if not self.healthy:
            if await self._rejoin():
                await self._check_roster()
            return
        try:
            status = await self._lease_call(rejoin=False)
        except (RedisError, OSError, CacheUnavailable) as exc:
            self._fail(f"lease refresh: {type(exc).__name__}: {exc}")
            return
        if status != "ok":
            self._fail(f"lease refresh: {status}")
            if not await self._rejoin():
                return
        await self._check_roster()

    async def _announce(self) -> None:
        if self.roster is None:
            return
        try:
            await self.roster.cache_replica_seen(self.me, time.time())
        except Exception as exc:  # the database is down: we cannot write either
            log.warning("redis cache: cannot update the roster: %r", exc)

    async def _check_roster(self) -> None:
        """Trust the cache for trust_window if every replica of the roster is a live
        member (see the module docstring)."""
        if self.roster is None or self._client is None:
            return
        try:
            replicas = await self.roster.cache_replicas(time.time() - self.dead_after)
            live = await self._client.zrangebyscore(
                self.prefix + "members", time.time() + self._offset, "+inf"
            )
        except Exception as exc:
            log.warning("redis cache: roster check failed: %r", exc)
            return
        missing = set(replicas) - set(live)
        if missing:
            if self._trusted_until:
                log.warning(
                    "redis cache: replicas %s have no live lease; bypassing the cache",
                    ", ".join(sorted(missing)),
                )
            self._trusted_until = 0.0
            return
        if self.clock() >= self._trusted_until:
            # Trust had lapsed: a replica we could not see may have written without
            # invalidating meanwhile (and left again). Void every entry first.
            if not await self.flush():
                return
            log.info("redis cache: every replica is a live member; using the cache")
        self._trusted_until = self.clock() + self.trust_window

    def _usable(self) -> bool:
        if self._client is None or not self.healthy:
            return False
        return self.roster is None or self.clock() < self._trusted_until

    # -- reads ------------------------------------------------------------------------------
    async def read(self, entry: str) -> str | Miss | None:
        """The cached value (JSON text), a Miss to fill, or None: do not use the cache."""
        session = self.session
        if not self._usable():
            return None
        try:
            reply = await self._scripts["read"](
                keys=self._keys(entry), args=[self.me, secrets.token_hex(8), self.ttl]
            )
        except (RedisError, OSError) as exc:
            self._fail(f"{type(exc).__name__}: {exc}")
            return None
        if session != self.session or not self.healthy:
            return None  # something happened meanwhile (a restart seen): do not trust it
        kind = reply[0]
        if kind == "hit":
            return str(reply[1])
        if kind == "miss":
            return Miss(entry, reply[1], reply[2], session)
        if kind == "rejoin":
            self._fail("cache state missing (flushed, or our lease dropped)")
        return None

    async def fill(self, miss: Miss, value: str) -> None:
        if not self._usable() or miss.session != self.session:
            return
        try:
            await self._scripts["fill"](
                keys=self._keys(miss.entry),
                args=[self.me, miss.epoch, miss.generation, value, self.ttl],
            )
        except (RedisError, OSError) as exc:
            self._fail(f"{type(exc).__name__}: {exc}")

    # -- writes -----------------------------------------------------------------------------
    async def invalidate(self, entries: Sequence[str], *, writers: int) -> bool:
        """New generations for `entries`, values deleted, writer count += `writers`.

        False if it could not be done (Redis unusable): the caller must not acknowledge
        its write before settle().
        """
        if self._client is None or not self.healthy:
            return False
        keys: list[str] = []
        for entry in entries:
            keys += self._keys(entry)[2:]
        args: list[Any] = [secrets.token_hex(8) for _ in entries]
        args += [self.ttl, writers]
        try:
            await self._scripts["invalidate"](keys=keys, args=args)
        except (RedisError, OSError) as exc:
            self._fail(f"invalidation failed: {type(exc).__name__}: {exc}")
            return False
        return True

    async def flush(self) -> bool:
        """Void every entry (a new epoch), for writes whose entries cannot be named."""
        if self._client is None or not self.healthy:
            return False
        try:
            await self._client.set(self.prefix + "epoch", secrets.token_hex(8))
        except (RedisError, OSError) as exc:
            self._fail(f"flush failed: {type(exc).__name__}: {exc}")
            return False
        return True

    async def settle(self) -> None:
        """After a write whose invalidation failed: wait until our lease has expired, so
        every replica bypasses the cache before the write is acknowledged."""
        wait = self._lease_bound - self.clock()
        if wait > 0:
            log.info("redis cache: holding an acknowledgement %.1fs for our lease to lapse", wait)
            await asyncio.sleep(wait)


def split_redis_url(url: str) -> tuple[str, str]:
    """(URL for redis-py, key namespace): our `?prefix=NAME` (default "kv") taken out."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    namespace = next((v for k, v in query if k == "prefix"), "kv") or "kv"
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit(parts._replace(query=rest)), namespace


def _run_id(info: Any) -> str | None:
    if isinstance(info, dict):
        value = info.get("run_id")
        return None if value is None else str(value)
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith("run_id:"):
            return line.split(":", 1)[1].strip()
    return None
