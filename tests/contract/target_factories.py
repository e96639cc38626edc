"""The event targets the contract suite runs against, each with a consumer on its broker.

A `TargetKind` knows one broker: where the machine's shared server is (an env variable, or
its standard port), how to write a target URL for a test run (unique subject, stream,
exchange or topic per run, so parallel runs never read each other's messages), and how to
read what arrived with the broker's own client: a JetStream pull consumer, a queue bound to
the exchange, an MQTT subscription made before the first send, XRANGE. Each consumer hands
back `Received` values that the test compares with `TargetKind.expect(message)`.

`reachable()` runs outside the event loop and goes through the services policy
(tests/conftest.py): skip when the broker does not answer, fail under
KLOUDVAULT_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import aio_pika
import aiomqtt
import nats
import redis.asyncio as aioredis
from nats.js.api import ConsumerConfig

from events.targets import amqp as amqp_target
from events.targets import mqtt as mqtt_target
from events.targets import nats as nats_target
from events.targets import redis_stream as redis_target
from events.targets.base import Message, Target
from tests.conftest import require_service
from tests.support.redis import shared_redis_url

RECEIVE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Received:
    """One message as a consumer saw it: body, where it was routed, its dedup id, and the
    broker-specific properties a target promises (QoS, persistence, fields)."""

    body: bytes
    route: str
    event_id: str
    extra: tuple[tuple[str, object], ...] = ()


class Consumer(ABC):
    @abstractmethod
    async def poll(self) -> list[Received]:
        """Everything received so far, in arrival order."""

    async def until(self, body: bytes) -> list[Received]:
        """Everything received up to the message with `body` (short polls, no sleeps of
        fixed length); fails after RECEIVE_TIMEOUT."""
        deadline = time.monotonic() + RECEIVE_TIMEOUT
        while True:
            got = await self.poll()
            for i, item in enumerate(got):
                if item.body == body:
                    return got[: i + 1]
            if time.monotonic() > deadline:
                raise AssertionError(f"{body!r} not received; got {got!r}")
            await asyncio.sleep(0.02)

    async def all_of(self, bodies: set[bytes]) -> list[Received]:
        """Everything received once every one of `bodies` has been; fails after
        RECEIVE_TIMEOUT."""
        deadline = time.monotonic() + RECEIVE_TIMEOUT
        while True:
            got = await self.poll()
            missing = bodies - {r.body for r in got}
            if not missing:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"missing {missing!r}")
            await asyncio.sleep(0.02)


class TargetKind(ABC):
    kind: str
    env: str
    default_url: str

    @staticmethod
    @abstractmethod
    def from_url(name: str, url: str) -> Target:
        """The module's from_url."""

    def broker_url(self) -> str:
        return os.environ.get(self.env) or self.default_url

    def reachable(self) -> tuple[str, int]:
        """The broker's host and port; skips (or fails, services policy) if it is down."""
        parts = urlsplit(self.broker_url())
        host, port = parts.hostname or "127.0.0.1", parts.port or 0
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError as exc:
            require_service(self.kind, f"{host}:{port}: {exc}")
        return host, port

    @abstractmethod
    def target_url(self, run: str, host: str, port: int, timeout: float) -> str:
        """A URL for `from_url` that sends run `run`'s messages to the broker at host:port."""

    @abstractmethod
    def consumer(self, run: str) -> AbstractAsyncContextManager[Consumer]:
        """An async context manager: subscribed before it yields, cleaned up after."""

    @abstractmethod
    def expect(self, run: str, message: Message) -> Received:
        """What the consumer must see for `message`."""


class NatsKind(TargetKind):
    kind, env, default_url = "nats", "KLOUDVAULT_TEST_NATS_URL", "nats://127.0.0.1:4222"
    from_url = staticmethod(nats_target.from_url)

    def target_url(self, run: str, host: str, port: int, timeout: float) -> str:
        return (
            f"nats://{host}:{port}?subject=kvt.{run}&stream=KVT_{run}&create_stream=1"
            f"&timeout={timeout}"
        )

    def expect(self, run: str, message: Message) -> Received:
        return Received(message.body, f"kvt.{run}", message.event_id, (("stream", f"KVT_{run}"),))

    @asynccontextmanager
    async def consumer(self, run: str) -> AsyncIterator[Consumer]:
        nc = await nats.connect(self.broker_url(), connect_timeout=2, allow_reconnect=False)
        js = nc.jetstream()
        # The target creates the stream (create_stream=1) on its first connect; the consumer
        # is made on first poll, once that stream exists. Ephemeral: it goes with `nc`.
        received: list[Received] = []
        subscription: list[object] = []

        class _Consumer(Consumer):
            async def poll(self) -> list[Received]:
                if not subscription:
                    try:
                        await js.stream_info(f"KVT_{run}")
                    except nats.js.errors.NotFoundError:
                        return received
                    subscription.append(
                        await js.pull_subscribe(
                            f"kvt.{run}", stream=f"KVT_{run}", config=ConsumerConfig()
                        )
                    )
                psub = subscription[0]
                assert isinstance(psub, nats.js.JetStreamContext.PullSubscription)
                try:
                    msgs = await psub.fetch(100, timeout=0.2)
                except TimeoutError:  # nats.errors.TimeoutError, or asyncio's plain one that
                    return received  # fetch raises on a slow first batch under load
                for msg in msgs:
                    await msg.ack()
                    received.append(
                        Received(
                            msg.data,
                            msg.subject,
                            (msg.headers or {}).get("Nats-Msg-Id", ""),
                            (("stream", msg.metadata.stream),),
                        )
                    )
                return received

        try:
            yield _Consumer()
        finally:
            try:
                await js.delete_stream(f"KVT_{run}")
            except nats.js.errors.NotFoundError:
                pass
            await nc.close()


