"""gateway/admin/usage.py: every bucket and account in the overview, accounts summing
the buckets they own, quotas beside the usage they limit."""

from __future__ import annotations

from gateway.admin.usage import overview
from gateway.limits.quota import Quota, QuotaUse, Usage
from gateway.meta.base import Bucket, BucketUsage


def test_overview_sums_accounts_and_places_quotas() -> None:
    buckets = [Bucket("b2", "alice", 0.0), Bucket("b1", "alice", 0.0), Bucket("c", "bob", 0.0)]
    usage = [BucketUsage("b1", 2, 10), BucketUsage("b2", 1, 5)]
    quotas = [
        QuotaUse(Quota("bucket", "b1", max_bytes=100), Usage(2, 10)),
        QuotaUse(Quota("account", "bob", max_objects=3), Usage(0, 0)),
    ]
    result = overview(buckets, usage, quotas, ["alice", "bob", "carol"])
    assert [row["bucket"] for row in result["buckets"]] == ["b1", "b2", "c"]
    assert result["buckets"][0]["quota"] == {"maxBytes": 100, "maxObjects": None}
    assert result["buckets"][2] == {
        "bucket": "c",
        "owner": "bob",
        "objects": 0,
        "bytes": 0,
        "quota": None,
    }
    accounts = {row["account"]: row for row in result["accounts"]}
    assert accounts["alice"] == {
        "account": "alice",
        "buckets": 2,
        "objects": 3,
        "bytes": 15,
        "quota": None,
    }
    assert accounts["bob"]["quota"] == {"maxBytes": None, "maxObjects": 3}
    assert accounts["carol"]["buckets"] == 0
