"""SSE-KMS through boto3: the built-in KMS's keys (default, by id, ARN and alias),
encryption context, bucket keys, disabled and unknown keys, bucket default aws:kms,
copies between modes, multipart, and rotation then read."""

from __future__ import annotations

import base64
import json
import os
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from auth.credentials import ROOT_USER
from gateway.codec.frames import FRAME_SIZE
from gateway.codec.kms import DEFAULT_ALIAS, BuiltinKms
from gateway.kms_admin import reseal, reseal_master
from gateway.meta.base import KmsKey
from tests.app.conftest import AppFactory
from tests.app.server import AppServer
from tests.app.test_buckets import code_of, status_of
from tests.app.test_sse import MARKER, PART, _body, _multipart, stored_bytes
from tests.support.clients import boto3_client

ARN = re.compile(r"arn:aws:kms:us-east-1:\d{12}:key/[0-9a-f-]{36}")


def _new_key(gateway: AppServer, alias: str | None = None) -> KmsKey:
    return gateway.call(gateway.services.kms.create_key(ROOT_USER, alias))


def _set_enabled(gateway: AppServer, key: KmsKey, enabled: bool) -> None:
    assert gateway.call(gateway.services.kms.set_enabled(key.key_id, enabled))


def test_sse_kms_default_key(s3: Any, bucket: str, gateway: AppServer) -> None:
    body = _body(3 * FRAME_SIZE + 17)
    put = s3.put_object(Bucket=bucket, Key="o", Body=body, ServerSideEncryption="aws:kms")
    assert put["ServerSideEncryption"] == "aws:kms" and ARN.fullmatch(put["SSEKMSKeyId"])
    default = gateway.call(gateway.services.meta.find_kms_alias(ROOT_USER, DEFAULT_ALIAS))
    assert default is not None and put["SSEKMSKeyId"].endswith(default.key_id)
    got = s3.get_object(Bucket=bucket, Key="o")
    assert got["Body"].read() == body
    assert (got["ServerSideEncryption"], got["SSEKMSKeyId"]) == ("aws:kms", put["SSEKMSKeyId"])
    head = s3.head_object(Bucket=bucket, Key="o")
    assert head["SSEKMSKeyId"] == put["SSEKMSKeyId"] and "BucketKeyEnabled" not in head
    for start, end in [(FRAME_SIZE - 2, FRAME_SIZE + 2), (7, 3 * FRAME_SIZE + 9)]:
        part = s3.get_object(Bucket=bucket, Key="o", Range=f"bytes={start}-{end}")
        assert part["Body"].read() == body[start : end + 1]
    assert MARKER not in stored_bytes(gateway, bucket, "o")
    # The second write finds the same default key.
    again = s3.put_object(Bucket=bucket, Key="p", Body=b"x", ServerSideEncryption="aws:kms")
    assert again["SSEKMSKeyId"] == put["SSEKMSKeyId"]


def test_sse_kms_named_key_context_and_bucket_key(s3: Any, bucket: str, gateway: AppServer) -> None:
    key = _new_key(gateway, "alias/app-test-named")
    arn = gateway.services.kms.arn(key)
    context = base64.b64encode(json.dumps({"team": "data"}).encode()).decode()
    for name, ref in [("id", key.key_id), ("arn", arn), ("alias", "alias/app-test-named")]:
        put = s3.put_object(
            Bucket=bucket,
            Key=name,
            Body=MARKER,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=ref,
            SSEKMSEncryptionContext=context,
            BucketKeyEnabled=True,
        )
        assert (put["SSEKMSKeyId"], put["SSEKMSEncryptionContext"]) == (arn, context)
        assert put["BucketKeyEnabled"] is True
        got = s3.get_object(Bucket=bucket, Key=name)
        assert got["Body"].read() == MARKER and got["BucketKeyEnabled"] is True
        assert "SSEKMSEncryptionContext" not in got
    with pytest.raises(ClientError) as err:  # the key's ARN in another region
        s3.put_object(
            Bucket=bucket,
            Key="r",
            Body=b"x",
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=arn.replace(":us-east-1:", ":eu-west-1:"),
        )
    assert code_of(err) == "KMS.NotFoundException"
    dsse = s3.put_object(Bucket=bucket, Key="d", Body=b"x", ServerSideEncryption="aws:kms:dsse")
    assert dsse["ServerSideEncryption"] == "aws:kms:dsse"
    assert s3.head_object(Bucket=bucket, Key="d")["ServerSideEncryption"] == "aws:kms:dsse"


