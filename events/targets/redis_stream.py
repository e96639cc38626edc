"""Redis Streams target: XADD each record to a stream capped with ``MAXLEN ~``.

URL: ``redis://[[user]:password@]host[:6379][/db]?stream=S[&maxlen=N]``, or ``rediss://``
(TLS, ``ca_file``: see events/targets/url.py)

- ``stream`` (required): the stream key.
- ``maxlen`` (default 100000): trim the stream to about that many entries on each XADD
  (``MAXLEN ~ N``: Redis trims whole macro nodes, cheaply, so a few more may stay);
  ``maxlen=0`` never trims. https://redis.io/docs/latest/commands/xadd/

Each entry's fields: ``body`` (the JSON record), ``event_name``, ``bucket``, ``key`` and
``event_id`` (stable across retries: a consumer drops entries whose id it has seen, since a
retried XADD after a lost reply adds a second entry). XADD's reply is the acknowledgement.
"""

from __future__ import annotations

import re
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from events.targets.base import Message, Target
from events.targets.broker import BrokerTarget
from events.targets.url import TargetURL, TargetURLError

DEFAULT_PORTS = {"redis": 6379, "rediss": 6379}
OPTIONS = ("stream", "maxlen")
DEFAULT_MAXLEN = 100_000


class RedisStreamTarget(BrokerTarget[aioredis.Redis]):
    errors = (RedisError, OSError)

    def __init__(self, name: str, url: TargetURL) -> None:
        super().__init__(name, url)
        self.stream = url.required("stream")
        self.maxlen = url.integer("maxlen", DEFAULT_MAXLEN)
        try:
            self.db = int(url.path or "0")
        except ValueError:
            raise TargetURLError("the path of a redis:// URL is a database number") from None

    async def _connect(self) -> aioredis.Redis:
        tls: dict[str, Any] = {}
        if self.url.tls:
            tls = {
                "ssl": True,
                "ssl_cert_reqs": "required",
                "ssl_check_hostname": True,
                "ssl_ca_certs": self.url.text("ca_file"),
            }
        client = aioredis.Redis(
            host=self.url.host,
            port=self.url.port,
            db=self.db,
            username=self.url.username or None,
            password=self.url.password,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
            # A pooled connection that died with a restarted server fails its next command:
            # one immediate retry on a fresh connection is the reconnect.
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError],
            # CLIENT SETNAME refuses spaces and newlines: a name must never stop a connect.
            client_name="kloudvault:" + re.sub(r"[^\w.:-]", "_", self.name),
            **tls,
        )
        try:
            await client.ping()
        except BaseException:
            self._abandon(client.aclose)
            raise
        return client

    async def _publish(self, conn: aioredis.Redis, message: Message) -> None:
        await conn.xadd(
            self.stream,
            {
                "body": message.body,
                "event_name": message.event_name,
                "bucket": message.bucket,
                "key": message.key,
                "event_id": message.event_id,
            },
            maxlen=self.maxlen or None,
            approximate=True,
        )

    async def _disconnect(self, conn: aioredis.Redis) -> None:
        await conn.aclose()


def from_url(name: str, url: str) -> Target:
    """A RedisStreamTarget for `url`; raises TargetURLError (a ValueError) if it is not valid."""
    return RedisStreamTarget(
        name, TargetURL.parse(url, default_ports=DEFAULT_PORTS, options=OPTIONS)
    )
