"""The event dispatcher (gateway/jobs/event_dispatch.py) on a SQLite outbox and a real
webhook receiver on loopback, its clock in the test's hands: order per key, a failing
key that waits alone, exponential backoff, the dead-letter list, replay and purge."""

from __future__ import annotations

import asyncio
import sqlite3
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from auth.sealed import SecretSealer
from events.records import OutboxEvent, message
from events.targets.base import TargetError
from events.targets.registry import TargetRegistry, TargetSpec
from events.targets.sealing import open_target
from events.targets.webhook import WebhookTarget
from gateway import cli
from gateway.codec.keys import load_master_key
from gateway.jobs.event_dispatch import EventDispatcher
from gateway.meta.outbox import EventOutbox, outbox_of
from gateway.meta.sqlite import SqliteMetaStore
from gateway.settings import Settings
from tests.support.tls import TLSFiles
from tests.support.webhook import WebhookReceiver

T0 = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def event(key: str, name: str = "s3:ObjectCreated:Put", target: str = "hook") -> OutboxEvent:
    return OutboxEvent(0, target, "cfg", "bkt", key, name, T0, size=1, etag="e")


@asynccontextmanager
async def dispatcher(
    tmp_path: Path, failing: Callable[[dict[str, Any]], bool], attempts: int = 3
) -> AsyncIterator[tuple[EventDispatcher, EventOutbox, WebhookReceiver, Clock]]:
    store = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))
    await store.open()
    hook = await WebhookReceiver(secret="k", failing=failing).start()
    registry = TargetRegistry([TargetSpec("hook", hook.url, {"secret": "k", "timeout": 5})])
    clock = Clock()
    d = EventDispatcher(outbox_of(store), registry, attempts=attempts, backoff=10, clock=clock)
    try:
        yield d, outbox_of(store), hook, clock
    finally:
        await registry.close()
        await hook.stop()
        await store.close()


def keys_of(hook: WebhookReceiver) -> list[str]:
    return [r["s3"]["object"]["key"] for r in hook.records()]


def test_failing_key_waits_alone_with_backoff_then_dead_letter(tmp_path: Path) -> None:
    down = {"bad"}

    def failing(body: dict[str, Any]) -> bool:
        return body["Records"][0]["s3"]["object"]["key"] in down

    async def body() -> None:
        async with dispatcher(tmp_path, failing) as (d, outbox, hook, clock):
            for key in ("bad", "good", "bad", "good"):
                await outbox.queue_event(event(key))
            assert await d.run_once() == 2
            assert keys_of(hook) == ["good", "good"]  # the good key went on
            pending = await outbox.list_events()
            assert [(e.key, e.attempts) for e in pending] == [("bad", 1), ("bad", 0)]
            assert pending[0].next_attempt == T0 + 10  # backoff * 2^0
            assert await d.run_once() == 0  # not due yet: nothing tried
            assert (await outbox.list_events())[0].attempts == 1
            clock.now = T0 + 10
            await d.run_once()
            assert (await outbox.list_events())[0].next_attempt == T0 + 10 + 20  # doubled
            clock.now = T0 + 30
            await d.run_once()  # third failure of 3: dead; the key's next event is tried
            dead = await outbox.list_events(dead=True)
            assert [(e.key, e.attempts) for e in dead] == [("bad", 3)]
            assert "503" in (dead[0].last_error or "")
            assert [(e.key, e.attempts) for e in await outbox.list_events()] == [("bad", 1)]
            assert await outbox.outbox_depth() == (1, 1)
            # The receiver comes back: the second event, then the replayed first.
            down.clear()
            clock.now = T0 + 100
            assert await d.run_once() == 1
            assert await outbox.replay_events(None) == 1
            assert await d.run_once() == 1
            assert keys_of(hook) == ["good", "good", "bad", "bad"]
            seqs = [r["s3"]["object"]["sequencer"] for r in hook.records()]
            assert seqs[2] > seqs[3]  # the replayed event kept its sequencer
            assert await outbox.outbox_depth() == (0, 0)
            assert hook.bad_signatures == 0

    asyncio.run(body())


