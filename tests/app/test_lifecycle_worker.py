"""The lifecycle worker's rules, one pass at a time, on the in-process app: a 10-second
lifecycle day (KLOUDVAULT_LIFECYCLE_DAY_SECONDS) and the server's movable clock instead of
waiting. Written from the S3 user guide's lifecycle pages (filters, NewerNoncurrentVersions,
Date, expired object delete markers, AbortIncompleteMultipartUpload). The live `serve` loop
running the same worker is tests/integration/test_lifecycle_worker.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from lifecycle.worker import LifecycleWorker, PassReport
from tests.app.conftest import AppFactory
from tests.app.server import AppServer
from tests.support.clients import boto3_client, unique_bucket_name
from tests.support.versions import all_versions, purge_bucket

DAY = 10.0  # seconds in a lifecycle day on this server


@pytest.fixture(scope="module")
def server(app_factory: AppFactory) -> AppServer:
    # The background pass runs an hour apart: only run_pass() below acts on the buckets.
    return app_factory(lifecycle_day_seconds=DAY, lifecycle_interval=3600.0)


@pytest.fixture(scope="module")
def s3(server: AppServer) -> Any:
    return boto3_client(server)


@pytest.fixture
def bucket(request: pytest.FixtureRequest, s3: Any) -> Iterator[str]:
    name = unique_bucket_name(request.node.name)
    s3.create_bucket(Bucket=name)
    yield name
    purge_bucket(s3, name)


def run_pass(server: AppServer, after_days: float = 0.0) -> PassReport:
    """One worker pass with the server's clock `after_days` lifecycle days ahead."""
    services = server.services
    with server.clock.moved(after_days * DAY):
        worker = LifecycleWorker(
            services.meta,
            services.lifecycle_timing,
            clock=server.clock,
            rules=services.lifecycle_rules,
        )
        return server.call(worker.run_once())


def put_rules(s3: Any, bucket: str, *rules: dict[str, Any]) -> None:
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})


def keys(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def enable_versioning(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def test_filters_and_size_and_tag(server: AppServer, s3: Any, bucket: str) -> None:
    put_rules(
        s3,
        bucket,
        {
            "ID": "and",
            "Status": "Enabled",
            "Filter": {
                "And": {
                    "Prefix": "logs/",
                    "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
                    "ObjectSizeGreaterThan": 100,
                    "ObjectSizeLessThan": 200,
                }
            },
            "Expiration": {"Days": 1},
        },
        {
            "ID": "big",
            "Status": "Enabled",
            "Filter": {"ObjectSizeGreaterThan": 1000},
            "Expiration": {"Days": 1},
        },
        {
            "ID": "tmp",
            "Status": "Enabled",
            "Filter": {"Tag": {"Key": "class", "Value": "tmp"}},
            "Expiration": {"Days": 1},
        },
    )
    both = "a=1&b=2"
    objects = {
        "logs/match": (150, both),  # every And predicate holds
        "logs/too-small": (100, both),  # not greater than 100
        "logs/too-big": (200, both),  # not less than 200
        "logs/one-tag": (150, "a=1"),
        "data/match": (150, both),  # prefix differs
        "data/big": (1001, ""),  # the size-only rule
        "data/1000": (1000, ""),
        "data/tmp": (1, "class=tmp"),  # the tag-only rule
        "data/not-tmp": (1, "class=keep"),
    }
    for key, (size, tagging) in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=b"x" * size, Tagging=tagging)
    assert run_pass(server, after_days=0.9).total("done") == 0  # not a day old yet
    report = run_pass(server, after_days=1.1)
    assert report.total("done") == 3
    assert sorted(keys(s3, bucket)) == sorted(set(objects) - {"logs/match", "data/big", "data/tmp"})


def test_newer_noncurrent_versions_keeps_exactly_n(server: AppServer, s3: Any, bucket: str) -> None:
    enable_versioning(s3, bucket)
    put_rules(
        s3,
        bucket,
        {
            "ID": "keep2",
            "Status": "Enabled",
            "Filter": {},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1, "NewerNoncurrentVersions": 2},
        },
    )
    ids = [s3.put_object(Bucket=bucket, Key="k", Body=b"%d" % i)["VersionId"] for i in range(6)]
    s3.put_object(Bucket=bucket, Key="other", Body=b"only")
    assert run_pass(server, after_days=0.5).total("done") == 0  # noncurrent for half a day
    report = run_pass(server, after_days=1.5)
    assert report.total("done") == 3
    left = [v for k, v, _, _ in all_versions(s3, bucket) if k == "k"]
    assert left == ids[::-1][:3]  # the current version and the 2 newest noncurrent ones
    assert run_pass(server, after_days=5).total("done") == 0  # stays exactly 2
    assert keys(s3, bucket) == ["k", "other"]


