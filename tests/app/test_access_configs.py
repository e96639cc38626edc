"""The bucket's access-control configuration against the live gateway with boto3:
Put/Get/DeleteBucketPolicy and GetBucketPolicyStatus, Put/Get/DeletePublicAccessBlock,
Put/Get/DeleteBucketOwnershipControls; their errors, and that they go with the bucket.
Bodies boto3 will not send (too large, not JSON) go through the signed raw client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from auth.policy.acl import acl_to_json, canned_acl
from auth.policy.model import MAX_BUCKET_POLICY_BYTES
from tests.app.client import SignedClient
from tests.app.server import AppServer


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = exc.value.response
    return (
        str(response["Error"]["Code"]),
        int(response["ResponseMetadata"]["HTTPStatusCode"]),
        str(response["Error"].get("Message", "")),
    )


def policy_of(bucket: str, principal: Any = "*", **extra: Any) -> str:
    statement = {
        "Sid": "Read",
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        **extra,
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, indent=2)


PRIVATE_POLICY_PRINCIPAL = {"AWS": "arn:aws:iam::123456789012:root"}
BLOCK_ALL = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


# -- bucket policy ----------------------------------------------------------------------


def test_put_get_delete_bucket_policy(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.get_bucket_policy(Bucket=bucket)
    assert error_of(err) == ("NoSuchBucketPolicy", 404, "The bucket policy does not exist.")
    policy = policy_of(bucket)
    out = s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == policy  # as sent, whitespace too
    replacement = policy_of(bucket, PRIVATE_POLICY_PRINCIPAL)
    s3.put_bucket_policy(Bucket=bucket, Policy=replacement)
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == replacement
    out = s3.delete_bucket_policy(Bucket=bucket)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as err:
        s3.get_bucket_policy(Bucket=bucket)
    assert error_of(err)[0] == "NoSuchBucketPolicy"
    s3.delete_bucket_policy(Bucket=bucket)  # idempotent


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("not json", "Policies must be valid JSON and the first byte must be '{'"),
        ('{"Statement": [', "This policy contains invalid Json"),
        ("OTHER", "Policy has invalid resource"),
        ('{"Version": "2012-10-17", "Statement": []}', "Statement must be"),
    ],
    ids=["not json", "truncated", "other bucket", "no statement"],
)
def test_malformed_policy(s3: Any, bucket: str, policy: str, message: str) -> None:
    if policy == "OTHER":
        policy = policy_of("some-other-bucket")
    with pytest.raises(ClientError) as err:
        s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    code, status, got = error_of(err)
    assert (code, status) == ("MalformedPolicy", 400)
    assert got.startswith(message)
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket=bucket)


def test_policy_status(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.get_bucket_policy_status(Bucket=bucket)
    assert error_of(err)[:2] == ("NoSuchBucketPolicy", 404)
    s3.put_bucket_policy(Bucket=bucket, Policy=policy_of(bucket))
    status = s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]
    assert status == {"IsPublic": True}
    s3.put_bucket_policy(Bucket=bucket, Policy=policy_of(bucket, PRIVATE_POLICY_PRINCIPAL))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"] == {"IsPublic": False}
    pinned = policy_of(bucket, Condition={"StringEquals": {"aws:SourceAccount": "123456789012"}})
    s3.put_bucket_policy(Bucket=bucket, Policy=pinned)
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"] == {"IsPublic": False}


def test_block_public_policy_refuses_a_public_policy(s3: Any, bucket: str) -> None:
    s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicPolicy": True}
    )
    with pytest.raises(ClientError) as err:
        s3.put_bucket_policy(Bucket=bucket, Policy=policy_of(bucket))
    assert error_of(err)[:2] == ("AccessDenied", 403)
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=policy_of(bucket, PRIVATE_POLICY_PRINCIPAL))
    # The other three settings leave a public policy alone.
    s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration={**BLOCK_ALL, "BlockPublicPolicy": False}
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=policy_of(bucket))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True


def _raw(aio: asyncio.Runner, client: SignedClient, method: str, path: str, body: bytes) -> Any:
    return aio.run(client.request(method, path, body=body))


def test_policy_bodies_boto3_does_not_send(app_client: SignedClient, aio: asyncio.Runner) -> None:
    assert _raw(aio, app_client, "PUT", "/raw", b"").status == 200
    large = policy_of("raw", Sid="x" * MAX_BUCKET_POLICY_BYTES).encode()
    empty_reply = _raw(aio, app_client, "PUT", "/raw?policy", b"")
    assert (empty_reply.status, empty_reply.error_code) == (400, "MalformedPolicy")
    large_reply = _raw(aio, app_client, "PUT", "/raw?policy", large)
    assert (large_reply.status, large_reply.error_code) == (400, "MalformedPolicy")
    assert b"20 KB" in large_reply.body
    ok = _raw(aio, app_client, "PUT", "/raw?policy", policy_of("raw").encode())
    assert ok.status == 204
    got = _raw(aio, app_client, "GET", "/raw?policy", b"")
    assert (got.status, got.headers["Content-Type"]) == (200, "application/json")
    assert got.body == policy_of("raw").encode()


# -- public access block ----------------------------------------------------------------


def test_put_get_delete_public_access_block(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.get_public_access_block(Bucket=bucket)
    assert error_of(err) == (
        "NoSuchPublicAccessBlockConfiguration",
        404,
        "The public access block configuration was not found",
    )
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=BLOCK_ALL)
    got = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert got == BLOCK_ALL
    s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration={"IgnorePublicAcls": True}
    )
    got = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert got == {**{k: False for k in BLOCK_ALL}, "IgnorePublicAcls": True}
    out = s3.delete_public_access_block(Bucket=bucket)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as err:
        s3.get_public_access_block(Bucket=bucket)
    assert error_of(err)[0] == "NoSuchPublicAccessBlockConfiguration"
    s3.delete_public_access_block(Bucket=bucket)  # idempotent


@pytest.mark.parametrize(
    "body",
    [
        b"<PublicAccessBlockConfiguration><BlockPublicAcls>maybe</BlockPublicAcls>"
        b"</PublicAccessBlockConfiguration>",
        b"<Other/>",
        b"<PublicAccessBlockConfiguration>",
        b"",
    ],
)
def test_malformed_public_access_block(
    app_client: SignedClient, aio: asyncio.Runner, body: bytes
) -> None:
    assert _raw(aio, app_client, "PUT", "/pab", b"").status == 200
    reply = _raw(aio, app_client, "PUT", "/pab?publicAccessBlock", body)
    assert (reply.status, reply.error_code) == (400, "MalformedXML")
    missing = _raw(aio, app_client, "GET", "/pab?publicAccessBlock", b"")
    assert missing.error_code == "NoSuchPublicAccessBlockConfiguration"


# -- ownership controls -----------------------------------------------------------------


def controls(value: str) -> dict[str, Any]:
    return {"Rules": [{"ObjectOwnership": value}]}


def test_put_get_delete_ownership_controls(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.get_bucket_ownership_controls(Bucket=bucket)
    assert error_of(err) == (
        "OwnershipControlsNotFoundError",
        404,
        "The bucket ownership controls were not found",
    )
    for value in ("BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"):
        s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=controls(value))
        got = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
        assert got == controls(value)
    out = s3.delete_bucket_ownership_controls(Bucket=bucket)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as err:
        s3.get_bucket_ownership_controls(Bucket=bucket)
    assert error_of(err)[0] == "OwnershipControlsNotFoundError"


def test_invalid_object_ownership(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=controls("Nobody"))
    assert error_of(err)[:2] == ("MalformedXML", 400)
    with pytest.raises(ClientError) as err:
        s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": []})
    assert error_of(err)[:2] == ("MalformedXML", 400)


def test_enforced_ownership_needs_a_private_bucket_acl(
    gateway: AppServer, s3: Any, bucket: str
) -> None:
    meta = gateway.services.meta
    public = acl_to_json(canned_acl("public-read", "owner-canonical-id"))
    gateway.call(meta.put_bucket_config(bucket, "acl", public))
    with pytest.raises(ClientError) as err:
        s3.put_bucket_ownership_controls(
            Bucket=bucket, OwnershipControls=controls("BucketOwnerEnforced")
        )
    assert error_of(err)[:2] == ("InvalidBucketAclWithObjectOwnership", 400)
    # ACLs still count under the other two settings.
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls=controls("BucketOwnerPreferred")
    )
    private = acl_to_json(canned_acl("private", "owner-canonical-id"))
    gateway.call(meta.put_bucket_config(bucket, "acl", private))
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls=controls("BucketOwnerEnforced")
    )
    got = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    assert got == controls("BucketOwnerEnforced")


# -- with the bucket ----------------------------------------------------------------------


def test_configurations_go_with_the_bucket(s3: Any, bucket: str) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=policy_of(bucket))
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=BLOCK_ALL)
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls=controls("BucketOwnerPreferred")
    )
    s3.delete_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=bucket)
    for call, code in (
        (s3.get_bucket_policy, "NoSuchBucketPolicy"),
        (s3.get_bucket_policy_status, "NoSuchBucketPolicy"),
        (s3.get_public_access_block, "NoSuchPublicAccessBlockConfiguration"),
        (s3.get_bucket_ownership_controls, "OwnershipControlsNotFoundError"),
    ):
        with pytest.raises(ClientError) as err:
            call(Bucket=bucket)
        assert error_of(err)[0] == code
    # The recreated bucket takes a public policy: no block survived either.
    s3.put_bucket_policy(Bucket=bucket, Policy=policy_of(bucket))


def test_missing_bucket(s3: Any) -> None:
    name = "no-such-bucket-for-policy"
    for call, kwargs in (
        (s3.get_bucket_policy, {}),
        (s3.put_bucket_policy, {"Policy": policy_of(name)}),
        (s3.get_public_access_block, {}),
        (s3.put_bucket_ownership_controls, {"OwnershipControls": controls("ObjectWriter")}),
    ):
        with pytest.raises(ClientError) as err:
            call(Bucket=name, **kwargs)
        assert error_of(err)[:2] == ("NoSuchBucket", 404)
