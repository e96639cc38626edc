"""Bucket replication end to end in process: a source app, its replication worker, and a
destination (a second app: another KloudVault; the same app: another bucket here). Puts,
overwrites, metadata, tags, a prefix filter, delete markers, a multipart object, a target
that is down then back, and two apps replicating into each other."""

from __future__ import annotations

import re
import secrets
import time
import urllib.request
from typing import Any

import pytest
from prometheus_client import REGISTRY

from events.records import REPLICATION
from gateway.meta.outbox import outbox_of
from gateway.meta.replication import ReplicationTarget
from gateway.replication.targets import sealed_as
from tests.app.conftest import AppFactory
from tests.app.server import AppServer
from tests.support.clients import boto3_client
from tests.support.ports import free_port

FAST = {"replication_backoff": 0.1, "replication_backoff_max": 0.5}


def add_target(
    source: AppServer, name: str, dest: AppServer | str, buckets: tuple[str, ...]
) -> None:
    """As `admin replication target add`: `dest` (an app, or an endpoint nobody answers)
    with its root keys, as a KloudVault."""
    endpoint = dest if isinstance(dest, str) else dest.endpoint
    access, secret = ("AK", "SK") if isinstance(dest, str) else (dest.access_key, dest.secret_key)
    sealed = source.services.credentials.sealer.seal(sealed_as(name), secret)
    target = ReplicationTarget(name, endpoint, access, sealed, kloudvault=True, buckets=buckets)
    source.call(outbox_of(source.services.meta).put_replication_target(target, time.time()))


def versioned_bucket(s3: Any, name: str | None = None) -> str:
    name = name or "b-" + secrets.token_hex(5)
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def rule_of(
    dest: str, *, prefix: str = "", markers: bool = True, modifications: bool = False, n: int = 1
) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "ID": f"to-{dest}-{n}",
        "Priority": n,
        "Status": "Enabled",
        "Filter": {"Prefix": prefix},
        "DeleteMarkerReplication": {"Status": "Enabled" if markers else "Disabled"},
        "Destination": {"Bucket": f"arn:aws:s3:::{dest}"},
    }
    if modifications:
        rule["SourceSelectionCriteria"] = {"ReplicaModifications": {"Status": "Enabled"}}
    return rule


def replicate(s3: Any, bucket: str, dest: str, *, prefix: str = "", markers: bool = True) -> None:
    rule = rule_of(dest, prefix=prefix, markers=markers)
    s3.put_bucket_replication(Bucket=bucket, ReplicationConfiguration={"Role": "", "Rules": [rule]})


def settle(*servers: AppServer, timeout: float = 20.0) -> None:
    """Until no server has replication work pending."""
    deadline = time.monotonic() + timeout
    while True:
        depths = [
            s.call(outbox_of(s.services.meta).outbox_depth(kind=REPLICATION)) for s in servers
        ]
        if all(pending == 0 for pending, _ in depths):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"replication still pending: {depths}")
        for s in servers:
            s.services.replication_queued.set()  # rather than wait for the poll
        time.sleep(0.05)


def versions(s3: Any, bucket: str) -> list[tuple[str, str, bool, str]]:
    """(key, version id, is latest, ETag or 'marker') of every version, sorted."""
    got = s3.list_object_versions(Bucket=bucket)
    found = [(v["Key"], v["VersionId"], v["IsLatest"], v["ETag"]) for v in got.get("Versions", [])]
    found += [(m["Key"], m["VersionId"], m["IsLatest"], "marker")
              for m in got.get("DeleteMarkers", [])]  # fmt: skip
    return sorted(found)


@pytest.fixture
def pair(app_factory: AppFactory) -> tuple[AppServer, AppServer]:
    return app_factory(**FAST), app_factory(**FAST)


