"""NATS JetStream target: publish each record and wait for the stream's ack.

URL: ``nats://[user:password@|token@]host[:4222]?subject=S[&stream=NAME][&create_stream=1]``

- ``subject`` (required): the subject every record is published on.
- ``stream``: the JetStream stream expected to hold ``subject``; the publish fails (and is
  retried) if the subject belongs to another stream or none. Without it, any stream
  capturing the subject acks.
- ``create_stream=1``: on connecting, create ``stream`` (capturing ``subject``, file storage,
  server defaults otherwise) if it does not exist. Off by default: streams, their retention
  and replicas are the operator's to define.

Each publish carries ``Nats-Msg-Id: <event_id>``, so JetStream drops the duplicate that a
retry after a lost ack would create (within the stream's duplicate window, 2 minutes by
default): https://docs.nats.io/using-nats/developer/develop_jetstream/model_deep_dive#message-deduplication
"""

from __future__ import annotations

import dataclasses
import logging

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from events.targets.base import Message, Target
from events.targets.broker import BrokerTarget
from events.targets.url import TargetURL, TargetURLError

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"nats": 4222}
OPTIONS = ("subject", "stream", "create_stream")


@dataclasses.dataclass(slots=True)
class _Conn:
    nc: NATS
    js: JetStreamContext


class NatsTarget(BrokerTarget[_Conn]):
    errors = (nats.errors.Error, OSError)

    def __init__(self, name: str, url: TargetURL) -> None:
        super().__init__(name, url)
        self.subject = url.required("subject")
        self.stream = url.text("stream")
        self.create_stream = url.flag("create_stream")
        if self.create_stream and self.stream is None:
            raise TargetURLError("create_stream=1 needs ?stream=NAME")

    async def _connect(self) -> _Conn:
        url = self.url
        credentials: dict[str, str] = {}
        if url.username is not None and url.password is not None:
            credentials = {"user": url.username, "password": url.password}
        elif url.password is not None:  # nats://TOKEN@host, see from_url
            credentials = {"token": url.password}
        seen: list[Exception] = []

        async def on_error(exc: Exception) -> None:
            # nats-py reports socket errors here as well as (or instead of) raising them.
            seen.append(exc)
            log.debug("target %s: %s", self.describe(), self.url.scrub(repr(exc)))

        try:
            nc = await nats.connect(
                servers=[f"nats://{url.host}:{url.port}"],
                name=f"kloudvault:{self.name}",
                connect_timeout=max(1, round(self.timeout)),
                # BrokerTarget reconnects, under a deadline: no reconnect loop behind its
                # back. nats-py reads 0 attempts as "forever", and even its first connect
                # goes round that loop: 1 attempt, no wait, is the least it takes.
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0,
                error_cb=on_error,
                **credentials,
            )
        except nats.errors.NoServersError:
            # The actual cause (connection refused, authorization...) beats "no servers".
            if seen and isinstance(seen[-1], self.errors):
                raise seen[-1] from None
            raise
        try:
            js = nc.jetstream(timeout=self.timeout)
            if self.create_stream:
                assert self.stream is not None
                await self._ensure_stream(js, self.stream)
        except BaseException:
            self._abandon(nc.close)
            raise
        return _Conn(nc, js)

    async def _ensure_stream(self, js: JetStreamContext, stream: str) -> None:
        try:
            await js.stream_info(stream)
        except nats.js.errors.NotFoundError:
            # Two gateways racing here both succeed: NATS accepts an identical re-create.
            await js.add_stream(name=stream, subjects=[self.subject])
            log.info("target %s: created JetStream stream %s", self.describe(), stream)

    async def _publish(self, conn: _Conn, message: Message) -> None:
        await conn.js.publish(
            self.subject,
            message.body,
            timeout=self.timeout,
            stream=self.stream,
            headers={"Nats-Msg-Id": message.event_id},
        )

    async def _disconnect(self, conn: _Conn) -> None:
        await conn.nc.close()

    def _alive(self, conn: _Conn) -> bool:
        return bool(conn.nc.is_connected)


def from_url(name: str, url: str) -> Target:
    """A NatsTarget for `url`; raises TargetURLError (a ValueError) if it is not valid."""
    parsed = TargetURL.parse(url, default_ports=DEFAULT_PORTS, options=OPTIONS)
    if parsed.username is not None and parsed.password is None:
        # nats://TOKEN@host: the user part is a token, a secret to redact like a password.
        parsed = dataclasses.replace(parsed, username=None, password=parsed.username)
    return NatsTarget(name, parsed)
