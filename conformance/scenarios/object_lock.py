"""Object Lock: buckets created with lock enabled, default retention, per-object retention
(GOVERNANCE, bypass), legal holds. COMPLIANCE is never used: nothing could clean it up."""

from __future__ import annotations

import datetime

from conformance.context import Context, expect, expect_eq, expect_error
from conformance.registry import scenario, unsupported

for _client in ("aws-s3", "s3fs", "rclone", "s3cmd", "http-sigv4", "http-sigv2", "http"):
    unsupported("object-lock", _client, "no object lock options")


def _locked_bucket(ctx: Context) -> str:
    return ctx.new_bucket("lock", ObjectLockEnabledForBucket=True)


def _soon(minutes: int = 5) -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=minutes)


@scenario("object-lock", "boto3", quick=True)
def governance_retention_and_bypass(ctx: Context) -> None:
    s3 = ctx.boto3()
    bucket = _locked_bucket(ctx)
    conf = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    expect_eq(conf.get("ObjectLockEnabled"), "Enabled", "lock enabled")
    expect_eq(s3.get_bucket_versioning(Bucket=bucket).get("Status"), "Enabled", "versioning on")
    vid = s3.put_object(Bucket=bucket, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
                        ObjectLockRetainUntilDate=_soon())["VersionId"]  # fmt: skip
    ret = s3.get_object_retention(Bucket=bucket, Key="k", VersionId=vid)["Retention"]
    expect_eq(ret["Mode"], "GOVERNANCE", "retention mode")
    expect_error(lambda: s3.delete_object(Bucket=bucket, Key="k", VersionId=vid), "AccessDenied")
    s3.delete_object(Bucket=bucket, Key="k", VersionId=vid, BypassGovernanceRetention=True)


@scenario("object-lock", "boto3", quick=True)
def legal_hold(ctx: Context) -> None:
    s3 = ctx.boto3()
    bucket = _locked_bucket(ctx)
    vid = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    s3.put_object_legal_hold(Bucket=bucket, Key="k", VersionId=vid, LegalHold={"Status": "ON"})
    expect_eq(s3.get_object_legal_hold(Bucket=bucket, Key="k", VersionId=vid)["LegalHold"],
              {"Status": "ON"}, "legal hold")  # fmt: skip
    expect_error(
        lambda: s3.delete_object(
            Bucket=bucket, Key="k", VersionId=vid, BypassGovernanceRetention=True
        ),
        "AccessDenied",
    )
    s3.put_object_legal_hold(Bucket=bucket, Key="k", VersionId=vid, LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=bucket, Key="k", VersionId=vid)


@scenario("object-lock", "boto3")
def default_retention(ctx: Context) -> None:
    s3 = ctx.boto3()
    bucket = _locked_bucket(ctx)
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})  # fmt: skip
    vid = s3.put_object(Bucket=bucket, Key="d", Body=b"x")["VersionId"]
    head = s3.head_object(Bucket=bucket, Key="d", VersionId=vid)
    expect_eq(head.get("ObjectLockMode"), "GOVERNANCE", "default mode applied")
    expect("ObjectLockRetainUntilDate" in head, "retain-until date")


@scenario("object-lock", "aws-s3api", quick=True)
def lock_configuration_cli(ctx: Context) -> None:
    bucket = ctx.own_bucket_name("lock")
    ctx.aws("s3api", "create-bucket", "--bucket", bucket, "--object-lock-enabled-for-bucket")
    out = ctx.aws_json("s3api", "get-object-lock-configuration", "--bucket", bucket)
    expect_eq(out["ObjectLockConfiguration"].get("ObjectLockEnabled"), "Enabled", "enabled")
