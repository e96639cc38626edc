"""`kloudvault admin replication ...`: replication targets, resync and status from the shell,
on the metadata store directly (they work while the gateway runs; every replica's worker
sees a target change within gateway/replication/targets.py's REFRESH seconds).

    kloudvault admin replication target add NAME --endpoint URL --access-key K
        --secret-key S [--region R] [--bucket B]... [--kloudvault]
    kloudvault admin replication target list
    kloudvault admin replication target remove NAME
    kloudvault admin replication resync BUCKET [--failed]
    kloudvault admin replication status [BUCKET] [--limit N]

A rule's destination arn:aws:s3:::B names bucket B on the target added with --bucket B
(one target per bucket). --kloudvault: the target is a KloudVault whose key may write
replicas (s3:ReplicateObject, s3:ReplicateDelete, s3:ReplicateTags; an account's own keys
may): copies keep their version ids and are marked REPLICA there. The secret is stored
sealed under the master key (give the same --master-key-file as `serve`). resync queues
every latest version of BUCKET (with --failed, only those whose status is FAILED, and
drops their dead rows) for each Enabled rule; the worker copies what the rules cover.
Exit status 1 on any refusal.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import gateway.xml.replication  # noqa: F401  (registers ReplicationConfiguration's codec)
from auth.sealed import SecretSealer
from events.records import REPLICATION
from gateway.meta.base import MetaStore
from gateway.meta.outbox import EventOutbox
from gateway.meta.replication import ReplicationTarget
from gateway.replication.targets import sealed_as
from gateway.s3.replication import REPLICATION as REPLICATION_CONFIG
from gateway.s3.replication import ReplicationConfiguration
from gateway.xml.codec import parse

Add = Callable[[str, str], argparse.ArgumentParser]


def add_replication_commands(add: Add, add_group: Callable[[str, str], Add]) -> None:
    target = add_group("target", "the S3 endpoints replicas go to")
    target_add = target("add", "add or replace a target (every replica sees it)")
    target_add.add_argument("name")
    target_add.add_argument("--endpoint", required=True, help="http(s)://host:port")
    target_add.add_argument("--access-key", required=True)
    target_add.add_argument("--secret-key", required=True)
    target_add.add_argument("--region", default="us-east-1")
    target_add.add_argument(
        "--bucket",
        action="append",
        default=[],
        dest="buckets",
        help="a bucket on the target that rules may name (arn:aws:s3:::BUCKET); repeatable",
    )
    target_add.add_argument(
        "--kloudvault",
        action="store_true",
        default=False,
        help="the target is a KloudVault: keep version ids, mark copies REPLICA",
    )
    target("list", "the targets and the buckets they serve")
    target("remove", "remove a target").add_argument("name")
    resync = add("resync", "queue a bucket's existing (or failed) versions for replication")
    resync.add_argument("bucket")
    resync.add_argument("--failed", action="store_true", default=False,
                        help="only the versions whose replication FAILED")  # fmt: skip
    status = add("status", "pending and failed replication work")
    status.add_argument("bucket", nargs="?", default=None)
    status.add_argument("--limit", type=int, default=1000)


async def run_replication(
    meta: MetaStore, outbox: EventOutbox, sealer: SecretSealer, args: argparse.Namespace
) -> int:
    action = args.replication_action
    if action == "target":
        return await _target(outbox, sealer, args)
    if action == "resync":
        return await _resync(meta, outbox, args)
    if action == "status":
        return await _status(outbox, args)
    raise AssertionError("argparse admits no other command")


async def _target(outbox: EventOutbox, sealer: SecretSealer, args: argparse.Namespace) -> int:
    what = args.replication_target_action
    if what == "add":
        if not args.endpoint.startswith(("http://", "https://")):
            print("--endpoint must be an http:// or https:// URL", file=sys.stderr)
            return 1
        target = ReplicationTarget(
            args.name,
            args.endpoint.rstrip("/"),
            args.access_key,
            sealer.seal(sealed_as(args.name), args.secret_key),
            args.region,
            args.kloudvault,
            tuple(dict.fromkeys(args.buckets)),
        )
        try:
            await outbox.put_replication_target(target, time.time())
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        for bucket in target.buckets:
            print(f"target {args.name}: arn:aws:s3:::{bucket}")
        return 0
    if what == "list":
        for t in await outbox.list_replication_targets():
            kind = "kloudvault" if t.kloudvault else "s3"
            # The secret stays out of the output.
            print(f"{t.name}\t{t.endpoint}\t{t.region}\t{kind}\t{t.access_key}"
                  f"\t{','.join(t.buckets)}")  # fmt: skip
        return 0
    if what == "remove":
        if not await outbox.delete_replication_target(args.name):
            print(f"no such target {args.name}", file=sys.stderr)
            return 1
        print(f"removed target {args.name}")
        return 0
    raise AssertionError("argparse admits no other command")


async def _resync(meta: MetaStore, outbox: EventOutbox, args: argparse.Namespace) -> int:
    document = await meta.get_bucket_config(args.bucket, REPLICATION_CONFIG)
    if document is None:
        print(f"bucket {args.bucket} has no replication configuration", file=sys.stderr)
        return 1
    config = parse(ReplicationConfiguration, document.encode())
    routes = sorted({(r.id or "", r.destination.bucket_name) for r in config.rules if r.enabled})
    queued, after, now = 0, "", time.time()
    while True:  # one transaction per page of keys: a large bucket never in one
        count, last = await outbox.resync_replication(
            args.bucket, routes, now=now, failed_only=args.failed, after=after
        )
        queued += count
        if last is None:
            break
        after = last
    print(f"queued {queued} copies of {args.bucket}")
    return 0


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _status(outbox: EventOutbox, args: argparse.Namespace) -> int:
    for dead in (False, True):
        rows = await outbox.list_events(dead=dead, limit=args.limit, kind=REPLICATION)
        for e in rows:
            if args.bucket is not None and e.bucket != args.bucket:
                continue
            print(f"{'failed' if dead else 'pending'}\t{e.id}\t{_iso(e.event_time)}"
                  f"\t{e.event_name}\t{e.bucket}/{e.key}\t{e.version_id}\t-> {e.target}"
                  f"\tattempts={e.attempts}\t{e.last_error or ''}".rstrip())  # fmt: skip
    pending, dead_count = await outbox.outbox_depth(kind=REPLICATION)
    oldest = await outbox.oldest_pending_replication()
    lag = 0.0 if oldest is None else max(0.0, time.time() - oldest)
    print(f"# {pending} pending, {dead_count} failed, lag {lag:.1f}s", file=sys.stderr)
    return 0