def test_events_of_one_key_in_order_and_purge(tmp_path: Path) -> None:
    async def body() -> None:
        async with dispatcher(tmp_path, lambda b: False, attempts=1) as (d, outbox, hook, _):
            names = ["s3:ObjectCreated:Put", "s3:ObjectTagging:Put", "s3:ObjectRemoved:Delete"]
            for name in names * 3:
                await outbox.queue_event(event("k", name))
            await outbox.queue_event(event("gone", target="nowhere"))  # no such target
            assert await d.run_once() == 9
            got = [r["eventName"] for r in hook.records()]
            assert got == [n.removeprefix("s3:") for n in names * 3]
            (dead,) = await outbox.list_events(dead=True)  # attempts=1: dead at once
            assert dead.target == "nowhere" and "nowhere" in (dead.last_error or "")
            assert await outbox.purge_events([dead.id]) == 1
            assert await outbox.outbox_depth() == (0, 0)

    asyncio.run(body())


def test_dispatcher_task_wakes_on_nudge(tmp_path: Path) -> None:
    """The running task delivers right after a nudge, well before its poll interval."""

    async def body() -> None:
        async with dispatcher(tmp_path, lambda b: False) as (d, outbox, hook, _):
            d.poll = 60.0
            d.start()
            try:
                await asyncio.sleep(0.05)  # the first (empty) run is over, the task waits
                await outbox.queue_event(event("nudged"))
                d.wake.set()
                await hook.wait_for(1, timeout=2.0)
            finally:
                await d.stop()

    asyncio.run(body())


def test_admin_target_and_events_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ["--data-dir", str(tmp_path)]
    assert (
        cli.main(["admin", "target", "add", "hook", "https://h.test/x", "--secret", "s", *store])
        == 0
    )
    assert cli.main(["admin", "target", "add", "bad", "ftp://h.test/x", *store]) == 1
    # Webhook options on a broker target would be ignored: refused instead.
    for option in (["--secret", "s"], ["--ca-file", "ca.pem"]):
        broker = ["admin", "target", "add", "bus", "rediss://h.test?stream=s", *option]
        assert cli.main([*broker, *store]) == 1
    capsys.readouterr()
    assert cli.main(["admin", "target", "list", *store]) == 0
    listed = capsys.readouterr().out
    assert (
        "hook\thttps://h.test/x" in listed and '"secret": "***"' in listed and '"s"' not in listed
    )

    async def dead_letters() -> list[int]:
        meta = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))
        await meta.open()
        try:
            outbox = outbox_of(meta)
            ids = [await outbox.queue_event(event(k)) for k in ("a", "b", "c")]
            for i in ids:
                await outbox.event_failed(i, error="down", next_attempt=None)
            return ids
        finally:
            await meta.close()

    a, b, c = asyncio.run(dead_letters())
    assert cli.main(["admin", "events", "list", "--dead", *store]) == 0
    out = capsys.readouterr()
    assert [line.split("\t")[0] for line in out.out.splitlines()] == [str(a), str(b), str(c)]
    assert "0 pending, 3 dead" in out.err
    assert cli.main(["admin", "events", "replay", str(a), *store]) == 0
    assert cli.main(["admin", "events", "purge", str(b), *store]) == 0
    assert cli.main(["admin", "events", "purge", str(a), *store]) == 0  # pending: kept
    assert cli.main(["admin", "events", "purge", *store]) == 1  # needs ids or --all
    capsys.readouterr()
    assert cli.main(["admin", "events", "list", *store]) == 0
    assert capsys.readouterr().out.split("\t")[0] == str(a)
    assert cli.main(["admin", "events", "purge", "--all", *store]) == 0
    assert "purged 1 event(s)" in capsys.readouterr().out  # c
    assert cli.main(["admin", "target", "remove", "hook", *store]) == 0
    assert cli.main(["admin", "target", "remove", "hook", *store]) == 1