def test_date_rule(server: AppServer, s3: Any, bucket: str) -> None:
    enable_versioning(s3, bucket)
    past = datetime(2020, 1, 1, tzinfo=UTC)
    future = datetime(2100, 1, 1, tzinfo=UTC)
    put_rules(
        s3,
        bucket,
        {"ID": "past", "Status": "Enabled", "Filter": {"Prefix": "old/"},
         "Expiration": {"Date": past}},
        {"ID": "future", "Status": "Enabled", "Filter": {"Prefix": "new/"},
         "Expiration": {"Date": future}},
    )  # fmt: skip
    for key in ("old/a", "new/a", "other/a"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    # A date in the past: every matching object is due at once (created after it or not).
    assert run_pass(server).total("done") == 1
    assert sorted(keys(s3, bucket)) == ["new/a", "other/a"]
    old = [(latest, marker) for k, _, latest, marker in all_versions(s3, bucket) if k == "old/a"]
    assert old == [(True, True), (False, False)]  # versioned: a delete marker on top
    assert run_pass(server, after_days=1000).total("done") == 0  # 2100 is far
    seconds_to_2100 = future.timestamp() - datetime.now(UTC).timestamp()
    assert run_pass(server, after_days=seconds_to_2100 / DAY + 1).total("done") == 1
    assert keys(s3, bucket) == ["other/a"]


def test_expired_delete_marker_removed_when_only_version_left(
    server: AppServer, s3: Any, bucket: str
) -> None:
    enable_versioning(s3, bucket)
    put_rules(
        s3,
        bucket,
        {
            "ID": "markers",
            "Status": "Enabled",
            "Filter": {},
            "Expiration": {"ExpiredObjectDeleteMarker": True},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 2},
        },
    )
    s3.delete_object(Bucket=bucket, Key="lone")  # a marker over nothing
    s3.put_object(Bucket=bucket, Key="covered", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="covered")  # a marker over a version
    report = run_pass(server)
    assert report.total("done") == 1
    assert [(k, marker) for k, _, _, marker in all_versions(s3, bucket)] == [
        ("covered", True),
        ("covered", False),
    ]
    # Two days later the version under the marker goes; the marker, now alone, goes with
    # the next pass (S3 also leaves it to a later run).
    assert run_pass(server, after_days=2.1).total("done") == 1
    assert [(k, marker) for k, _, _, marker in all_versions(s3, bucket)] == [("covered", True)]
    assert run_pass(server, after_days=2.1).total("done") == 1
    assert all_versions(s3, bucket) == []


def test_abort_incomplete_multipart_upload_at_the_right_age(
    server: AppServer, s3: Any, bucket: str
) -> None:
    put_rules(
        s3,
        bucket,
        {
            "ID": "mpu",
            "Status": "Enabled",
            "Filter": {"Prefix": "mpu/"},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
        },
    )
    stale = s3.create_multipart_upload(Bucket=bucket, Key="mpu/a")["UploadId"]
    other = s3.create_multipart_upload(Bucket=bucket, Key="keep/a")["UploadId"]

    def uploads() -> list[str]:
        return [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]

    assert run_pass(server, after_days=1.9).total("done") == 0
    assert sorted(uploads()) == sorted([stale, other])
    assert run_pass(server, after_days=2.1).total("done") == 1
    assert uploads() == [other]
    s3.abort_multipart_upload(Bucket=bucket, Key="keep/a", UploadId=other)
