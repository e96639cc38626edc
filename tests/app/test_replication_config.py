"""Put/Get/DeleteBucketReplication on the real app (memory backend): AWS's validation,
the stored document, and x-amz-replication-status set PENDING in the write's transaction
(the worker is not configured to reach anything here: tests/app/test_replication.py copies)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from botocore.exceptions import ClientError

from gateway.meta.outbox import outbox_of
from gateway.meta.replication import ReplicationTarget
from tests.app.server import AppServer


def _serve(gateway: AppServer, *buckets: str) -> str:
    """An operator target (unreachable: port 9) serving `buckets`; its name."""
    name = "t" + secrets.token_hex(4)
    target = ReplicationTarget(name, "http://127.0.0.1:9", "AK", "SK", buckets=buckets)
    gateway.call(outbox_of(gateway.services.meta).put_replication_target(target, 0.0))
    return name


def _rule(dest: str, **extra: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "ID": "r1",
        "Priority": 1,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "DeleteMarkerReplication": {"Status": "Disabled"},
        "Destination": {"Bucket": f"arn:aws:s3:::{dest}"},
    }
    rule.update(extra)
    return rule


def _code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return str(raised.value.response["Error"]["Code"])


@pytest.fixture
def versioned(s3: Any, bucket: str) -> str:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def test_put_bucket_replication_needs_versioning(gateway: AppServer, s3: Any, bucket: str) -> None:
    dest = "dest-" + secrets.token_hex(4)
    _serve(gateway, dest)
    with pytest.raises(ClientError) as raised:
        s3.put_bucket_replication(
            Bucket=bucket, ReplicationConfiguration={"Role": "", "Rules": [_rule(dest)]}
        )
    assert _code(raised) == "InvalidRequest"


def test_get_bucket_replication_without_configuration(s3: Any, versioned: str) -> None:
    with pytest.raises(ClientError) as raised:
        s3.get_bucket_replication(Bucket=versioned)
    assert _code(raised) == "ReplicationConfigurationNotFoundError"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_put_get_delete_bucket_replication(gateway: AppServer, s3: Any, versioned: str) -> None:
    dest = "dest-" + secrets.token_hex(4)
    _serve(gateway, dest)
    rules = [
        _rule(dest, Filter={"And": {"Prefix": "logs/", "Tags": [{"Key": "k", "Value": "v"}]}}),
        {**_rule(dest, ID="r2", Priority=2, Filter={"Prefix": "docs/"}),
         "DeleteMarkerReplication": {"Status": "Enabled"},
         "ExistingObjectReplication": {"Status": "Enabled"}},
    ]  # fmt: skip
    s3.put_bucket_replication(
        Bucket=versioned, ReplicationConfiguration={"Role": "arn:aws:iam::1:role/r", "Rules": rules}
    )
    got = s3.get_bucket_replication(Bucket=versioned)["ReplicationConfiguration"]
    assert got["Role"] == "arn:aws:iam::1:role/r"
    assert [r["ID"] for r in got["Rules"]] == ["r1", "r2"]
    assert got["Rules"][0]["Filter"]["And"]["Tags"] == [{"Key": "k", "Value": "v"}]
    assert got["Rules"][1]["DeleteMarkerReplication"] == {"Status": "Enabled"}
    assert got["Rules"][1]["Destination"]["Bucket"] == f"arn:aws:s3:::{dest}"
    s3.delete_bucket_replication(Bucket=versioned)
    with pytest.raises(ClientError) as raised:
        s3.get_bucket_replication(Bucket=versioned)
    assert _code(raised) == "ReplicationConfigurationNotFoundError"


@pytest.mark.parametrize(
    "rule",
    [
        _rule("not-served-anywhere"),
        {**_rule("{dest}"), "Destination": {"Bucket": "{dest}"}},  # not an ARN
        {**_rule("{dest}", Filter={"Tag": {"Key": "k", "Value": "v"}}),
         "DeleteMarkerReplication": {"Status": "Enabled"}},
    ],
)  # fmt: skip
def test_put_bucket_replication_refused(
    gateway: AppServer, s3: Any, versioned: str, rule: dict[str, Any]
) -> None:
    dest = "dest-" + secrets.token_hex(4)
    _serve(gateway, dest)
    text = repr(rule).replace("{dest}", dest)
    with pytest.raises(ClientError) as raised:
        s3.put_bucket_replication(
            Bucket=versioned, ReplicationConfiguration={"Role": "", "Rules": [eval(text)]}
        )
    assert _code(raised) == "InvalidRequest"


def test_covered_writes_are_pending_others_not(gateway: AppServer, s3: Any, versioned: str) -> None:
    dest = "dest-" + secrets.token_hex(4)
    _serve(gateway, dest)
    s3.put_bucket_replication(
        Bucket=versioned,
        ReplicationConfiguration={"Role": "", "Rules": [_rule(dest, Filter={"Prefix": "in/"})]},
    )
    s3.put_object(Bucket=versioned, Key="in/a", Body=b"a")
    s3.put_object(Bucket=versioned, Key="out/b", Body=b"b")
    assert s3.head_object(Bucket=versioned, Key="in/a")["ReplicationStatus"] == "PENDING"
    assert "ReplicationStatus" not in s3.head_object(Bucket=versioned, Key="out/b")
    got = s3.get_object(Bucket=versioned, Key="in/a")
    assert got["ReplicationStatus"] == "PENDING"
    pending = gateway.call(outbox_of(gateway.services.meta).list_events(kind="replication"))
    mine = [(e.key, e.event_name, e.target) for e in pending if e.bucket == versioned]
    assert mine == [("in/a", "put", dest)]
    # The event dispatcher's own view holds none of them.
    events = gateway.call(outbox_of(gateway.services.meta).list_events())
    assert not [e for e in events if e.bucket == versioned]
    s3.delete_bucket_replication(Bucket=versioned)
    gateway.call(outbox_of(gateway.services.meta).purge_events(None, kind="replication"))


def test_replica_header_needs_replicate_permission(
    gateway: AppServer, s3: Any, versioned: str
) -> None:
    from tests.support.clients import boto3_client

    user_key, user_secret = gateway.create_user("u" + secrets.token_hex(4))
    other = boto3_client(gateway, access_key=user_key, secret_key=user_secret)
    s3.put_bucket_policy(
        Bucket=versioned,
        Policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",'
        f'"Action":"s3:PutObject","Resource":"arn:aws:s3:::{versioned}/*"}}]}}',
    )

    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-kloudvault-replica"] = "0005f0000000000000000000000000ab 1700000000.5"

    other.meta.events.register("before-sign.s3.PutObject", add_header)
    with pytest.raises(ClientError) as raised:
        other.put_object(Bucket=versioned, Key="k", Body=b"x")
    assert _code(raised) == "AccessDenied"
    other.meta.events.unregister("before-sign.s3.PutObject", add_header)
    other.put_object(Bucket=versioned, Key="k", Body=b"x")  # without the header: allowed


def _as_replica(client: Any, value: str) -> Any:
    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-kloudvault-replica"] = value

    client.meta.events.register("before-sign.s3", add_header)
    return add_header


def test_replica_keeps_version_id_once_and_newer_wins(
    gateway: AppServer, s3: Any, versioned: str
) -> None:
    from tests.support.clients import boto3_client

    replicator = boto3_client(gateway)
    old, new = "0005a00000000000aaaaaaaaaaaaaaaa", "0005b00000000000bbbbbbbbbbbbbbbb"
    hook = _as_replica(replicator, f"{new} 1700000002.0")
    replicator.put_object(Bucket=versioned, Key="k", Body=b"new")
    replicator.put_object(Bucket=versioned, Key="k", Body=b"new again")  # the same version: no-op
    replicator.meta.events.unregister("before-sign.s3", hook)
    hook = _as_replica(replicator, f"{old} 1700000001.0")
    replicator.put_object(Bucket=versioned, Key="k", Body=b"old")  # older: noncurrent
    replicator.meta.events.unregister("before-sign.s3", hook)
    head = s3.head_object(Bucket=versioned, Key="k")
    assert (head["VersionId"], head["ReplicationStatus"]) == (new, "REPLICA")
    assert s3.get_object(Bucket=versioned, Key="k")["Body"].read() == b"new"
    versions = s3.list_object_versions(Bucket=versioned)["Versions"]
    assert sorted(v["VersionId"] for v in versions) == [old, new]
    # A replicated delete marker keeps its id too, and is latest when newer.
    marker = "0005c00000000000cccccccccccccccc"
    hook = _as_replica(replicator, f"{marker} 1700000003.0")
    replicator.delete_object(Bucket=versioned, Key="k")
    replicator.meta.events.unregister("before-sign.s3", hook)
    markers = s3.list_object_versions(Bucket=versioned)["DeleteMarkers"]
    assert [(m["VersionId"], m["IsLatest"]) for m in markers] == [(marker, True)]


def test_client_cannot_set_replication_status(s3: Any, versioned: str) -> None:
    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-amz-replication-status"] = "REPLICA"

    s3.meta.events.register("before-sign.s3.PutObject", add_header)
    try:
        s3.put_object(Bucket=versioned, Key="k", Body=b"x")
    finally:
        s3.meta.events.unregister("before-sign.s3.PutObject", add_header)
    assert "ReplicationStatus" not in s3.head_object(Bucket=versioned, Key="k")
