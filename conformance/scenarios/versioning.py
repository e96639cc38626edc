"""Versioning: Put/GetBucketVersioning, ListObjectVersions, reads and deletes by version id,
delete markers, suspension (null versions)."""

from __future__ import annotations

import json

from conformance.context import Context, expect, expect_eq, expect_error
from conformance.registry import scenario, unsupported

unsupported("versioning", "aws-s3", "`aws s3` has no version options")
unsupported("versioning", "s3cmd", "s3cmd has no versioning commands")
unsupported("versioning", "http-sigv2", "covered through http-sigv4")
unsupported("versioning", "http", "anonymous access is covered under policy")


def _versioned(ctx: Context) -> str:
    bucket = ctx.new_bucket("ver")
    ctx.admin.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


@scenario("versioning", "boto3", quick=True)
def versions_and_delete_markers(ctx: Context) -> None:
    s3 = ctx.boto3()
    bucket = ctx.new_bucket("ver")
    expect("Status" not in s3.get_bucket_versioning(Bucket=bucket), "new bucket is unversioned")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    expect_eq(s3.get_bucket_versioning(Bucket=bucket).get("Status"), "Enabled", "status")
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    expect(v1 != v2 and v1 != "null", f"version ids {v1} {v2}")
    expect_eq(s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read(), b"one", "v1")
    deleted = s3.delete_object(Bucket=bucket, Key="k")
    expect(deleted.get("DeleteMarker"), "DELETE on a versioned key makes a delete marker")
    expect_error(lambda: s3.get_object(Bucket=bucket, Key="k"), "NoSuchKey")
    listing = s3.list_object_versions(Bucket=bucket)
    expect_eq(
        sorted(v["VersionId"] for v in listing.get("Versions", [])), sorted([v1, v2]), "versions"
    )
    expect_eq(len(listing.get("DeleteMarkers", [])), 1, "delete markers")
    s3.delete_object(Bucket=bucket, Key="k", VersionId=deleted["VersionId"])
    expect_eq(s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"two", "after undelete")
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)
    expect_eq(s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"one", "v1 is latest again")


@scenario("versioning", "boto3")
def suspended_null_version(ctx: Context) -> None:
    s3 = ctx.boto3()
    bucket = _versioned(ctx)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"kept")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"null a")
    s3.put_object(Bucket=bucket, Key="k", Body=b"null b")
    ids = [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]]
    expect_eq(sorted(ids), sorted([v1, "null"]), "the null version is overwritten in place")


@scenario("versioning", "aws-s3api", quick=True)
def versioning_cli(ctx: Context) -> None:
    bucket = ctx.new_bucket("ver")
    ctx.aws("s3api", "put-bucket-versioning", "--bucket", bucket,
            "--versioning-configuration", "Status=Enabled")  # fmt: skip
    src = ctx.file("v", b"v")
    for _ in range(2):
        ctx.aws("s3api", "put-object", "--bucket", bucket, "--key", "k", "--body", str(src))
    out = ctx.aws_json("s3api", "list-object-versions", "--bucket", bucket)
    expect_eq(len(out.get("Versions", [])), 2, "two versions")


@scenario("versioning", "s3fs", quick=True)
def version_aware_fs(ctx: Context) -> None:
    bucket = _versioned(ctx)
    v1 = ctx.admin.put_object(Bucket=bucket, Key="k", Body=b"first")["VersionId"]
    ctx.admin.put_object(Bucket=bucket, Key="k", Body=b"second")
    fs = ctx.s3fs(version_aware=True)
    versions = fs.object_version_info(f"{bucket}/k")
    expect_eq(len(versions), 2, "object_version_info")
    with fs.open(f"{bucket}/k", "rb", version_id=v1) as fh:
        expect_eq(fh.read(), b"first", "open(version_id=...)")


@scenario("versioning", "rclone", quick=True)
def backend_versioning_and_versions_listing(ctx: Context) -> None:
    bucket = ctx.new_bucket("ver")
    out = ctx.rclone("backend", "versioning", f"kv:{bucket}", "Enabled").stdout
    expect("Enabled" in out, f"rclone backend versioning: {out!r}")
    src = ctx.file("r.txt", b"one")
    ctx.rclone("copyto", str(src), f"kv:{bucket}/r.txt")
    src.write_bytes(b"two!")
    ctx.rclone("copyto", str(src), f"kv:{bucket}/r.txt")
    listed = json.loads(ctx.rclone("lsjson", "--s3-versions", f"kv:{bucket}").stdout)
    expect_eq(len(listed), 2, f"lsjson --s3-versions: {listed}")


@scenario("versioning", "http-sigv4", quick=True)
def presigned_get_version(ctx: Context) -> None:
    bucket = _versioned(ctx)
    v1 = ctx.admin.put_object(Bucket=bucket, Key="k", Body=b"old")["VersionId"]
    ctx.admin.put_object(Bucket=bucket, Key="k", Body=b"new")
    url = ctx.presign("get_object", "k", bucket=bucket, VersionId=v1)
    status, headers, body = ctx.http("GET", url)
    expect_eq((status, body), (200, b"old"), "GET ?versionId")
    expect_eq(headers.get("x-amz-version-id"), v1, "x-amz-version-id")