def test_webhook_verifies_tls_against_its_ca_file(tls_files: TLSFiles) -> None:
    """https webhooks: refused against the system CAs, delivered with --notify-ca-file."""
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(tls_files.cert, tls_files.key)

    async def body() -> None:
        hook = await WebhookReceiver(tls=server_tls).start()
        trusting = WebhookTarget("hook", hook.url, ca_file=str(tls_files.ca_bundle), timeout=5)
        default = WebhookTarget("hook", hook.url, timeout=5)
        try:
            with pytest.raises(TargetError, match="(?i)certificate"):
                await default.send(message(event("k")))
            await trusting.send(message(event("k")))
            assert hook.records()[0]["s3"]["object"]["key"] == "k"
        finally:
            await default.close()
            await trusting.close()
            await hook.stop()

    asyncio.run(body())


def test_admin_target_sealed_at_rest_and_delivered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`admin target add` seals the URL and options (the row holds neither the webhook's
    signing key nor a broker's password); the dispatcher opens them with the master key
    and delivers, signed; under another master key the target fails like any other."""
    signing_key = "hook-signing-key-7f3a"
    store = ["--data-dir", str(tmp_path)]

    async def body() -> None:
        hook = await WebhookReceiver(secret=signing_key).start()
        try:
            add = ["admin", "target", "add", "hook", hook.url, "--secret", signing_key, *store]
            assert await asyncio.to_thread(cli.main, add) == 0
            bus = ["admin", "target", "add", "bus", "amqp://kv:amqp-pass-xyz@127.0.0.1:5672/"]
            assert await asyncio.to_thread(cli.main, [*bus, *store]) == 0
            with sqlite3.connect(tmp_path / "meta.sqlite3") as db:
                stored = db.execute("SELECT url, options FROM event_targets").fetchall()
            assert len(stored) == 2
            for column in (c for row in stored for c in row):
                assert column.startswith("sealed1:")
                assert signing_key not in column and "amqp-pass-xyz" not in column
                assert hook.url not in column

            meta = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))
            await meta.open()
            sealer = SecretSealer(load_master_key(None, None, str(tmp_path)))
            registry = TargetRegistry([], outbox_of(meta), sealer=sealer)
            d = EventDispatcher(outbox_of(meta), registry, attempts=1, backoff=10, clock=Clock())
            try:
                await outbox_of(meta).queue_event(event("k"))
                assert await d.run_once() == 1
                assert keys_of(hook) == ["k"] and hook.bad_signatures == 0
                stranger = TargetRegistry([], outbox_of(meta), sealer=SecretSealer(b"x" * 32))
                with pytest.raises(TargetError, match="hook"):
                    await stranger.get("hook")
            finally:
                await registry.close()
                await meta.close()
        finally:
            await hook.stop()

    asyncio.run(body())
    capsys.readouterr()
    assert cli.main(["admin", "target", "list", *store]) == 0
    listed = capsys.readouterr().out
    assert "bus\tamqp://kv:***@127.0.0.1:5672/" in listed and "amqp-pass-xyz" not in listed
    assert '"secret": "***"' in listed and signing_key not in listed


def test_start_seals_targets_stored_in_the_clear(tmp_path: Path) -> None:
    """Rows from before sealing: the server's start (cli._bootstrap) seals them."""
    url = "amqp://kv:amqp-pass-xyz@127.0.0.1:5672/"

    async def body() -> None:
        meta = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))
        await meta.open()
        try:
            await outbox_of(meta).put_event_target("bus", url, "{}", T0)
        finally:
            await meta.close()
        await cli._bootstrap(Settings(data_dir=str(tmp_path)))

    asyncio.run(body())
    with sqlite3.connect(tmp_path / "meta.sqlite3") as db:
        ((stored_url, stored_options),) = db.execute("SELECT url, options FROM event_targets")
    sealer = SecretSealer(load_master_key(None, None, str(tmp_path)))
    assert stored_url.startswith("sealed1:") and "amqp-pass-xyz" not in stored_url
    assert open_target(sealer, "bus", stored_url, stored_options) == (url, {})
