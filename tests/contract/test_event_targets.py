"""Every broker target (events/targets/) against the machine's real broker.

Each test runs once per target kind (tests/contract/target_factories.py): the target sends,
the broker's own client consumes, and the two are compared — bodies, routing, the dedup id
and the broker-specific promises (persistent AMQP messages, QoS 1, XADD fields), in order.
Failures are made with a TCP proxy in front of the shared broker (tests/support/tcp_proxy.py),
never by stopping the broker itself: a restart resets every connection, a stop closes them
and refuses new ones, a freeze leaves them open and mute. A send must then either succeed
on a new connection or raise TargetError within its timeout, and a later send must go
through. The same proxy, terminating TLS with the test CA's certificate, stands in for a
broker's TLS listener (amqps, mqtts, rediss); the bytes behind it reach the real broker.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import ssl
import time
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urlencode

import aio_pika
import pytest
import redis.asyncio as aioredis

from events.targets.base import Message, Target, TargetError
from tests.contract.target_factories import TARGET_KINDS, Received, TargetKind
from tests.support.ports import free_port
from tests.support.tcp_proxy import TcpProxy
from tests.support.tls import TLSFiles

TIMEOUT = 5.0  # a send on a healthy broker
SHORT = 1.0  # a send that must give up (nothing listening), or recover after a restart
FROZEN = 0.5  # the timeout under test with a frozen broker: each failing send costs it
EVENTS = ("s3:ObjectCreated:Put", "s3:ObjectRemoved:Delete", "s3:ObjectCreated:Copy")


@pytest.fixture(params=list(TARGET_KINDS))
def kind(request: pytest.FixtureRequest) -> TargetKind:
    return TARGET_KINDS[request.param]


@pytest.fixture
def broker(kind: TargetKind) -> tuple[str, int]:
    return kind.reachable()


@pytest.fixture
def run() -> str:
    """Names this test's subject, stream, exchange or topic: parallel runs never meet."""
    return secrets.token_hex(5)


def messages(run: str, count: int, start: int = 0) -> list[Message]:
    out = []
    for i in range(start, start + count):
        key = f"photos/{i}.jpg"
        event = EVENTS[i % len(EVENTS)]
        body = json.dumps({"Records": [{"eventName": event[3:], "run": run, "i": i}]}).encode()
        out.append(Message(body, event, "bucket-a", key, f"{run}-{i}"))
    return out


def run_clean(aio: asyncio.Runner, main: Coroutine[Any, Any, None]) -> None:
    """aio.run(main), failing if anything reached the event loop's exception handler (an
    error in a client library's callback, a task whose exception nobody retrieved)."""
    reported: list[str] = []
    loop = aio.get_loop()
    loop.set_exception_handler(lambda _, context: reported.append(repr(context)))
    try:
        aio.run(main)
    finally:
        loop.set_exception_handler(None)
    assert not reported


def unique(received: list[Received]) -> list[Received]:
    """`received` without repeats (at least once: a retried send may deliver twice)."""
    first = {r.body: r for r in reversed(received)}  # reversed: the first occurrence wins
    return sorted(first.values(), key=received.index)


async def send_within(target: Target, message: Message, limit: float) -> TargetError | None:
    """Send; return the TargetError if it failed. Either way it must end within `limit`."""
    started = time.monotonic()
    try:
        await asyncio.wait_for(target.send(message), limit + 2.0)
    except TargetError as exc:
        return exc
    finally:
        assert time.monotonic() - started < limit + 0.5, "send overran its timeout"
    return None


def test_send_delivers_in_order(kind: TargetKind, broker, run, aio) -> None:
    async def body() -> None:
        host, port = broker
        sent = messages(run, 5)
        async with kind.consumer(run) as consumer:
            target = kind.from_url("t1 (any name)", kind.target_url(run, host, port, TIMEOUT))
            await target.start()
            for message in sent:
                await target.send(message)
            await target.close()
            await target.close()  # idempotent
            with pytest.raises(TargetError):
                await target.send(sent[0])
            got = await consumer.until(sent[-1].body)
        assert got == [kind.expect(run, m) for m in sent]

    run_clean(aio, body())


def test_concurrent_sends_all_arrive_once(kind: TargetKind, broker, run, aio) -> None:
    """The dispatcher may send for several keys at once: every send is acknowledged for its
    own message, and all arrive, each once."""

    async def body() -> None:
        host, port = broker
        sent = messages(run, 20)
        async with kind.consumer(run) as consumer:
            target = kind.from_url("t6", kind.target_url(run, host, port, TIMEOUT))
            try:
                await asyncio.gather(*(target.send(m) for m in sent))
            finally:
                await target.close()
            got = await consumer.all_of({m.body for m in sent})
        assert sorted(got, key=lambda r: r.body) == sorted(
            (kind.expect(run, m) for m in sent), key=lambda r: r.body
        )

    run_clean(aio, body())