def test_replicate_to_kloudvault(pair: tuple[AppServer, AppServer]) -> None:
    source, dest = pair
    src, dst = boto3_client(source), boto3_client(dest)
    bucket, copies = versioned_bucket(src), versioned_bucket(dst)
    add_target(source, "site-b", dest, (copies,))
    replicate(src, bucket, copies, prefix="docs/")
    src.put_object(Bucket=bucket, Key="docs/a", Body=b"one", Metadata={"color": "red"},
                   ContentType="text/plain", CacheControl="max-age=9")  # fmt: skip
    src.put_object(Bucket=bucket, Key="docs/a", Body=b"two", Metadata={"color": "blue"},
                   Tagging="k=v")  # fmt: skip
    src.put_object(Bucket=bucket, Key="other/x", Body=b"not covered")
    src.put_object_tagging(
        Bucket=bucket, Key="docs/a", Tagging={"TagSet": [{"Key": "k", "Value": "w"}]}
    )
    src.put_object(Bucket=bucket, Key="docs/gone", Body=b"soon a marker")
    src.delete_object(Bucket=bucket, Key="docs/gone")
    settle(source)
    assert src.head_object(Bucket=bucket, Key="docs/a")["ReplicationStatus"] == "COMPLETED"
    covered = [v for v in versions(src, bucket) if v[0].startswith("docs/")]
    assert versions(dst, copies) == covered  # the same version ids, ETags, latest
    head = dst.head_object(Bucket=copies, Key="docs/a")
    assert head["ReplicationStatus"] == "REPLICA"
    assert head["Metadata"] == {"color": "blue"}
    assert dst.get_object(Bucket=copies, Key="docs/a")["Body"].read() == b"two"
    first = [v for v in covered if v[0] == "docs/a" and not v[2]][0][1]
    old = dst.get_object(Bucket=copies, Key="docs/a", VersionId=first)
    assert (old["Body"].read(), old["ContentType"], old["CacheControl"]) == (
        b"one", "text/plain", "max-age=9")  # fmt: skip
    assert dst.get_object_tagging(Bucket=copies, Key="docs/a")["TagSet"] == [
        {"Key": "k", "Value": "w"}
    ]
    # A copy of a replica is a new object there, with no status of its own.
    dst.copy_object(Bucket=copies, Key="copied", CopySource={"Bucket": copies, "Key": "docs/a"})
    assert "ReplicationStatus" not in dst.head_object(Bucket=copies, Key="copied")
    # A replica is not replicated again, even where the destination has rules of its own.
    assert not dest.call(outbox_of(dest.services.meta).list_events(kind=REPLICATION))


def test_delete_markers_replicated_only_when_asked(pair: tuple[AppServer, AppServer]) -> None:
    source, dest = pair
    src, dst = boto3_client(source), boto3_client(dest)
    bucket, copies = versioned_bucket(src), versioned_bucket(dst)
    add_target(source, "site-b", dest, (copies,))
    replicate(src, bucket, copies, markers=False)
    src.put_object(Bucket=bucket, Key="k", Body=b"kept")
    src.delete_object(Bucket=bucket, Key="k")
    settle(source)
    assert dst.get_object(Bucket=copies, Key="k")["Body"].read() == b"kept"
    assert "DeleteMarkers" not in dst.list_object_versions(Bucket=copies)


def test_multipart_copy_keeps_etag_and_version(pair: tuple[AppServer, AppServer]) -> None:
    source, dest = pair
    src, dst = boto3_client(source), boto3_client(dest)
    bucket, copies = versioned_bucket(src), versioned_bucket(dst)
    add_target(source, "site-b", dest, (copies,))
    replicate(src, bucket, copies)
    parts = [secrets.token_bytes(5 * 1024 * 1024), secrets.token_bytes(1234)]
    upload = src.create_multipart_upload(Bucket=bucket, Key="big", Metadata={"m": "1"})
    done = [
        {"PartNumber": n, "ETag": src.upload_part(Bucket=bucket, Key="big", PartNumber=n,
                                                   UploadId=upload["UploadId"], Body=p)["ETag"]}
        for n, p in enumerate(parts, start=1)
    ]  # fmt: skip
    src.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload["UploadId"],
                                  MultipartUpload={"Parts": done})  # fmt: skip
    settle(source)
    assert versions(dst, copies) == versions(src, bucket)
    assert dst.get_object(Bucket=copies, Key="big")["Body"].read() == b"".join(parts)
    assert dst.head_object(Bucket=copies, Key="big")["Metadata"] == {"m": "1"}


