"""x-amz-expiration, and the cache of bucket rules it reads.

GetObject, HeadObject, PutObject and CopyObject answer x-amz-expiration when a lifecycle
rule or the service's retention cap will expire the current version
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_ResponseSyntax).
Reading the bucket's rules on every request would cost a metadata lookup each, so they
go through a RulesCache: one per process (Services owns it), entries live CACHE_TTL
seconds (the header is advisory), and a rule change on this process voids its entry at
once. The lifecycle worker reads through the same cache with fresh=True.
"""

from __future__ import annotations

from urllib.parse import quote

from gateway.meta.base import ObjectVersion
from gateway.meta.config_cache import BucketConfigCache
from gateway.s3.headers import http_date
from gateway.settings import Settings
from gateway.xml.lifecycle import load_configuration
from lifecycle.evaluate import Timing, current_expiration
from lifecycle.rules import Rule

# The bucket configuration document holding the LifecycleConfiguration.
LIFECYCLE = "lifecycle"


def timing_of(settings: Settings) -> Timing:
    return Timing(settings.lifecycle_day_seconds, settings.max_retention_days)


class RulesCache(BucketConfigCache[tuple[Rule, ...]]):
    """Each bucket's lifecycle rules (enabled and disabled; empty without a configuration)."""

    name = LIFECYCLE

    def load(self, document: str | None) -> tuple[Rule, ...]:
        return load_configuration(document).rules if document else ()


def expiration(version: ObjectVersion, rules: tuple[Rule, ...], timing: Timing) -> dict[str, str]:
    """x-amz-expiration of a current version under `rules` and the retention cap. Pure."""
    found = current_expiration(
        rules,
        key=version.key,
        size=version.size,
        tags=version.tags,
        created=version.last_modified,
        timing=timing,
    )
    if found is None:
        return {}
    at, rule_id = found
    return {"x-amz-expiration": f'expiry-date="{http_date(at)}", rule-id="{quote(rule_id)}"'}


async def expiration_headers(
    cache: RulesCache, timing: Timing, version: ObjectVersion
) -> dict[str, str]:
    """x-amz-expiration for `version`, if it is current and something expires it."""
    if version.is_delete_marker or not version.is_latest:
        return {}
    rules = await cache.get(version.bucket)
    if not rules and timing.max_retention_days is None:
        return {}
    return expiration(version, rules, timing)