def test_sse_kms_bad_requests(s3: Any, bucket: str) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"SSEKMSKeyId": "0c1f1b7c-0000-4000-8000-000000000000"}, "KMS.NotFoundException"),
        ({"SSEKMSKeyId": "arn:aws:kms:us-east-1:000000000000:key/x"}, "KMS.NotFoundException"),
        ({"SSEKMSKeyId": "alias/no-such-alias"}, "KMS.NotFoundException"),
        ({"SSEKMSKeyId": "not a key id!"}, "KMS.NotFoundException"),
        ({"SSEKMSEncryptionContext": "bm90IGpzb24="}, "InvalidArgument"),  # "not json"
        ({"SSEKMSEncryptionContext": base64.b64encode(b'{"a": 1}').decode()}, "InvalidArgument"),
    ]
    for extra, code in cases:
        with pytest.raises(ClientError) as err:
            s3.put_object(
                Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms", **extra
            )
        assert (status_of(err), code_of(err)) == (400, code), extra
    with pytest.raises(ClientError) as err:
        s3.put_object(
            Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="AES256", SSEKMSKeyId="k"
        )
    assert (status_of(err), code_of(err)) == (400, "InvalidArgument")


def test_disabled_key_refuses_reads_and_writes(s3: Any, bucket: str, gateway: AppServer) -> None:
    key = _new_key(gateway)
    s3.put_object(
        Bucket=bucket, Key="o", Body=b"data", ServerSideEncryption="aws:kms", SSEKMSKeyId=key.key_id
    )
    _set_enabled(gateway, key, False)
    try:
        with pytest.raises(ClientError) as err:
            s3.get_object(Bucket=bucket, Key="o")
        assert (status_of(err), code_of(err)) == (400, "KMS.DisabledException")
        assert key.key_id in err.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as err:
            s3.head_object(Bucket=bucket, Key="o")
        assert status_of(err) == 400
        with pytest.raises(ClientError) as err:
            s3.put_object(
                Bucket=bucket,
                Key="n",
                Body=b"x",
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=key.key_id,
            )
        assert (status_of(err), code_of(err)) == (400, "KMS.DisabledException")
        with pytest.raises(ClientError) as err:
            s3.copy_object(Bucket=bucket, Key="c", CopySource=f"{bucket}/o")
        assert code_of(err) == "KMS.DisabledException"
    finally:
        _set_enabled(gateway, key, True)
    assert s3.get_object(Bucket=bucket, Key="o")["Body"].read() == b"data"


def test_bucket_default_aws_kms_and_multipart(s3: Any, bucket: str, gateway: AppServer) -> None:
    key = _new_key(gateway)
    arn = gateway.services.kms.arn(key)
    rule = {
        "ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": key.key_id,
        },
        "BucketKeyEnabled": True,
    }
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})
    got = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert got["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == key.key_id
    assert got["BucketKeyEnabled"] is True
    put = s3.put_object(Bucket=bucket, Key="d", Body=b"default")
    assert (put["ServerSideEncryption"], put["SSEKMSKeyId"], put["BucketKeyEnabled"]) == (
        "aws:kms",
        arn,
        True,
    )
    # A request's own choice wins over the default.
    assert (
        s3.put_object(Bucket=bucket, Key="s", Body=b"x", ServerSideEncryption="AES256")[
            "ServerSideEncryption"
        ]
        == "AES256"
    )
    parts = [_body(PART), _body(FRAME_SIZE + 5)]
    body = b"".join(parts)
    done = _multipart(s3, bucket, "mp", parts)
    assert done["Created"]["SSEKMSKeyId"] == arn and done["SSEKMSKeyId"] == arn
    assert MARKER not in stored_bytes(gateway, bucket, "mp")
    start, end = PART - 70_000, PART + FRAME_SIZE + 1  # across the part and frame boundaries
    ranged = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={start}-{end}")
    assert ranged["Body"].read() == body[start : end + 1] and ranged["SSEKMSKeyId"] == arn
    second = s3.get_object(Bucket=bucket, Key="mp", PartNumber=2)
    assert second["Body"].read() == parts[1]


def test_copy_between_kms_and_other_modes(s3: Any, bucket: str, gateway: AppServer) -> None:
    key, other = _new_key(gateway), _new_key(gateway)
    body = _body(FRAME_SIZE + 10)
    s3.put_object(Bucket=bucket, Key="plain", Body=body)
    to_kms = s3.copy_object(
        Bucket=bucket,
        Key="kms",
        CopySource=f"{bucket}/plain",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=key.key_id,
    )
    assert to_kms["SSEKMSKeyId"].endswith(key.key_id)
    assert MARKER not in stored_bytes(gateway, bucket, "kms")
    to_other = s3.copy_object(
        Bucket=bucket,
        Key="kms",
        CopySource=f"{bucket}/kms",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=other.key_id,
    )
    assert to_other["SSEKMSKeyId"].endswith(other.key_id)
    to_s3 = s3.copy_object(
        Bucket=bucket, Key="s3", CopySource=f"{bucket}/kms", ServerSideEncryption="AES256"
    )
    assert to_s3["ServerSideEncryption"] == "AES256"
    back = s3.copy_object(Bucket=bucket, Key="plain2", CopySource=f"{bucket}/kms")
    assert "ServerSideEncryption" not in back
    for name in ("kms", "s3", "plain2"):
        assert s3.get_object(Bucket=bucket, Key=name)["Body"].read() == body


def test_rotate_then_read(s3: Any, bucket: str, gateway: AppServer) -> None:
    key = _new_key(gateway)
    kms = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key.key_id}
    body = _body(2 * FRAME_SIZE + 3)
    s3.put_object(Bucket=bucket, Key="o", Body=body, **kms)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", **kms)["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=body)
    meta = gateway.services.meta
    before = gateway.call(meta.get_object(bucket, "o"))
    assert before is not None

    async def rotate() -> tuple[int, int]:
        kms_ = gateway.services.kms
        assert await kms_.add_version(key.key_id) is not None
        report = await reseal(kms_, key.key_id)
        return report.versions, report.parts

    assert gateway.call(rotate()) == (1, 1)
    after = gateway.call(meta.get_object(bucket, "o"))
    assert after is not None
    old, new = before.segments[0], after.segments[0]
    assert new.blob_id == old.blob_id  # no blob rewritten
    assert new.codec is not None and old.codec is not None and new.codec.kms is not None
    assert new.codec.kms.key_version == 1 and new.codec.sealed_key != old.codec.sealed_key
    assert s3.get_object(Bucket=bucket, Key="o")["Body"].read() == body
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == body
    # Nothing left under the old version: a second run re-seals nothing.
    assert gateway.call(reseal(gateway.services.kms, key.key_id)).versions == 0