class AmqpKind(TargetKind):
    kind, env = "rabbitmq", "KLOUDVAULT_TEST_AMQP_URL"
    default_url = "amqp://guest:guest@127.0.0.1:5672/"
    from_url = staticmethod(amqp_target.from_url)

    def target_url(self, run: str, host: str, port: int, timeout: float) -> str:
        parts = urlsplit(self.broker_url())
        auth = f"{parts.username or 'guest'}:{parts.password or 'guest'}"
        return (
            f"amqp://{auth}@{host}:{port}/?exchange=kvt-{run}&exchange_type=topic&timeout={timeout}"
        )

    def expect(self, run: str, message: Message) -> Received:
        extra = (
            ("delivery_mode", aio_pika.DeliveryMode.PERSISTENT),
            ("content_type", "application/json"),
            ("type", message.event_name),
        )
        return Received(message.body, message.event_name, message.event_id, extra)

    @asynccontextmanager
    async def consumer(self, run: str) -> AsyncIterator[Consumer]:
        connection = await aio_pika.connect(self.broker_url(), timeout=5)
        channel = await connection.channel()
        # The same declaration as the target's (exchange_type=topic: durable), made first so
        # the queue can be bound before anything is published.
        exchange = await channel.declare_exchange(
            f"kvt-{run}", aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="#")
        received: list[Received] = []

        class _Consumer(Consumer):
            async def poll(self) -> list[Received]:
                while (msg := await queue.get(no_ack=True, fail=False, timeout=5)) is not None:
                    extra = (
                        ("delivery_mode", msg.delivery_mode),
                        ("content_type", msg.content_type),
                        ("type", msg.type),
                    )
                    received.append(
                        Received(msg.body, msg.routing_key or "", msg.message_id or "", extra)
                    )
                return received

        try:
            yield _Consumer()
        finally:
            await exchange.delete()
            await connection.close()


class MqttKind(TargetKind):
    kind, env, default_url = "mosquitto", "KLOUDVAULT_TEST_MQTT_URL", "mqtt://127.0.0.1:1883"
    from_url = staticmethod(mqtt_target.from_url)

    def target_url(self, run: str, host: str, port: int, timeout: float) -> str:
        return f"mqtt://{host}:{port}?topic=kvt/{run}&timeout={timeout}"

    def expect(self, run: str, message: Message) -> Received:
        # MQTT 3.1.1 carries no properties: the event id travels in the body only.
        return Received(message.body, f"kvt/{run}", "", (("qos", 1),))

    @asynccontextmanager
    async def consumer(self, run: str) -> AsyncIterator[Consumer]:
        parts = urlsplit(self.broker_url())
        received: list[Received] = []
        async with aiomqtt.Client(parts.hostname or "127.0.0.1", parts.port or 1883) as client:
            await client.subscribe(f"kvt/{run}", qos=1)

            async def collect() -> None:
                async for msg in client.messages:
                    assert isinstance(msg.payload, bytes)
                    received.append(Received(msg.payload, str(msg.topic), "", (("qos", msg.qos),)))

            task = asyncio.get_running_loop().create_task(collect())

            class _Consumer(Consumer):
                async def poll(self) -> list[Received]:
                    return received

            try:
                yield _Consumer()
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)


class RedisStreamKind(TargetKind):
    kind, env, default_url = "redis", "KLOUDVAULT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"
    from_url = staticmethod(redis_target.from_url)

    def reachable(self) -> tuple[str, int]:
        parts = urlsplit(shared_redis_url())  # the shared check: skip or fail when down
        return parts.hostname or "127.0.0.1", parts.port or 6379

    def target_url(self, run: str, host: str, port: int, timeout: float) -> str:
        db = urlsplit(self.broker_url()).path or "/0"
        return f"redis://{host}:{port}{db}?stream=kvt:{run}&maxlen=1000&timeout={timeout}"

    def expect(self, run: str, message: Message) -> Received:
        extra = (
            ("event_name", message.event_name),
            ("bucket", message.bucket),
            ("key", message.key),
        )
        return Received(message.body, f"kvt:{run}", message.event_id, extra)

    @asynccontextmanager
    async def consumer(self, run: str) -> AsyncIterator[Consumer]:
        client = aioredis.Redis.from_url(self.broker_url(), socket_timeout=5)
        stream = f"kvt:{run}"

        class _Consumer(Consumer):
            async def poll(self) -> list[Received]:
                # The stubs allow for decode_responses: here entries are bytes throughout.
                entries = cast(list[tuple[bytes, dict[bytes, bytes]]], await client.xrange(stream))
                return [
                    Received(
                        fields[b"body"],
                        stream,
                        fields[b"event_id"].decode(),
                        tuple(
                            (name, fields[name.encode()].decode())
                            for name in ("event_name", "bucket", "key")
                        ),
                    )
                    for _, fields in entries
                ]

        try:
            yield _Consumer()
        finally:
            await client.delete(stream)
            await client.aclose()


TARGET_KINDS: dict[str, TargetKind] = {
    "nats": NatsKind(),
    "amqp": AmqpKind(),
    "mqtt": MqttKind(),
    "redis": RedisStreamKind(),
}