def scrape(server: AppServer) -> str:
    request = urllib.request.Request(
        server.endpoint + "/metrics", headers={"Authorization": "Bearer scrape"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return str(answer.read().decode())


def test_target_down_then_back(app_factory: AppFactory) -> None:
    source, dest = app_factory(metrics_token="scrape", **FAST), app_factory(**FAST)
    src, dst = boto3_client(source), boto3_client(dest)
    bucket, copies = versioned_bucket(src), versioned_bucket(dst)
    add_target(source, "site-b", f"http://127.0.0.1:{free_port()}", (copies,))
    replicate(src, bucket, copies)
    for n in range(5):
        src.put_object(Bucket=bucket, Key=f"k{n}", Body=b"x" * n)
    deadline = time.monotonic() + 10
    outbox = outbox_of(source.services.meta)
    while not any(e.attempts for e in source.call(outbox.list_events(kind=REPLICATION))):
        assert time.monotonic() < deadline, "no attempt failed"
        time.sleep(0.05)
    assert src.head_object(Bucket=bucket, Key="k1")["ReplicationStatus"] == "PENDING"
    metrics = scrape(source)
    assert 'kloudvault_replication_backlog{state="pending"} 5.0' in metrics
    lag = re.search(r"^kloudvault_replication_lag_seconds ([0-9.e+-]+)$", metrics, re.M)
    assert lag is not None and float(lag[1]) > 0
    add_target(source, "site-b", dest, (copies,))  # the target is back (a new address)
    source.services.replication_queued.set()
    settle(source, timeout=30)
    assert versions(dst, copies) == versions(src, bucket)
    assert 'kloudvault_replication_backlog{state="pending"} 0.0' in scrape(source)


def test_replicate_to_another_bucket_of_the_same_gateway(app_factory: AppFactory) -> None:
    server = app_factory(**FAST)
    s3 = boto3_client(server)
    bucket, copies = versioned_bucket(s3), versioned_bucket(s3)
    add_target(server, "here", server, (copies,))
    replicate(s3, bucket, copies)
    s3.put_object(Bucket=bucket, Key="k", Body=b"local copy")
    settle(server)
    assert versions(s3, copies) == versions(s3, bucket)
    assert s3.head_object(Bucket=copies, Key="k")["ReplicationStatus"] == "REPLICA"


def test_two_way_replication_settles(pair: tuple[AppServer, AppServer]) -> None:
    a, b = pair
    sa, sb = boto3_client(a), boto3_client(b)
    name = "shared-" + secrets.token_hex(4)
    versioned_bucket(sa, name), versioned_bucket(sb, name)
    add_target(a, "to-b", b, (name,))
    add_target(b, "to-a", a, (name,))
    replicate(sa, name, name)
    replicate(sb, name, name)
    for n in range(4):  # interleaved: each side's writes race the other's replicas
        sa.put_object(Bucket=name, Key=f"a{n}", Body=b"from a")
        sb.put_object(Bucket=name, Key=f"b{n}", Body=b"from b")
        sa.put_object(Bucket=name, Key="both", Body=f"a{n}".encode())
        sb.put_object(Bucket=name, Key="both", Body=f"b{n}".encode())
    sb.delete_object(Bucket=name, Key="a0")
    settle(a, b)
    assert versions(sa, name) == versions(sb, name)
    assert sa.get_object(Bucket=name, Key="both")["Body"].read() == b"b3"  # the newest write


def copied_to(bucket: str) -> float:
    """How many changes the replication workers of this process copied into `bucket`."""
    found = REGISTRY.get_sample_value(
        "kloudvault_replication_copied_total", {"destination": bucket}
    )
    return found or 0.0


def test_replica_modifications_sync_back(pair: tuple[AppServer, AppServer]) -> None:
    from datetime import UTC, datetime, timedelta

    a, b = pair
    sa, sb = boto3_client(a), boto3_client(b)
    xa, xb = "xa-" + secrets.token_hex(4), "xb-" + secrets.token_hex(4)
    sa.create_bucket(Bucket=xa, ObjectLockEnabledForBucket=True)
    sb.create_bucket(Bucket=xb, ObjectLockEnabledForBucket=True)
    add_target(a, "to-b", b, (xb,))
    add_target(b, "to-a", a, (xa,))
    # Both sides sync replica modifications under sync/; B's rule for plain/ does not.
    both = {"Role": "", "Rules": [rule_of(xb, modifications=True)]}
    sa.put_bucket_replication(Bucket=xa, ReplicationConfiguration=both)
    rules = [rule_of(xa, prefix="sync/", modifications=True, n=2), rule_of(xa, prefix="plain/")]
    sb.put_bucket_replication(Bucket=xb, ReplicationConfiguration={"Role": "", "Rules": rules})
    for key in ("sync/k", "plain/k"):
        sa.put_object(Bucket=xa, Key=key, Body=b"from a", Tagging="origin=a")
    settle(a, b)
    assert versions(sb, xb) == versions(sa, xa)
    sent_to_b = copied_to(xb)
    until = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    for key in ("sync/k", "plain/k"):  # changes made on the replicas
        sb.put_object_tagging(Bucket=xb, Key=key, Tagging={"TagSet": [{"Key": "by", "Value": "b"}]})
        sb.put_object_legal_hold(Bucket=xb, Key=key, LegalHold={"Status": "ON"})
        retention = {"Mode": "GOVERNANCE", "RetainUntilDate": until}
        sb.put_object_retention(Bucket=xb, Key=key, Retention=retention)
    settle(a, b)
    synced = sa.head_object(Bucket=xa, Key="sync/k")
    assert sa.get_object_tagging(Bucket=xa, Key="sync/k")["TagSet"] == [{"Key": "by", "Value": "b"}]
    assert synced["ObjectLockLegalHoldStatus"] == "ON"
    assert (synced["ObjectLockMode"], synced["ObjectLockRetainUntilDate"]) == ("GOVERNANCE", until)
    assert synced["ReplicationStatus"] == "COMPLETED"  # still the source's status
    assert sb.head_object(Bucket=xb, Key="sync/k")["ReplicationStatus"] == "REPLICA"
    # Without ReplicaModifications a replica's change stays where it was made.
    plain = sa.head_object(Bucket=xa, Key="plain/k")
    assert sa.get_object_tagging(Bucket=xa, Key="plain/k")["TagSet"] == [
        {"Key": "origin", "Value": "a"}
    ]
    assert "ObjectLockMode" not in plain and "ObjectLockLegalHoldStatus" not in plain
    # The changes that arrived at A as replication were not queued there again (no loop),
    # and no new version came of them on either side.
    assert copied_to(xb) == sent_to_b
    assert versions(sb, xb) == versions(sa, xa)
    # A change made on the source still goes to the replica.
    sa.put_object_tagging(Bucket=xa, Key="sync/k", Tagging={"TagSet": []})
    settle(a, b)
    assert sb.get_object_tagging(Bucket=xb, Key="sync/k")["TagSet"] == []
    assert copied_to(xb) == sent_to_b + 1


def test_admin_target_resync_status(
    app_factory: AppFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    from gateway import cli

    source = app_factory(replication_attempts=1, **FAST)  # one failure: FAILED at once
    dest = app_factory(**FAST)
    src, dst = boto3_client(source), boto3_client(dest)
    bucket, copies = versioned_bucket(src), versioned_bucket(dst)
    store = ["--data-dir", str(source.data_dir)]
    add = ["admin", "replication", "target", "add", "site-b", "--access-key", dest.access_key,
           "--secret-key", dest.secret_key, "--bucket", copies, "--kloudvault", *store]  # fmt: skip
    assert cli.main([*add, "--endpoint", f"http://127.0.0.1:{free_port()}"]) == 0
    src.put_object(Bucket=bucket, Key="before-the-rule", Body=b"old")
    replicate(src, bucket, copies)
    src.put_object(Bucket=bucket, Key="while-down", Body=b"lost?")
    settle(source)  # given up: the target does not answer
    assert src.head_object(Bucket=bucket, Key="while-down")["ReplicationStatus"] == "FAILED"
    capsys.readouterr()
    assert cli.main(["admin", "replication", "status", bucket, *store]) == 0
    out, err = capsys.readouterr()
    assert "failed\t" in out and f"{bucket}/while-down" in out
    assert "0 pending, 1 failed" in err
    assert cli.main([*add, "--endpoint", dest.endpoint]) == 0  # the target fixed
    assert cli.main(["admin", "replication", "target", "list", *store]) == 0
    listed = capsys.readouterr().out
    assert f"site-b\t{dest.endpoint}\tus-east-1\tkloudvault" in listed
    assert dest.secret_key not in listed
    assert cli.main(["admin", "replication", "resync", bucket, "--failed", *store]) == 0
    assert "queued 1 copies" in capsys.readouterr().out
    settle(source)
    assert [v[0] for v in versions(dst, copies)] == ["while-down"]
    assert cli.main(["admin", "replication", "resync", bucket, *store]) == 0  # existing objects
    settle(source)
    assert versions(dst, copies) == versions(src, bucket)
    assert src.head_object(Bucket=bucket, Key="before-the-rule")["ReplicationStatus"] == "COMPLETED"
    # Another target may not take a bucket already served.
    taken = ["admin", "replication", "target", "add", "other", "--endpoint", dest.endpoint,
             "--access-key", "a", "--secret-key", "s", "--bucket", copies, *store]  # fmt: skip
    assert cli.main(taken) == 1
    assert cli.main(["admin", "replication", "target", "remove", "site-b", *store]) == 0
    assert cli.main(["admin", "replication", "target", "remove", "site-b", *store]) == 1


def test_retention_and_legal_hold_where_the_destination_allows(
    pair: tuple[AppServer, AppServer],
) -> None:
    from datetime import UTC, datetime, timedelta

    source, dest = pair
    src, dst = boto3_client(source), boto3_client(dest)
    bucket = "lock-" + secrets.token_hex(4)
    locked, plain = "locked-" + secrets.token_hex(4), "plain-" + secrets.token_hex(4)
    src.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    dst.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    versioned_bucket(dst, plain)
    add_target(source, "site-b", dest, (locked, plain))
    rules = [
        {"ID": d, "Priority": n, "Status": "Enabled", "Filter": {"Prefix": ""},
         "DeleteMarkerReplication": {"Status": "Disabled"},
         "Destination": {"Bucket": f"arn:aws:s3:::{d}"}}
        for n, d in enumerate((locked, plain))
    ]  # fmt: skip
    src.put_bucket_replication(Bucket=bucket, ReplicationConfiguration={"Role": "", "Rules": rules})
    until = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    src.put_object(Bucket=bucket, Key="k", Body=b"held", ObjectLockMode="GOVERNANCE",
                   ObjectLockRetainUntilDate=until, ObjectLockLegalHoldStatus="ON")  # fmt: skip
    settle(source)
    head = dst.head_object(Bucket=locked, Key="k")
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]) == ("GOVERNANCE", until)
    assert head["ObjectLockLegalHoldStatus"] == "ON"
    assert "ObjectLockMode" not in dst.head_object(Bucket=plain, Key="k")  # no lock there
    src.put_object_legal_hold(Bucket=bucket, Key="k", LegalHold={"Status": "OFF"})
    settle(source)
    hold = dst.get_object_legal_hold(Bucket=locked, Key="k")["LegalHold"]
    assert hold == {"Status": "OFF"}
    assert src.head_object(Bucket=bucket, Key="k")["ReplicationStatus"] == "COMPLETED"
