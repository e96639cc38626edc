"""The event outbox (gateway/meta/events.py) on every METASTORE_FACTORIES entry: rows
commit with the change that causes them and never without it, the dispatcher's head-of-key
query, failure bookkeeping, replay and purge, ids that never go back, and the targets."""

from __future__ import annotations

import asyncio
import os

import pytest

from auth.sealed import SecretSealer
from events.config import NotificationRule
from events.records import EventIntent, OutboxEvent
from events.targets.sealing import open_target, reseal_event_targets
from gateway.errors import S3Error
from gateway.meta.base import Bucket, MetaStore, ObjectVersion, Precondition, Segment
from gateway.meta.outbox import outbox_of

NOW = 1_700_000_000.0
RULES = (
    NotificationRule("Queue", "arn:kloudvault:sqs:r:1:hook", ("s3:ObjectCreated:*",), "c1"),
    NotificationRule("Queue", "arn:kloudvault:sqs:r:1:gone", ("s3:ObjectRemoved:*",), "c2"),
)


def intent(event: str) -> EventIntent:
    return EventIntent(RULES, event, NOW, principal="p", source_ip="127.0.0.1", request_id="r")


async def put(store: MetaStore, key: str, data_id: str, **kwargs: object) -> ObjectVersion:
    await store.add_pending_blob(data_id, now=NOW)
    version = ObjectVersion(
        "b", key, "v-" + data_id, NOW, size=3, etag="abc", segments=(Segment(data_id, 3),)
    )
    return await store.put_object(version, **kwargs)  # type: ignore[arg-type]


def test_outbox_rows_commit_with_the_change(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        outbox = outbox_of(metastore)
        await metastore.create_user("alice", now=NOW)
        await metastore.create_bucket(Bucket("b", "alice", NOW))
        await put(metastore, "k", "blob1", events=intent("s3:ObjectCreated:Put"))
        await put(metastore, "quiet", "blob2")  # no intent: no row
        with pytest.raises(S3Error):  # refused: its event is not queued either
            await put(
                metastore,
                "k",
                "blob3",
                precondition=Precondition(if_none_match_any=True),
                events=intent("s3:ObjectCreated:Put"),
            )
        await metastore.delete_object("b", "k", now=NOW, events=intent("s3:ObjectRemoved"))
        await metastore.delete_object("b", "none", now=NOW, events=intent("s3:ObjectRemoved"))
        rows = await outbox.list_events()
        assert [(e.key, e.event_name, e.target, e.config_id) for e in rows] == [
            ("k", "s3:ObjectCreated:Put", "hook", "c1"),
            ("k", "s3:ObjectRemoved:Delete", "gone", "c2"),
        ]
        assert (rows[0].size, rows[0].etag, rows[0].version_id) == (3, "abc", "null")
        assert rows[0].source_ip == "127.0.0.1" and rows[0].event_time == NOW
        # One head per (target, bucket, key): both, as their targets differ.
        assert [e.id for e in await outbox.due_events(NOW)] == [e.id for e in rows]

    aio.run(body())


def test_outbox_dispatch_bookkeeping_and_targets(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        outbox = outbox_of(metastore)

        def ev(key: str) -> OutboxEvent:
            return OutboxEvent(0, "hook", "c", "b", key, "s3:ObjectCreated:Put", NOW)

        a1, b1, a2 = [await outbox.queue_event(ev(k)) for k in ("a", "b", "a")]
        assert a1 < b1 < a2
        assert [e.id for e in await outbox.due_events(NOW)] == [a1, b1]
        await outbox.event_failed(a1, error="boom", next_attempt=NOW + 5)
        assert [e.id for e in await outbox.due_events(NOW)] == [b1]  # a2 waits behind a1
        assert await outbox.next_event_due(NOW) == NOW + 5
        assert [e.id for e in await outbox.due_events(NOW + 5)] == [a1, b1]
        await outbox.event_failed(a1, error="boom again", next_attempt=None)
        (dead,) = await outbox.list_events(dead=True)
        assert (dead.id, dead.attempts, dead.last_error) == (a1, 2, "boom again")
        assert [e.id for e in await outbox.due_events(NOW)] == [b1, a2]
        await outbox.events_delivered([b1, a2])
        assert await outbox.outbox_depth() == (0, 1)
        assert await outbox.replay_events([a1]) == 1
        (back,) = await outbox.due_events(NOW)
        assert (back.id, back.attempts, back.state) == (a1, 0, "pending")
        await outbox.event_failed(a1, error="x", next_attempt=None)
        assert await outbox.purge_events(None) == 1
        assert await outbox.outbox_depth() == (0, 0)
        # Emptied: ids still go up, so one key's sequencers never go back.
        assert await outbox.queue_event(ev("a")) > a2
        # The targets `admin target add` stores.
        await outbox.put_event_target("hook", "http://h/1", "{}", NOW)
        await outbox.put_event_target("hook", "https://h/2", '{"timeout": 3}', NOW)
        await outbox.put_event_target("bus", "nats://n:4222", "{}", NOW)
        assert await outbox.list_event_targets() == [
            ("bus", "nats://n:4222", "{}"),
            ("hook", "https://h/2", '{"timeout": 3}'),
        ]
        assert await outbox.delete_event_target("bus")
        assert not await outbox.delete_event_target("bus")

    aio.run(body())


def test_stored_targets_sealed_at_start(metastore: MetaStore, aio: asyncio.Runner) -> None:
    """Targets stored in the clear (before sealing) are sealed by reseal_event_targets, as
    the server runs it at start; a rotated master key moves them; a row replaced meanwhile
    is left to its writer."""
    url = "amqp://kv:amqp-pass-xyz@127.0.0.1:5672/"
    options = '{"secret": "hook-signing-key"}'

    async def body() -> None:
        outbox = outbox_of(metastore)
        await outbox.put_event_target("bus", url, options, NOW)
        await outbox.put_event_target("hook", "http://h/", "{}", NOW)
        old, new = os.urandom(32), os.urandom(32)
        sealer = SecretSealer(old)
        assert await reseal_event_targets(outbox, SecretSealer(None)) == 0  # sealing off
        assert await reseal_event_targets(outbox, sealer) == 2
        rows = await outbox.list_event_targets()
        for _, stored_url, stored_options in rows:
            assert stored_url.startswith("sealed1:") and stored_options.startswith("sealed1:")
            assert "amqp-pass-xyz" not in stored_url and "signing" not in stored_options
        by_name = {r[0]: r for r in rows}
        assert open_target(sealer, *by_name["bus"]) == (url, {"secret": "hook-signing-key"})
        assert await reseal_event_targets(outbox, sealer) == 0
        rotated = SecretSealer(new, previous=[old])
        assert await reseal_event_targets(outbox, rotated) == 2
        assert open_target(SecretSealer(new), *(await outbox.list_event_targets())[0]) == (
            url,
            {"secret": "hook-signing-key"},
        )
        stale = by_name["hook"][1:]
        assert not await outbox.reseal_event_target("hook", stale, ("x", "y"))

    aio.run(body())
