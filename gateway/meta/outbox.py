"""The event outbox as the dispatcher and `admin events` see it: a Protocol, and how to
reach it behind a MetaStore (the SQL store itself, or the one a CachedMetaStore wraps).

These are not MetaStore methods: no handler calls them, nothing of theirs is cached, and
the write path reaches the outbox only through the `events` argument of its writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from events.records import EVENT, OutboxEvent
from gateway.meta.replication import ReplicationTarget


class EventOutbox(Protocol):
    """gateway/meta/events.py documents each body."""

    async def queue_event(self, event: OutboxEvent) -> int: ...

    async def due_events(
        self, now: float, limit: int = 100, *, kind: str = EVENT
    ) -> list[OutboxEvent]: ...

    async def next_event_due(self, after: float, *, kind: str = EVENT) -> float | None: ...

    async def events_delivered(self, ids: Sequence[int]) -> None: ...

    async def event_failed(
        self, event_id: int, *, error: str, next_attempt: float | None
    ) -> None: ...

    async def outbox_depth(self, *, kind: str = EVENT) -> tuple[int, int]: ...

    async def list_events(
        self, *, dead: bool = False, limit: int = 1000, kind: str = EVENT
    ) -> list[OutboxEvent]: ...

    async def replay_events(self, ids: Sequence[int] | None, *, kind: str = EVENT) -> int: ...

    async def purge_events(self, ids: Sequence[int] | None, *, kind: str = EVENT) -> int: ...

    async def put_event_target(self, name: str, url: str, options: str, now: float) -> None: ...

    async def list_event_targets(self) -> list[tuple[str, str, str]]: ...

    async def reseal_event_target(
        self, name: str, stored: tuple[str, str], sealed: tuple[str, str]
    ) -> bool: ...

    async def delete_event_target(self, name: str) -> bool: ...

    # Replication (gateway/meta/replication.py): its targets, resync, the lag.
    async def put_replication_target(self, target: ReplicationTarget, now: float) -> None: ...

    async def list_replication_targets(self) -> list[ReplicationTarget]: ...

    async def delete_replication_target(self, name: str) -> bool: ...

    async def resync_replication(
        self,
        bucket: str,
        routes: Sequence[tuple[str, str]],
        *,
        now: float,
        failed_only: bool,
        after: str = "",
        limit: int = 1000,
    ) -> tuple[int, str | None]: ...

    async def other_replication_work(
        self, exclude: Sequence[int], bucket: str, key: str, version_id: str
    ) -> int: ...

    async def oldest_pending_replication(self) -> float | None: ...


def outbox_of(meta: object) -> EventOutbox:
    """The outbox of `meta`: a SqlMetaStore, possibly inside a CachedMetaStore (`inner`)
    and the tracing wrapper (gateway/tracing.py, `_inner`)."""
    from gateway.meta.store import SqlMetaStore

    store = meta
    for _ in range(4):  # at most: tracing -> cache -> SQL
        if isinstance(store, SqlMetaStore):
            return store
        wrapped = (
            vars(store).get("inner", vars(store).get("_inner"))
            if hasattr(store, "__dict__")
            else None
        )
        if wrapped is None:
            break
        store = wrapped
    raise TypeError(f"{type(meta).__name__} has no event outbox")
