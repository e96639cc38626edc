"""lifecycle/worker.py over every metadata store, with a moved clock and a scaled day:
expiry, noncurrent expiry, expired delete markers, object lock, the retention cap,
stale uploads, and a pass that stops half-way and resumes."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from gateway.meta.base import MetaStore, ObjectVersion, Upload
from gateway.s3.tagging import Tag
from gateway.xml.codec import render
from lifecycle.evaluate import Timing
from lifecycle.rules import (
    AbortIncompleteMultipartUpload,
    Expiration,
    Filter,
    LifecycleConfiguration,
    NoncurrentVersionExpiration,
    Rule,
)
from lifecycle.worker import DONE, PROTECTED, LifecycleWorker, PassReport
from tests.contract.test_metastore_contract import NOW, make_bucket, put

DAY = 10.0  # one lifecycle "day" lasts 10 seconds here


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def set_rules(store: MetaStore, bucket: str, *rules: Rule) -> None:
    document = render(LifecycleConfiguration(rules)).decode()
    await store.put_bucket_config(bucket, "lifecycle", document)


async def versions(store: MetaStore, bucket: str = "bkt") -> list[tuple[str, str, bool]]:
    page = await store.list_object_versions(bucket)
    return [(v.key, v.version_id, v.is_delete_marker) for v in page.versions]


def done(report: PassReport, reason: str) -> int:
    return sum(n for (_, r, o), n in report.counts.items() if r == reason and o == DONE)


def test_expiration_unversioned(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        clock = Clock()
        worker = LifecycleWorker(metastore, Timing(DAY), clock=clock)
        await make_bucket(metastore)
        await set_rules(
            metastore,
            "bkt",
            Rule("Enabled", "logs", Filter(prefix="logs/"), expiration=Expiration(1)),
            Rule("Enabled", "tmp", Filter(tag=Tag("t", "tmp")), expiration=Expiration(2)),
        )
        await put(metastore, "logs/old")
        await put(metastore, "data/keep")
        tagged = await put(metastore, "data/tagged")
        await metastore.update_version(
            "bkt", "data/tagged", None, lambda v: replace(v, tags={"t": "tmp"})
        )
        clock.now = NOW + DAY - 1
        assert (await worker.run_once()).counts == {}
        clock.now = NOW + DAY
        report = await worker.run_once()
        assert done(report, "expiration") == 1
        assert [k for k, _, _ in await versions(metastore)] == ["data/keep", "data/tagged"]
        clock.now = NOW + 2 * DAY
        await worker.run_once()
        assert [k for k, _, _ in await versions(metastore)] == ["data/keep"]
        assert tagged.key == "data/tagged"

    aio.run(body())


def test_versioned_flows(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        clock = Clock()
        worker = LifecycleWorker(metastore, Timing(DAY), clock=clock)
        await make_bucket(metastore, versioning="Enabled")
        await set_rules(
            metastore,
            "bkt",
            Rule("Enabled", "cur", Filter(prefix="cur/"), expiration=Expiration(1)),
            Rule(
                "Enabled",
                "nc",
                Filter(prefix="nc/"),
                noncurrent_version_expiration=NoncurrentVersionExpiration(1, 1),
            ),
            Rule(
                "Enabled", "dm", Filter(), expiration=Expiration(expired_object_delete_marker=True)
            ),
        )
        c1 = await put(metastore, "cur/a", version_id="c1")
        # nc/k: v1 (t0), v2 (t0 + 5), v3 (t0 + 20): v1 noncurrent since t0 + 5, v2 since
        # t0 + 20; NewerNoncurrentVersions=1 keeps the newest noncurrent one (v2) anyway.
        await put(metastore, "nc/k", version_id="v1")
        await put(metastore, "nc/k", version_id="v2", now=NOW + 5)
        await put(metastore, "nc/k", version_id="v3", now=NOW + 20)
        # A key whose only version is a delete marker (its data was removed by id).
        await put(metastore, "gone", version_id="g1")
        await metastore.delete_object("bkt", "gone", now=NOW)
        await metastore.delete_object("bkt", "gone", "g1", now=NOW)

        clock.now = NOW + 14
        report = await worker.run_once()
        assert done(report, "expired-delete-marker") == 1
        assert done(report, "noncurrent-expiration") == 0  # v1: noncurrent for 9 s only
        # Current expiry adds a delete marker: the data stays as a noncurrent version.
        assert done(report, "expiration") == 1
        clock.now = NOW + 15
        report = await worker.run_once()
        assert done(report, "noncurrent-expiration") == 1
        assert [v for k, v, _ in await versions(metastore) if k == "nc/k"] == ["v3", "v2"]
        rows = [(v, m) for k, v, m in await versions(metastore) if k == "cur/a"]
        assert len(rows) == 2 and rows[0][1] and rows[1] == ("c1", False)
        assert (await metastore.get_object("bkt", "cur/a", "c1")) == replace(c1, is_latest=False)
        assert "gone" not in {k for k, _, _ in await versions(metastore)}
        clock.now = NOW + 100
        report = await worker.run_once()
        assert done(report, "noncurrent-expiration") == 0  # v2 is kept (newer noncurrent: 0)

    aio.run(body())


def test_locked_versions_survive(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        clock = Clock()
        worker = LifecycleWorker(metastore, Timing(DAY, max_retention_days=1), clock=clock)
        await make_bucket(metastore, versioning="Enabled")
        await metastore.enable_object_lock("bkt")
        await set_rules(
            metastore,
            "bkt",
            Rule(
                "Enabled",
                "nc",
                Filter(),
                noncurrent_version_expiration=NoncurrentVersionExpiration(1),
            ),
        )

        def held(v: ObjectVersion) -> ObjectVersion:
            return replace(v, legal_hold=True)

        def retained(v: ObjectVersion) -> ObjectVersion:
            return replace(v, retention_mode="GOVERNANCE", retain_until=NOW + 1000)

        await put(metastore, "hold", version_id="h1")
        await metastore.update_version("bkt", "hold", "h1", held)
        await put(metastore, "hold", version_id="h2", now=NOW + 1)
        await put(metastore, "ret", version_id="r1")
        await metastore.update_version("bkt", "ret", "r1", retained)
        await put(metastore, "free", version_id="f1")
        clock.now = NOW + 50
        report = await worker.run_once()
        # hold/h1 (noncurrent, held), ret/r1 (current, retained): kept, counted.
        assert ("hold", "h1", False) in await versions(metastore)
        assert ("ret", "r1", False) in await versions(metastore)
        assert report.total(PROTECTED) == 2
        # The cap removed what nothing protects: free/f1 and hold/h2.
        assert done(report, "retention-cap") == 2
        assert {k for k, _, _ in await versions(metastore)} == {"hold", "ret"}
        # Once the hold is lifted and the retention ends, they go too.
        await metastore.update_version("bkt", "hold", "h1", lambda v: replace(v, legal_hold=False))
        clock.now = NOW + 1001
        await worker.run_once()
        assert await versions(metastore) == []

    aio.run(body())


def test_cap_without_rules_and_stale_uploads(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        clock = Clock()
        await make_bucket(metastore)
        await make_bucket(metastore, "other")
        await set_rules(
            metastore,
            "other",
            Rule(
                "Enabled",
                "mpu",
                Filter(prefix="up/"),
                abort_incomplete_multipart_upload=AbortIncompleteMultipartUpload(1),
            ),
        )
        await put(metastore, "old")
        await put(metastore, "new", now=NOW + 25)
        await metastore.create_upload(Upload("other", "up/a", "u-old", NOW, owner="alice"))
        await metastore.create_upload(Upload("other", "up/b", "u-new", NOW + 8, owner="alice"))
        await metastore.create_upload(Upload("other", "keep/c", "u-keep", NOW, owner="alice"))
        clock.now = NOW + 10
        report = await LifecycleWorker(metastore, Timing(DAY), clock=clock).run_once()
        assert done(report, "abort-incomplete-upload") == 1
        left = (await metastore.list_uploads("other")).uploads
        assert [u.upload_id for u in left] == ["u-keep", "u-new"]
        # Without the cap the rule-less bucket keeps everything; with it, old objects go.
        assert [k for k, _, _ in await versions(metastore)] == ["new", "old"]
        clock.now = NOW + 30
        capped = LifecycleWorker(metastore, Timing(DAY, max_retention_days=2), clock=clock)
        report = await capped.run_once()
        assert [k for k, _, _ in await versions(metastore)] == ["new"]
        assert [u.upload_id for u in (await metastore.list_uploads("other")).uploads] == []

    aio.run(body())


def test_pass_stops_and_resumes(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        clock = Clock(NOW + 100)
        await make_bucket(metastore, versioning="Enabled")
        await set_rules(
            metastore,
            "bkt",
            Rule(
                "Enabled",
                "nc",
                Filter(),
                noncurrent_version_expiration=NoncurrentVersionExpiration(1),
            ),
        )
        for key in ("a", "b", "c", "d"):
            await put(metastore, key, version_id=f"{key}1")
            await put(metastore, key, version_id=f"{key}2", now=NOW + 1)
        worker = LifecycleWorker(metastore, Timing(DAY), clock=clock, batch=3)
        pages = 0

        async def one_page() -> bool:
            nonlocal pages
            pages += 1
            return False  # the leader lock is gone after each page

        first = await worker.run_once(one_page)
        # One tuple: `resume == (...)` alone would narrow it for mypy, past the next pass.
        assert (first.completed, worker.resume) == (False, ("bkt", "a"))
        assert {v for _, v, _ in await versions(metastore)} == {
            "a2",
            "b1",
            "b2",
            "c1",
            "c2",
            "d1",
            "d2",
        }
        rest = await worker.run_once()
        assert rest.completed and worker.resume is None
        assert {v for _, v, _ in await versions(metastore)} == {"a2", "b2", "c2", "d2"}
        assert pages == 1

    aio.run(body())
