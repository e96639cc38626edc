"""Object lock against the live gateway with boto3 and aws-cli: buckets created with lock,
default retention, Put/GetObjectRetention (GOVERNANCE, COMPLIANCE, bypass), legal holds,
lock headers on PUT, and what may (a delete marker) and may not (removing a protected
version) happen to locked objects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.app.server import AppServer
from tests.support.clients import unique_bucket_name
from tests.support.versions import all_versions, purge_bucket


@pytest.fixture
def locked(request: pytest.FixtureRequest, s3: Any) -> Iterator[str]:
    name = unique_bucket_name(request.node.name)
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    yield name
    purge_bucket(s3, name)


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def test_bucket_created_with_lock(s3: Any, locked: str) -> None:
    assert s3.get_bucket_versioning(Bucket=locked)["Status"] == "Enabled"
    config = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert config == {"ObjectLockEnabled": "Enabled"}
    with pytest.raises(ClientError) as err:
        s3.put_bucket_versioning(Bucket=locked, VersioningConfiguration={"Status": "Suspended"})
    assert error_code(err) == "InvalidBucketState"


def test_default_retention(s3: Any, locked: str) -> None:
    s3.put_object_lock_configuration(
        Bucket=locked,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
        },
    )
    rule = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]["Rule"]
    assert rule == {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}
    v1 = s3.put_object(Bucket=locked, Key="k", Body=b"x")["VersionId"]
    head = s3.head_object(Bucket=locked, Key="k")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert timedelta(hours=23) < head["ObjectLockRetainUntilDate"] - datetime.now(UTC)
    # A plain DELETE still makes a delete marker (no data is removed).
    assert s3.delete_object(Bucket=locked, Key="k")["DeleteMarker"] is True
    # Removing the version needs the governance bypass.
    with pytest.raises(ClientError) as err:
        s3.delete_object(Bucket=locked, Key="k", VersionId=v1)
    assert error_code(err) == "AccessDenied"
    out = s3.delete_objects(Bucket=locked, Delete={"Objects": [{"Key": "k", "VersionId": v1}]})
    assert [e["Code"] for e in out["Errors"]] == ["AccessDenied"]
    s3.delete_object(Bucket=locked, Key="k", VersionId=v1, BypassGovernanceRetention=True)
    assert [v for _, v, _, m in all_versions(s3, locked) if not m] == []
    # Without a rule, new objects get no retention.
    s3.put_object_lock_configuration(
        Bucket=locked, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}
    )
    s3.put_object(Bucket=locked, Key="free", Body=b"x")
    assert "ObjectLockMode" not in s3.head_object(Bucket=locked, Key="free")


def test_governance_retention(s3: Any, locked: str) -> None:
    version = s3.put_object(Bucket=locked, Key="k", Body=b"x")["VersionId"]
    until = soon(3600).replace(microsecond=0)
    s3.put_object_retention(
        Bucket=locked, Key="k", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until}
    )
    got = s3.get_object_retention(Bucket=locked, Key="k", VersionId=version)["Retention"]
    assert (got["Mode"], got["RetainUntilDate"]) == ("GOVERNANCE", until)
    # Overwriting adds a version; the locked one survives.
    s3.put_object(Bucket=locked, Key="k", Body=b"new")
    assert s3.get_object(Bucket=locked, Key="k", VersionId=version)["Body"].read() == b"x"
    shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": until - timedelta(minutes=5)}
    with pytest.raises(ClientError) as err:
        s3.put_object_retention(Bucket=locked, Key="k", VersionId=version, Retention=shorter)
    assert error_code(err) == "AccessDenied"
    s3.put_object_retention(
        Bucket=locked,
        Key="k",
        VersionId=version,
        Retention=shorter,
        BypassGovernanceRetention=True,
    )
    with pytest.raises(ClientError) as err:
        s3.put_object_retention(
            Bucket=locked,
            Key="k",
            VersionId=version,
            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon(-60)},
        )
    assert error_code(err) == "InvalidArgument"


def test_compliance_retention_cannot_be_shortened(gateway: AppServer, s3: Any, locked: str) -> None:
    until = soon(60)
    version = s3.put_object(
        Bucket=locked,
        Key="k",
        Body=b"x",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=until,
    )["VersionId"]
    assert s3.head_object(Bucket=locked, Key="k")["ObjectLockMode"] == "COMPLIANCE"
    for retention in (
        {"Mode": "COMPLIANCE", "RetainUntilDate": until - timedelta(seconds=1)},
        {"Mode": "GOVERNANCE", "RetainUntilDate": until + timedelta(seconds=1)},
    ):
        with pytest.raises(ClientError) as err:
            s3.put_object_retention(
                Bucket=locked,
                Key="k",
                VersionId=version,
                Retention=retention,
                BypassGovernanceRetention=True,
            )
        assert error_code(err) == "AccessDenied"
    with pytest.raises(ClientError) as err:
        s3.delete_object(Bucket=locked, Key="k", VersionId=version, BypassGovernanceRetention=True)
    assert error_code(err) == "AccessDenied"
    # Extending is fine; once the date passes, the version may go.
    later = until + timedelta(seconds=1)
    s3.put_object_retention(
        Bucket=locked,
        Key="k",
        VersionId=version,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later},
    )
    with gateway.clock.moved(max(0.0, (later - datetime.now(UTC)).total_seconds()) + 0.5):
        s3.delete_object(Bucket=locked, Key="k", VersionId=version)


def test_legal_hold(s3: Any, locked: str) -> None:
    version = s3.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")[
        "VersionId"
    ]
    assert s3.get_object_legal_hold(Bucket=locked, Key="k")["LegalHold"] == {"Status": "ON"}
    assert s3.head_object(Bucket=locked, Key="k")["ObjectLockLegalHoldStatus"] == "ON"
    with pytest.raises(ClientError) as err:
        s3.delete_object(Bucket=locked, Key="k", VersionId=version, BypassGovernanceRetention=True)
    assert error_code(err) == "AccessDenied"
    s3.put_object_legal_hold(Bucket=locked, Key="k", LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(Bucket=locked, Key="k")["LegalHold"] == {"Status": "OFF"}
    s3.delete_object(Bucket=locked, Key="k", VersionId=version)
    with pytest.raises(ClientError) as err:
        s3.put_object_legal_hold(Bucket=locked, Key="k", LegalHold={"Status": "ON"})
    assert error_code(err) == "NoSuchKey"


def test_lock_requests_on_a_bucket_without_lock(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    calls: list[Callable[[], Any]] = [
        lambda: s3.put_object_legal_hold(Bucket=bucket, Key="k", LegalHold={"Status": "ON"}),
        lambda: s3.get_object_retention(Bucket=bucket, Key="k"),
        lambda: s3.put_object_retention(
            Bucket=bucket, Key="k", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon(60)}
        ),
        lambda: s3.put_object(
            Bucket=bucket,
            Key="k",
            Body=b"x",
            ObjectLockMode="GOVERNANCE",
            ObjectLockRetainUntilDate=soon(60),
        ),
    ]
    for call in calls:
        with pytest.raises(ClientError) as err:
            call()
        assert error_code(err) == "InvalidRequest"
    with pytest.raises(ClientError) as err:
        s3.get_object_lock_configuration(Bucket=bucket)
    assert error_code(err) == "ObjectLockConfigurationNotFoundError"
    # Turning lock on needs versioning Enabled first.
    enable = {"ObjectLockEnabled": "Enabled"}
    with pytest.raises(ClientError) as err:
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=enable)
    assert error_code(err) == "InvalidBucketState"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=enable)
    assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"] == enable
    purge_bucket(s3, bucket)


def test_retention_period_limits_and_mode_change(s3: Any, locked: str) -> None:
    for period in ({"Days": 0}, {"Days": 36501}, {"Years": 101}):
        with pytest.raises(ClientError) as err:
            s3.put_object_lock_configuration(
                Bucket=locked,
                ObjectLockConfiguration={
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", **period}},
                },
            )
        assert error_code(err) == "InvalidRetentionPeriod"
    version = s3.put_object(Bucket=locked, Key="m", Body=b"x")["VersionId"]
    s3.put_object_retention(
        Bucket=locked,
        Key="m",
        VersionId=version,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon(3600)},
    )
    stricter = {"Mode": "COMPLIANCE", "RetainUntilDate": soon(7200)}
    with pytest.raises(ClientError) as err:  # a change of mode is a change of lock settings
        s3.put_object_retention(Bucket=locked, Key="m", VersionId=version, Retention=stricter)
    assert error_code(err) == "AccessDenied"
    s3.put_object_retention(
        Bucket=locked,
        Key="m",
        VersionId=version,
        Retention=stricter,
        BypassGovernanceRetention=True,
    )
    assert s3.head_object(Bucket=locked, Key="m")["ObjectLockMode"] == "COMPLIANCE"