def test_send_after_broker_restart(kind: TargetKind, broker, run, aio) -> None:
    """The restart resets the target's connection: the send right after it reconnects (or
    fails promptly, if the client had not seen the reset yet), the next one goes through."""

    async def body() -> None:
        first, during, after = messages(run, 3)
        async with kind.consumer(run) as consumer, TcpProxy(*broker) as proxy:
            target = kind.from_url("t2", kind.target_url(run, "127.0.0.1", proxy.port, SHORT))
            try:
                await target.send(first)
                await proxy.restart()
                failed = await send_within(target, during, SHORT)
                assert await send_within(target, after, SHORT) is None
            finally:
                await target.close()
            got = await consumer.until(after.body)
        expected = [first] if failed else [first, during]
        assert got == [kind.expect(run, m) for m in [*expected, after]]

    run_clean(aio, body())


def test_send_while_broker_down_then_back(kind: TargetKind, broker, run, aio) -> None:
    """While the broker is down, sends fail at once (connection refused), never queue up;
    once it is back, the same target delivers again."""

    async def body() -> None:
        first, refused, after = messages(run, 3)
        async with kind.consumer(run) as consumer, TcpProxy(*broker) as proxy:
            target = kind.from_url("t5", kind.target_url(run, "127.0.0.1", proxy.port, SHORT))
            try:
                await target.send(first)
                await proxy.stop()
                for _ in range(2):
                    error = await send_within(target, refused, SHORT)
                    assert error is not None and "not acknowledged" not in str(error)
                await proxy.start()
                assert await send_within(target, after, SHORT) is None
            finally:
                await target.close()
            got = await consumer.until(after.body)
        assert got == [kind.expect(run, m) for m in (first, after)]

    run_clean(aio, body())


def test_send_to_frozen_broker_times_out(kind: TargetKind, broker, run, aio) -> None:
    async def body() -> None:
        first, lost, after = messages(run, 3)
        async with kind.consumer(run) as consumer, TcpProxy(*broker) as proxy:
            target = kind.from_url("t3", kind.target_url(run, "127.0.0.1", proxy.port, FROZEN))
            try:
                await target.send(first)
                proxy.freeze()
                assert await send_within(target, lost, FROZEN) is not None
                # The next send connects anew, to a broker that accepts and never answers.
                assert await send_within(target, lost, FROZEN) is not None
                await proxy.restart()  # the broker is back; what was in flight is gone
                # As the dispatcher would: retry until it goes through (FROZEN is short for
                # a busy machine's connect, hence a few tries, and duplicates allowed).
                for _ in range(4):
                    if await send_within(target, after, FROZEN) is None:
                        break
                else:
                    pytest.fail("no send went through after the restart")
            finally:
                await target.close()
            got = unique(await consumer.until(after.body))
        assert got == [kind.expect(run, m) for m in (first, after)]

    run_clean(aio, body())


