"""gateway.replication.copy.put_params: what a copy carries of its version."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.meta.base import ObjectVersion
from gateway.replication.copy import put_params
from gateway.s3.replication import Destination, Rule

RULE = Rule("Enabled", Destination("arn:aws:s3:::d"))


def test_put_params_carry_metadata_tags_and_lock() -> None:
    version = ObjectVersion(
        "b", "k", "v", 1.0,
        content_type="text/plain",
        headers={"cache-control": "no-cache", "content-disposition": "inline",
                 "x-amz-replication-status": "PENDING"},
        user_meta={"a": "1"},
        tags={"t": "x y", "u": "&"},
        retention_mode="GOVERNANCE",
        retain_until=1_893_456_000.0,
        legal_hold=True,
    )  # fmt: skip
    assert put_params(version, RULE) == {
        "Metadata": {"a": "1"},
        "ContentType": "text/plain",
        "CacheControl": "no-cache",
        "ContentDisposition": "inline",
        "Tagging": "t=x+y&u=%26",
        "ObjectLockMode": "GOVERNANCE",
        "ObjectLockRetainUntilDate": datetime(2030, 1, 1, tzinfo=UTC),
        "ObjectLockLegalHoldStatus": "ON",
    }  # the status header is the source's own, never sent


def test_put_params_storage_class_from_the_rule() -> None:
    rule = Rule("Enabled", Destination("arn:aws:s3:::d", storage_class="STANDARD_IA"))
    assert put_params(ObjectVersion("b", "k", "v", 1.0), rule) == {
        "Metadata": {},
        "StorageClass": "STANDARD_IA",
    }
