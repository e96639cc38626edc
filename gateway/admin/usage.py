"""The usage overview: per bucket and per account, objects and bytes stored and the
quota that applies, from the metadata store's counters (never a scan). Pure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gateway.limits.quota import Quota, QuotaUse, Usage
from gateway.meta.base import Bucket, BucketUsage


def _quota_json(quota: Quota | None) -> dict[str, Any] | None:
    if quota is None:
        return None
    return {"maxBytes": quota.max_bytes, "maxObjects": quota.max_objects}


def quota_use_json(use: QuotaUse) -> dict[str, Any]:
    return {
        "scope": use.quota.scope,
        "name": use.quota.name,
        "quota": _quota_json(use.quota),
        "objects": use.used.objects,
        "bytes": use.used.bytes,
    }


def overview(
    buckets: Iterable[Bucket],
    usage: Iterable[BucketUsage],
    quotas: Iterable[QuotaUse],
    accounts: Iterable[str],
) -> dict[str, Any]:
    """{"buckets": [...], "accounts": [...]}: every bucket (by name) with its owner, usage
    and quota; every account (by name) with the sum over the buckets it owns, its bucket
    count and its quota."""
    used = {row.bucket: Usage(row.objects, row.bytes) for row in usage}
    limits = {(q.quota.scope, q.quota.name): q.quota for q in quotas}
    per_account: dict[str, Usage] = {name: Usage() for name in accounts}
    counts: dict[str, int] = dict.fromkeys(per_account, 0)
    bucket_rows = []
    for bucket in sorted(buckets, key=lambda b: b.name):
        u = used.get(bucket.name, Usage())
        per_account[bucket.owner] = per_account.get(bucket.owner, Usage()) + u
        counts[bucket.owner] = counts.get(bucket.owner, 0) + 1
        bucket_rows.append(
            {
                "bucket": bucket.name,
                "owner": bucket.owner,
                "objects": u.objects,
                "bytes": u.bytes,
                "quota": _quota_json(limits.get(("bucket", bucket.name))),
            }
        )
    account_rows = [
        {
            "account": name,
            "buckets": counts[name],
            "objects": u.objects,
            "bytes": u.bytes,
            "quota": _quota_json(limits.get(("account", name))),
        }
        for name, u in sorted(per_account.items())
    ]
    return {"buckets": bucket_rows, "accounts": account_rows}