def test_unreachable_broker_fails_fast_without_leaking_password(
    kind: TargetKind, run, aio, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listens on the port: start and send raise TargetError promptly, and neither
    the error (with its causes), describe() nor any log record (ours or the broker
    client's, down to DEBUG) shows the password."""
    caplog.set_level(logging.DEBUG)
    password = f"pw-{secrets.token_hex(8)}"
    url = kind.target_url(run, "127.0.0.1", free_port(), SHORT)
    url = url.replace("://", f"://kv:{password}@", 1).replace("guest:guest@", "", 1)

    async def body() -> None:
        target = kind.from_url("t4", url)
        assert password not in repr(target) and "***" in repr(target)
        errors = []
        for attempt in (target.start(), target.send(messages(run, 1)[0])):
            started = time.monotonic()
            with pytest.raises(TargetError) as info:
                await attempt
            assert time.monotonic() - started < SHORT + 0.5
            errors.append(info.value)
        await target.close()
        for error in errors:
            chain: BaseException | None = error
            while chain is not None:
                assert password not in f"{chain!s} {chain!r}"
                chain = chain.__cause__ or chain.__context__

    run_clean(aio, body())
    assert password not in caplog.text


TLS_KINDS = ("amqp", "mqtt", "redis")  # nats:// negotiates TLS inside its protocol


@pytest.mark.parametrize("name", TLS_KINDS)
def test_tls_scheme_verifies_the_broker(name: str, run, aio, tls_files: TLSFiles) -> None:
    """amqps://, mqtts://, rediss:// through a TLS endpoint whose certificate our test CA
    signed: delivered with ca_file=that CA, refused with the system's CAs."""
    kind = TARGET_KINDS[name]
    broker = kind.reachable()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tls_files.cert, tls_files.key)
    sent = messages(run, 2)

    async def body() -> None:
        async with kind.consumer(run) as consumer, TcpProxy(*broker, tls=server) as proxy:
            url = kind.target_url(run, "127.0.0.1", proxy.port, SHORT)
            url = url.replace("://", "s://", 1)
            untrusted = kind.from_url("s1", url)
            try:
                error = await send_within(untrusted, sent[0], SHORT)
                assert error is not None and "CERTIFICATE_VERIFY_FAILED" in str(error)
            finally:
                await untrusted.close()
            trusted = kind.from_url("s2", f"{url}&{urlencode({'ca_file': tls_files.ca_bundle})}")
            try:
                for message in sent:
                    await trusted.send(message)
            finally:
                await trusted.close()
            got = await consumer.until(sent[-1].body)
        assert got == [kind.expect(run, m) for m in sent]

    run_clean(aio, body())


# -- what one broker's target promises beyond the contract ---------------------------------------


@pytest.fixture
def nats_broker() -> tuple[str, int]:
    return TARGET_KINDS["nats"].reachable()


def test_nats_duplicate_event_id_is_dropped_by_jetstream(nats_broker, run, aio) -> None:
    """A retry after a lost ack republishes with the same Nats-Msg-Id: stored once."""
    kind = TARGET_KINDS["nats"]
    first, second = messages(run, 2)

    async def body() -> None:
        async with kind.consumer(run) as consumer:
            host, port = nats_broker
            target = kind.from_url("n1", kind.target_url(run, host, port, TIMEOUT))
            try:
                for message in (first, first, second):
                    await target.send(message)
            finally:
                await target.close()
            got = await consumer.until(second.body)
        assert got == [kind.expect(run, m) for m in (first, second)]

    run_clean(aio, body())


def test_nats_stream_is_not_created_unless_asked(nats_broker, run, aio) -> None:
    host, port = nats_broker
    url = f"nats://{host}:{port}?subject=kvt.{run}&stream=KVT_{run}&timeout={SHORT}"

    async def body() -> None:
        target = TARGET_KINDS["nats"].from_url("n2", url)
        try:
            assert await send_within(target, messages(run, 1)[0], SHORT) is not None
        finally:
            await target.close()

    run_clean(aio, body())


@pytest.fixture
def amqp_broker() -> tuple[str, int]:
    return TARGET_KINDS["amqp"].reachable()


def test_amqp_routing_key_and_exchange_options(amqp_broker, run, aio) -> None:
    """A fixed routing_key replaces the event name; a missing exchange is an error unless
    exchange_type declares it; with mandatory=1 an unroutable message is an error."""
    kind = TARGET_KINDS["amqp"]
    host, port = amqp_broker
    base = kind.target_url(run, host, port, TIMEOUT)
    message = messages(run, 1)[0]

    async def body() -> None:
        async with kind.consumer(run) as consumer:
            fixed = kind.from_url("a1", f"{base}&routing_key=photos.created")
            try:
                await fixed.send(message)
            finally:
                await fixed.close()
            (got,) = await consumer.until(message.body)
            assert got.route == "photos.created"

        missing = base.replace(f"kvt-{run}", f"kvt-missing-{run}").replace(
            "&exchange_type=topic", ""
        )
        unroutable = base.replace(f"kvt-{run}", f"kvt-unbound-{run}") + "&mandatory=1"
        for name, url in (("a2", missing), ("a3", unroutable)):
            target = kind.from_url(name, url)
            try:
                with pytest.raises(TargetError):
                    await target.send(message)
            finally:
                await target.close()
        await _delete_exchange(f"kvt-unbound-{run}")

    run_clean(aio, body())


async def _delete_exchange(name: str) -> None:
    connection = await aio_pika.connect(TARGET_KINDS["amqp"].broker_url(), timeout=5)
    try:
        channel = await connection.channel()
        await channel.exchange_delete(name)
    finally:
        await connection.close()


def test_redis_stream_is_capped_by_maxlen(run, aio) -> None:
    """MAXLEN ~ N trims whole stream nodes (100 entries by default): the stream stays near
    N, never under it, however many records are added."""
    kind = TARGET_KINDS["redis"]
    host, port = kind.reachable()
    url = kind.target_url(run, host, port, TIMEOUT).replace("maxlen=1000", "maxlen=10")

    async def body() -> None:
        client = aioredis.Redis.from_url(kind.broker_url(), socket_timeout=5)
        target = kind.from_url("r1", url)
        try:
            for message in messages(run, 400):
                await target.send(message)
            length = await client.xlen(f"kvt:{run}")
            assert 10 <= length < 400
        finally:
            await target.close()
            await client.delete(f"kvt:{run}")
            await client.aclose()

    run_clean(aio, body())
