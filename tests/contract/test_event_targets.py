"""Every broker target (events/targets/) against the machine's real broker.

Each test runs once per target kind (tests/contract/target_factories.py): the target sends,
the broker's own client consumes, and the two are compared — bodies, routing, the dedup id
and the broker-specific promises (persistent AMQP messages, QoS 1, XADD fields), in order.
Failures are made with a TCP proxy in front of the shared broker (tests/support/tcp_proxy.py),
never by stopping the broker itself: a restart resets every connection, a freeze leaves
them open and mute. A send must then either succeed on a new connection or raise
TargetError within its timeout, and a later send must go through.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time

import pytest

from events.targets.base import Message, Target, TargetError
from tests.contract.target_factories import TARGET_KINDS, TargetKind
from tests.support.ports import free_port
from tests.support.tcp_proxy import TcpProxy

TIMEOUT = 5.0  # a send on a healthy broker
SHORT = 1.0  # a send that must give up (frozen broker, nothing listening)
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
            target = kind.from_url("t1", kind.target_url(run, host, port, TIMEOUT))
            await target.start()
            for message in sent:
                await target.send(message)
            await target.close()
            await target.close()  # idempotent
            with pytest.raises(TargetError):
                await target.send(sent[0])
            got = await consumer.until(sent[-1].body)
        assert got == [kind.expect(run, m) for m in sent]

    aio.run(body())


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

    aio.run(body())


def test_send_to_frozen_broker_times_out(kind: TargetKind, broker, run, aio) -> None:
    async def body() -> None:
        first, lost, after = messages(run, 3)
        async with kind.consumer(run) as consumer, TcpProxy(*broker) as proxy:
            target = kind.from_url("t3", kind.target_url(run, "127.0.0.1", proxy.port, SHORT))
            try:
                await target.send(first)
                proxy.freeze()
                error = await send_within(target, lost, SHORT)
                assert error is not None
                await proxy.restart()  # the broker is back; what was in flight is gone
                assert await send_within(target, after, SHORT) is None
            finally:
                await target.close()
            got = await consumer.until(after.body)
        assert got == [kind.expect(run, m) for m in (first, after)]

    aio.run(body())


def test_unreachable_broker_fails_fast_without_leaking_password(kind: TargetKind, run, aio) -> None:
    """Nothing listens on the port: start and send raise TargetError promptly, and neither
    the error (with its causes) nor describe() shows the password."""
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

    aio.run(body())
