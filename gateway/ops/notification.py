"""PutBucketNotificationConfiguration, GetBucketNotificationConfiguration, and the events
the other operations' writes queue.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketNotificationConfiguration.html.
The configuration is validated against the configured targets (events.config) and stored
as the bucket's "notification" document (its XML); an empty configuration removes it.
Saving one queues an s3:TestEvent to each target it names, through the outbox like any
event. Other handlers ask event_intent() what their change should queue and pass it to
the MetaStore write, which inserts the outbox rows in the change's own transaction; then
notify() wakes the dispatcher (gateway/jobs/event_dispatch.py).
"""

from __future__ import annotations

import logging

import gateway.xml.notification  # noqa: F401  (registers NotificationConfiguration's codec)
from events.config import (
    MAX_CONFIGURATION_BYTES,
    NOTIFICATION,
    TEST_EVENT,
    NotificationConfiguration,
    validate,
)
from events.records import REMOVAL_FAMILIES, EventIntent, OutboxEvent, matching, may_match
from events.scan.quarantine import QuarantineHook
from gateway.context import RequestContext, Services
from gateway.meta.base import ObjectVersion
from gateway.meta.outbox import outbox_of
from gateway.ops.replication import replication_routes
from gateway.responses import S3Response
from gateway.xml.codec import parse, render

log = logging.getLogger("kloudvault")


async def put_bucket_notification_configuration(ctx: RequestContext) -> S3Response:
    bucket, services = ctx.target_bucket, ctx.services
    payload = await ctx.body.read_all(MAX_CONFIGURATION_BYTES)
    config = parse(NotificationConfiguration, payload, max_size=MAX_CONFIGURATION_BYTES)
    config = validate(config, await services.targets.names())
    document = render(config).decode() if config.rules else None
    await services.meta.put_bucket_config(bucket.name, NOTIFICATION, document)
    services.notifications.forget(bucket.name)
    if config.rules:
        outbox = outbox_of(services.meta)
        for target in sorted({r.target for r in config.rules}):
            await outbox.queue_event(
                OutboxEvent(
                    id=0,
                    target=target,
                    config_id="",
                    bucket=bucket.name,
                    key="",
                    event_name=TEST_EVENT,
                    event_time=services.clock(),
                    request_id=ctx.request_id,
                    region=bucket.region,
                    owner=bucket.owner,
                )
            )
        services.events_queued.set()
    return S3Response(200)


async def get_bucket_notification_configuration(ctx: RequestContext) -> S3Response:
    document = await ctx.services.meta.get_bucket_config(ctx.target_bucket.name, NOTIFICATION)
    if document is None:  # S3 answers an empty configuration, not an error
        return S3Response.xml(render(NotificationConfiguration()))
    return S3Response.xml(document.encode())


async def event_intent(ctx: RequestContext, event: str, key: str) -> EventIntent | None:
    """What a write of `key` in the addressed bucket passes to the MetaStore as `events`:
    the notification rules that could match and the replication rules that may cover the
    change (gateway/ops/replication.py); None when there are neither (most buckets)."""
    bucket = ctx.target_bucket
    rules = await ctx.services.notifications.get(bucket.name)
    family = event if event in REMOVAL_FAMILIES else event.rsplit(":", 1)[0]
    candidates = may_match(rules, family, key) if rules else ()
    routes = await replication_routes(ctx, event, key)
    if not candidates and not routes:
        return None
    requester = ctx.access.requester
    return EventIntent(
        candidates,
        event,
        time=ctx.services.clock(),
        principal=requester.user_id or requester.account_id or "anonymous",
        source_ip=ctx.access.keys.get("aws:sourceip", ("",))[0],
        request_id=ctx.request_id,
        region=bucket.region,
        owner=bucket.owner,
        replication=routes,
    )


def notify(ctx: RequestContext, intent: EventIntent | None) -> None:
    """After a write that may have queued events or replication: wake this process's
    dispatcher and replication worker."""
    if intent is not None:
        if intent.rules:
            ctx.services.events_queued.set()
        if intent.replication:
            ctx.services.replication_queued.set()


# The malware scan's quarantine (events/scan/worker.py) puts tags on the object; it is
# reported as the tag change it is, to the rules that ask for s3:ObjectTagging:Put.
QUARANTINE_EVENT = "s3:ObjectTagging:Put"


def quarantine_events(services: Services) -> QuarantineHook:
    """The scan worker's on_quarantine hook: queue the quarantined object's event."""

    async def queue(version: ObjectVersion, status: str) -> None:
        rules = matching(await services.notifications.get(version.bucket), QUARANTINE_EVENT,
                         version.key)  # fmt: skip
        if not rules:
            return
        bucket = await services.meta.get_bucket(version.bucket)
        outbox = outbox_of(services.meta)
        for rule in rules:
            await outbox.queue_event(
                OutboxEvent(
                    id=0,
                    target=rule.target,
                    config_id=rule.id or "",
                    bucket=version.bucket,
                    key=version.key,
                    event_name=QUARANTINE_EVENT,
                    event_time=services.clock(),
                    version_id=version.version_id,
                    size=version.size,
                    etag=version.etag,
                    principal="kloudvault-scan",
                    region=bucket.region if bucket else "",
                    owner=bucket.owner if bucket else "",
                )
            )
        log.info("quarantine of %s/%s (%s) queued its event", version.bucket, version.key, status)
        services.events_queued.set()

    return queue