def test_bucket_policy_requires_sse_kms_with_a_key(
    s3: Any, bucket: str, gateway: AppServer
) -> None:
    key = _new_key(gateway)
    arn = gateway.services.kms.arn(key)
    resource = f"arn:aws:s3:::{bucket}/*"

    def deny(condition: dict[str, Any]) -> dict[str, Any]:
        return {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": resource,
            "Condition": condition,
        }

    policy = {
        "Version": "2012-10-17",
        "Statement": [
            deny({"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}),
            deny(
                {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": arn}}
            ),
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    try:
        for extra in ({}, {"ServerSideEncryption": "AES256"}):
            with pytest.raises(ClientError) as err:
                s3.put_object(Bucket=bucket, Key="k", Body=b"x", **extra)
            assert status_of(err) == 403
        with pytest.raises(ClientError) as err:
            s3.put_object(
                Bucket=bucket,
                Key="k",
                Body=b"x",
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=_new_key(gateway).key_id,
            )
        assert status_of(err) == 403
        s3.put_object(
            Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=arn
        )
    finally:
        s3.delete_bucket_policy(Bucket=bucket)


def test_master_key_rotation(app_factory: AppFactory) -> None:
    """Restart with a new master key and the old one as previous, re-seal, drop the old
    key: SSE-S3 and SSE-KMS objects read at every step. (The restarts are simulated by
    replacing the keys Services read once.)"""
    old, new = os.urandom(32), os.urandom(32)
    server = app_factory(master_key=base64.b64encode(old).decode())
    s3 = boto3_client(server)
    s3.create_bucket(Bucket="rotate-master")
    body = _body(FRAME_SIZE + 3)
    s3.put_object(Bucket="rotate-master", Key="s3", Body=body, ServerSideEncryption="AES256")
    s3.put_object(Bucket="rotate-master", Key="kms", Body=body, ServerSideEncryption="aws:kms")
    services = server.services

    def restart(*keys: bytes) -> None:
        services.__dict__.update(master_key=keys[0], master_keys=keys)
        services.__dict__["kms"] = BuiltinKms(services.meta, lambda: keys, "us-east-1")

    restart(new, old)
    s3.put_object(Bucket="rotate-master", Key="s3-new", Body=body, ServerSideEncryption="AES256")
    for key in ("s3", "kms", "s3-new"):
        assert s3.get_object(Bucket="rotate-master", Key=key)["Body"].read() == body
    report = server.call(reseal_master(services.kms))
    assert (report.versions, report.kms_keys) == (1, 1)  # s3-new was under the new key
    restart(new)
    for key in ("s3", "kms", "s3-new"):
        assert s3.get_object(Bucket="rotate-master", Key=key)["Body"].read() == body


def test_sse_kms_needs_sigv4(s3: Any, bucket: str, gateway: AppServer) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms")
    s3.put_object(Bucket=bucket, Key="plain", Body=b"x")
    v2 = boto3_client(gateway, signature_version="s3")
    assert v2.get_object(Bucket=bucket, Key="plain")["Body"].read() == b"x"
    with pytest.raises(ClientError) as err:
        v2.get_object(Bucket=bucket, Key="k")
    assert (status_of(err), code_of(err)) == (400, "InvalidArgument")
    with pytest.raises(ClientError) as err:
        v2.put_object(Bucket=bucket, Key="n", Body=b"x", ServerSideEncryption="aws:kms")
    assert (status_of(err), code_of(err)) == (400, "InvalidArgument")
