"""The lifecycle worker: applies bucket lifecycle rules and the service's retention cap.

How this works:

    LifecycleWorker.run_once()          one pass; `serve` runs it every --lifecycle-interval
      │                                 seconds on one replica at a time (gateway/jobs/leader.py)
      for each bucket, by name (resuming where an interrupted pass stopped):
        rules = its lifecycle configuration (read fresh); skipped when nothing can be due
        versions: MetaStore.list_object_versions pages of `batch`, key order, newest first
          - each version becomes evaluate.VersionFacts in stream order: noncurrent since
            the creation of the row before it (its successor), noncurrent versions newer
            than it counted per key, "sole" from one row of lookahead (across pages too)
          - page N+1 is fetched before page N's actions run, so the marker it is fetched
            with (page N's last row) is never a version this pass already removed
          - a due action is one MetaStore call that re-checks its own precondition in its
            transaction: expire_object (still that current version), delete_version with a
            RemovalCheck (still the version evaluated, still noncurrent or still a lone
            delete marker, and not protected by object lock). A client write or another
            replica racing the worker turns the action into a no-op ("skipped")
        uploads: MetaStore.list_uploads pages -> abort_upload (NoSuchUpload: already gone)
      between pages: should_continue() (the leader lock is still ours); when it says no,
      the pass stops and the next one resumes after the last key it finished

A protected version (legal hold, retention: gateway/s3/object_lock.py) is never removed; it is
counted as "protected" and, for the retention cap, logged. Everything goes through the
MetaStore (blobs of removed versions go to garbage, for the collector), so it works on
every backend. Counts: LIFECYCLE_ACTIONS (gateway/metrics/series.py) and one log line per pass.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from events.cache import NotificationCache
from events.records import EventIntent, may_match
from gateway.errors import S3Error, S3ErrorCode
from gateway.jobs.leader import LeaderLock, LocalLock, SingletonTask, leader_lock_of
from gateway.meta.base import Bucket, MetaStore, ObjectVersion, RemovalCheck, VersionsPage
from gateway.metrics.series import LIFECYCLE_ACTIONS
from gateway.s3.object_lock import check_removal, is_protected
from lifecycle.evaluate import (
    Action,
    Due,
    Reason,
    Timing,
    VersionFacts,
    due_for_upload,
    due_for_version,
    scans_uploads,
    scans_versions,
)
from lifecycle.expiry import RulesCache
from lifecycle.rules import Rule

log = logging.getLogger(__name__)

BATCH = 1000

DONE, SKIPPED, PROTECTED, FAILED = "done", "skipped", "protected", "failed"


@dataclass
class PassReport:
    """What one pass did, by (action, reason, outcome)."""

    buckets: int = 0
    versions_seen: int = 0
    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    completed: bool = True

    def count(self, due: Due, outcome: str) -> None:
        label = (due.action.value, due.reason.value, outcome)
        self.counts[label] = self.counts.get(label, 0) + 1
        LIFECYCLE_ACTIONS.labels(*label).inc()

    def total(self, outcome: str) -> int:
        return sum(n for (_, _, o), n in self.counts.items() if o == outcome)

    def summary(self) -> str:
        parts = [f"{a} ({r}) {o}: {n}" for (a, r, o), n in sorted(self.counts.items())]
        state = "" if self.completed else " (interrupted, resumes next pass)"
        return f"{self.buckets} buckets, {self.versions_seen} versions seen{state}" + (
            ": " + ", ".join(parts) if parts else ": nothing due"
        )


class _Changed(Exception):
    """The version is no longer what the worker evaluated."""


@dataclass
class _KeyState:
    """What the stream of versions has told about the current key so far."""

    key: str | None = None
    newer_created: float = 0.0
    noncurrent_seen: int = 0


def _facts(v: ObjectVersion, nxt: ObjectVersion | None, state: _KeyState) -> VersionFacts:
    first = v.key != state.key
    if first:
        state.key, state.noncurrent_seen = v.key, 0
    facts = VersionFacts(
        key=v.key,
        created=v.last_modified,
        size=v.size,
        tags=v.tags,
        is_delete_marker=v.is_delete_marker,
        is_latest=v.is_latest,
        noncurrent_since=None if v.is_latest or first else state.newer_created,
        newer_noncurrent=state.noncurrent_seen,
        sole=first and (nxt is None or nxt.key != v.key),
    )
    if not v.is_latest:
        state.noncurrent_seen += 1
    state.newer_created = v.last_modified
    return facts


class LifecycleWorker:
    def __init__(
        self,
        meta: MetaStore,
        timing: Timing,
        *,
        clock: Callable[[], float] = time.time,
        batch: int = BATCH,
        rules: RulesCache | None = None,
        notifications: NotificationCache | None = None,
        events_queued: asyncio.Event | None = None,
    ) -> None:
        self.meta = meta
        # s3:LifecycleExpiration:* events: the buckets' notification rules, and the
        # dispatcher's wake-up call once a removal queued some.
        self.notifications = notifications
        self.events_queued = events_queued
        # Reads are fresh; sharing the request path's cache (Services.lifecycle_rules)
        # refreshes what x-amz-expiration answers with.
        self.rules = rules if rules is not None else RulesCache(meta)
        self.timing = timing
        self.clock = clock
        self.batch = batch
        # Where an interrupted pass stopped: (bucket, the last key whose versions it finished).
        self.resume: tuple[str, str] | None = None

    async def run_once(
        self, should_continue: Callable[[], Awaitable[bool]] | None = None
    ) -> PassReport:
        report = PassReport()
        started = time.monotonic()
        resume, self.resume = self.resume, None
        for bucket in await self.meta.list_buckets():
            if resume is not None and bucket.name < resume[0]:
                continue
            after_key = resume[1] if resume is not None and bucket.name == resume[0] else ""
            report.buckets += 1
            try:
                stopped_at = await self._bucket(bucket, after_key, report, should_continue)
            except S3Error as exc:
                if exc.code is S3ErrorCode.NO_SUCH_BUCKET:
                    continue  # deleted while we looked at it
                raise
            if stopped_at is not None:
                self.resume = (bucket.name, stopped_at)
                report.completed = False
                break
        elapsed = time.monotonic() - started
        if report.counts or not report.completed:
            log.info("lifecycle: pass in %.1fs: %s", elapsed, report.summary())
        else:
            log.debug("lifecycle: pass in %.1fs: %s", elapsed, report.summary())
        return report

    async def _bucket(
        self,
        bucket: Bucket,
        after_key: str,
        report: PassReport,
        should_continue: Callable[[], Awaitable[bool]] | None,
    ) -> str | None:
        rules = await self.rules.get(bucket.name, fresh=True)
        now = self.clock()
        if scans_uploads(rules, self.timing) and not after_key:
            await self._uploads(bucket.name, rules, now, report)
        if not scans_versions(rules, self.timing):
            return None
        return await self._versions(bucket.name, rules, now, after_key, report, should_continue)

    # -- versions -----------------------------------------------------------------------------
    async def _page(self, bucket: str, key_marker: str, version_id_marker: str) -> VersionsPage:
        return await self.meta.list_object_versions(
            bucket,
            key_marker=key_marker,
            version_id_marker=version_id_marker if key_marker else "",
            max_keys=self.batch,
        )

    async def _versions(
        self,
        bucket: str,
        rules: tuple[Rule, ...],
        now: float,
        after_key: str,
        report: PassReport,
        should_continue: Callable[[], Awaitable[bool]] | None,
    ) -> str | None:
        state = _KeyState()
        page = await self._page(bucket, after_key, "")
        finished = after_key
        while True:
            rows = list(page.versions)
            following: VersionsPage | None = None
            if page.is_truncated and page.next_key_marker is not None:
                following = await self._page(
                    bucket, page.next_key_marker, page.next_version_id_marker or ""
                )
            lookahead = following.versions[0] if following and following.versions else None
            plans: list[tuple[ObjectVersion, Due]] = []
            for i, v in enumerate(rows):
                nxt = rows[i + 1] if i + 1 < len(rows) else lookahead
                due = due_for_version(rules, _facts(v, nxt, state), now, self.timing)
                if due is not None:
                    plans.append((v, due))
            report.versions_seen += len(rows)
            for v, due in plans:
                await self._apply(bucket, v, due, now, report)
            if rows:
                # Keys before the next page's first key are finished.
                done = [v.key for v in rows if lookahead is None or v.key < lookahead.key]
                finished = done[-1] if done else finished
            if following is None:
                return None
            if should_continue is not None and not await should_continue():
                return finished
            page = following

    async def _intent(self, bucket: str, key: str, now: float) -> EventIntent | None:
        if self.notifications is None:
            return None
        rules = may_match(await self.notifications.get(bucket), "s3:LifecycleExpiration", key)
        if not rules:
            return None
        # The record names the bucket's region and owner, as a request's events do.
        found = await self.meta.get_bucket(bucket)
        return EventIntent(
            rules,
            "s3:LifecycleExpiration",
            now,
            principal="kloudvault:lifecycle",
            region=found.region if found else "",
            owner=found.owner if found else "",
        )

    async def _apply(
        self, bucket: str, v: ObjectVersion, due: Due, now: float, report: PassReport
    ) -> None:
        events = await self._intent(bucket, v.key, now)
        try:
            await self._act(bucket, v, due, now, report, events)
        finally:
            if events is not None and self.events_queued is not None:
                self.events_queued.set()  # after the commit: wake the dispatcher

    async def _act(
        self,
        bucket: str,
        v: ObjectVersion,
        due: Due,
        now: float,
        report: PassReport,
        events: EventIntent | None,
    ) -> None:
        if due.action is Action.REMOVE and is_protected(v, now=now):
            report.count(due, PROTECTED)
            if due.reason is Reason.RETENTION_CAP:
                log.info(
                    "lifecycle: retention cap: %s/%s version %s is protected by object lock"
                    " or a legal hold; kept",
                    bucket,
                    v.key,
                    v.version_id,
                )
            return
        try:
            if due.action is Action.EXPIRE:
                outcome = await self.meta.expire_object(
                    bucket,
                    v.key,
                    version_id=v.version_id,
                    last_modified=v.last_modified,
                    now=now,
                    events=events,
                )
                report.count(due, SKIPPED if outcome is None else DONE)
                return
            await self.meta.delete_version(
                bucket,
                v.key,
                v.version_id,
                now=now,
                check=_removal_check(v, due, now),
                events=events,
            )
        except _Changed:
            report.count(due, SKIPPED)
            return
        except S3Error as exc:
            if exc.code is S3ErrorCode.ACCESS_DENIED:
                report.count(due, PROTECTED)  # locked since we listed it
                return
            if exc.code is S3ErrorCode.NO_SUCH_BUCKET:
                raise
            log.warning("lifecycle: %s/%s %s: %s", bucket, v.key, v.version_id, exc)
            report.count(due, FAILED)
            return
        report.count(due, DONE)

    # -- uploads ------------------------------------------------------------------------------
    async def _uploads(
        self, bucket: str, rules: tuple[Rule, ...], now: float, report: PassReport
    ) -> None:
        key_marker, id_marker = "", ""
        while True:
            page = await self.meta.list_uploads(
                bucket, key_marker=key_marker, upload_id_marker=id_marker, max_uploads=self.batch
            )
            for upload in page.uploads:
                due = due_for_upload(
                    rules, key=upload.key, initiated=upload.initiated, now=now, timing=self.timing
                )
                if due is None:
                    continue
                try:
                    await self.meta.abort_upload(bucket, upload.key, upload.upload_id, now=now)
                except S3Error as exc:
                    if exc.code is not S3ErrorCode.NO_SUCH_UPLOAD:
                        raise
                    report.count(due, SKIPPED)
                    continue
                report.count(due, DONE)
            if not page.is_truncated or page.next_key_marker is None:
                return
            key_marker, id_marker = page.next_key_marker, page.next_upload_id_marker or ""


def _removal_check(evaluated: ObjectVersion, due: Due, now: float) -> RemovalCheck:
    """The RemovalCheck of a lifecycle removal: the version is still what was evaluated."""

    def check(stored: ObjectVersion, *, sole: bool) -> None:
        if stored.last_modified != evaluated.last_modified:
            raise _Changed  # the "null" version was replaced
        if due.reason is Reason.NONCURRENT_EXPIRATION and stored.is_latest:
            raise _Changed  # its successor was removed: it is current again
        lone_marker = stored.is_latest and stored.is_delete_marker
        if due.reason is Reason.EXPIRED_DELETE_MARKER and not (lone_marker and sole):
            raise _Changed
        if due.reason is Reason.RETENTION_CAP and lone_marker and not sole:
            raise _Changed  # removing it would bring older versions back
        check_removal(stored, now=now)

    return check


def lifecycle_task(
    meta: MetaStore,
    timing: Timing,
    *,
    interval: float,
    clock: Callable[[], float] = time.time,
    rules: RulesCache | None = None,
    notifications: NotificationCache | None = None,
    events_queued: asyncio.Event | None = None,
) -> SingletonTask:
    """The worker as `serve` runs it: every `interval` seconds, on the replica holding the
    "lifecycle" leader lock (PostgreSQL), or here alone (SQLite: one machine, and `serve`
    starts background work in its first worker process only)."""
    worker = LifecycleWorker(
        meta,
        timing,
        clock=clock,
        rules=rules,
        notifications=notifications,
        events_queued=events_queued,
    )
    lock: LeaderLock = leader_lock_of(meta, "lifecycle") or LocalLock()

    async def work() -> PassReport:
        return await worker.run_once(lock.held)

    return SingletonTask("lifecycle", lock, work, interval=interval)
