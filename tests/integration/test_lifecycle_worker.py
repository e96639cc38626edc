"""The lifecycle worker observed doing its job on a live gateway whose lifecycle "day" lasts
2 seconds (KLOUDVAULT_LIFECYCLE_DAY_SECONDS) with a short interval: expiry, noncurrent
expiry, expired delete markers, stale uploads, object lock winning, the service-wide
retention cap (--max-retention-days) in a bucket with no rules, and `kloudvault lifecycle
run` by hand. The configuration API is tested in tests/app/test_lifecycle.py."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.app.test_lifecycle import EXPIRATION, rule
from tests.integration.conftest import GatewayFactory
from tests.support.clients import boto3_client, unique_bucket_name
from tests.support.gateway import REPO_ROOT, GatewayProcess
from tests.support.versions import all_versions, purge_bucket, wait_for

SCALED = {"KLOUDVAULT_LIFECYCLE_DAY_SECONDS": "2", "KLOUDVAULT_LIFECYCLE_INTERVAL": "0.3"}


@pytest.fixture(scope="module")
def fast(gateway_factory: GatewayFactory) -> GatewayProcess:
    """A gateway whose lifecycle day lasts 2 s, scanning every 0.3 s."""
    return gateway_factory("http", extra_env=SCALED)


@pytest.fixture(scope="module")
def fast_s3(fast: GatewayProcess) -> Any:
    return boto3_client(fast)


@pytest.fixture
def fast_bucket(request: pytest.FixtureRequest, fast_s3: Any) -> Iterator[str]:
    name = unique_bucket_name(request.node.name)
    fast_s3.create_bucket(Bucket=name)
    yield name
    purge_bucket(fast_s3, name)


# -- the worker, observed ----------------------------------------------------------------------


def test_expiry_in_unversioned_bucket(fast_s3: Any, fast_bucket: str) -> None:
    s3, bucket = fast_s3, fast_bucket
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "tmp",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "tmp/"},
                    "Expiration": {"Days": 1},
                }
            ]
        },
    )
    put = s3.put_object(Bucket=bucket, Key="tmp/a", Body=b"x")
    assert EXPIRATION.fullmatch(put["Expiration"]) is not None
    s3.put_object(Bucket=bucket, Key="keep/b", Body=b"x")

    def keys() -> list[str]:
        return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]

    assert wait_for(keys, lambda k: k == ["keep/b"], timeout=15) == ["keep/b"]
    assert [v for _, v, _, _ in all_versions(s3, bucket)] == ["null"]  # removed for good


def test_versioned_expiry_noncurrent_and_markers(fast_s3: Any, fast_bucket: str) -> None:
    s3, bucket = fast_s3, fast_bucket
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"1")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"2")["VersionId"]
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                rule("current", Expiration={"Days": 1}),
                rule("old", NoncurrentVersionExpiration={"NoncurrentDays": 1}),
            ]
        },
    )
    # Day 1: v2 expires (a delete marker on top) and v1, noncurrent since v2, goes.
    seen = wait_for(
        lambda: all_versions(s3, bucket),
        lambda vs: [(v, m) for _, v, _, m in vs][1:] == [(v2, False)],
        timeout=15,
    )
    assert [m for _, _, _, m in seen] == [True, False] and v1 not in {v for _, v, _, _ in seen}
    # Day 2: v2, noncurrent since the marker, goes; the marker, alone, goes after it.
    assert wait_for(lambda: all_versions(s3, bucket), lambda vs: vs == [], timeout=15) == []


def test_expired_delete_marker_rule(fast_s3: Any, fast_bucket: str) -> None:
    s3, bucket = fast_s3, fast_bucket
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"1")["VersionId"]
    s3.delete_object(Bucket=bucket, Key="k")
    s3.put_object(Bucket=bucket, Key="other", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="other")  # a marker with a version under it: stays
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v1)  # leaves k's marker alone
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [rule("markers", Expiration={"ExpiredObjectDeleteMarker": True})]
        },
    )
    result = wait_for(
        lambda: {k for k, _, _, _ in all_versions(s3, bucket)}, lambda ks: ks == {"other"}
    )
    assert result == {"other"}
    assert [m for _, _, _, m in all_versions(s3, bucket)] == [True, False]


def test_abort_stale_uploads(fast_s3: Any, fast_bucket: str) -> None:
    s3, bucket = fast_s3, fast_bucket
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "mpu",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "up/"},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                }
            ]
        },
    )
    stale = s3.create_multipart_upload(Bucket=bucket, Key="up/big")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="up/big", UploadId=stale, PartNumber=1, Body=b"p")
    kept = s3.create_multipart_upload(Bucket=bucket, Key="other/big")["UploadId"]

    def uploads() -> list[str]:
        return [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]

    assert wait_for(uploads, lambda ids: ids == [kept], timeout=15) == [kept]


def test_locked_objects_survive_lifecycle(fast: GatewayProcess, fast_s3: Any) -> None:
    s3 = fast_s3
    bucket = unique_bucket_name("lifecycle-locked")
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    try:
        held = s3.put_object(Bucket=bucket, Key="k", Body=b"held", ObjectLockLegalHoldStatus="ON")[
            "VersionId"
        ]
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={
                "Rules": [
                    rule("current", Expiration={"Days": 1}),
                    rule("old", NoncurrentVersionExpiration={"NoncurrentDays": 1}),
                ]
            },
        )
        # Expiry only adds a delete marker; the held version, now noncurrent, stays
        # through several "days" of noncurrent expiry.
        wait_for(
            lambda: all_versions(s3, bucket),
            lambda vs: len(vs) == 2 and vs[0][3],
            timeout=15,
        )
        mark = fast.log_mark()
        wait_for(lambda: fast.logs_since(mark), lambda text: "protected: " in text, timeout=15)
        versions = all_versions(s3, bucket)
        assert (("k", held, False, False) in versions) and len(versions) == 2
        assert s3.get_object(Bucket=bucket, Key="k", VersionId=held)["Body"].read() == b"held"
        # Lift the hold: it goes at the next pass.
        s3.put_object_legal_hold(
            Bucket=bucket, Key="k", VersionId=held, LegalHold={"Status": "OFF"}
        )
        left = wait_for(
            lambda: all_versions(s3, bucket), lambda vs: held not in {v for _, v, _, _ in vs}
        )
        assert held not in {v for _, v, _, _ in left}
    finally:
        purge_bucket(s3, bucket)


# -- the retention cap -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def capped(gateway_factory: GatewayFactory) -> GatewayProcess:
    return gateway_factory("http", extra_args=["--max-retention-days", "1"], extra_env=SCALED)


def test_retention_cap_in_a_bucket_without_rules(capped: GatewayProcess) -> None:
    s3 = boto3_client(capped)
    plain, locked = unique_bucket_name("cap-plain"), unique_bucket_name("cap-locked")
    s3.create_bucket(Bucket=plain)
    s3.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    try:
        put = s3.put_object(Bucket=plain, Key="any/key", Body=b"x")
        match = EXPIRATION.fullmatch(put["Expiration"])
        assert match is not None and match.group(2) == "kloudvault-max-retention"
        assert s3.head_object(Bucket=plain, Key="any/key")["Expiration"] == put["Expiration"]
        held = s3.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")
        s3.put_object(Bucket=locked, Key="free", Body=b"x")
        mark = capped.log_mark()
        assert wait_for(lambda: all_versions(s3, plain), lambda vs: vs == [], timeout=15) == []
        left = wait_for(lambda: all_versions(s3, locked), lambda vs: len(vs) == 1, timeout=15)
        assert left == [("k", held["VersionId"], True, False)]  # held: kept, and reported
        log = wait_for(lambda: capped.logs_since(mark), lambda t: "retention cap" in t)
        assert f"{locked}/k version {held['VersionId']} is protected" in log
    finally:
        purge_bucket(s3, plain)
        purge_bucket(s3, locked)


# -- `kloudvault lifecycle run` ----------------------------------------------------------------


def test_cli_lifecycle_run(gateway_factory: GatewayFactory) -> None:
    """One pass by hand, on the data dir of a running gateway (whose own worker, on the
    default hourly interval, ran at start and then waits)."""
    gw = gateway_factory("http")
    s3 = boto3_client(gw)
    bucket = unique_bucket_name("cli-run")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={"Rules": [rule("one-day", Expiration={"Days": 1})]},
    )
    s3.put_object(Bucket=bucket, Key="old", Body=b"x")
    time.sleep(1.1)
    env = {**gw.environment(), "KLOUDVAULT_LIFECYCLE_DAY_SECONDS": "1"}
    cmd = [sys.executable, "-m", "gateway", "lifecycle", "run", "--data-dir", str(gw.data_dir)]
    result = subprocess.run(
        cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "expire (expiration) done: 1" in result.stdout
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    s3.delete_bucket(Bucket=bucket)
