"""Multipart checksums as AWS defines them
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html):
the algorithm named at CreateMultipartUpload applies to every part, including parts sent
without a checksum and UploadPartCopy parts; SHA-256 uploads are COMPOSITE (checksum of
the part digests, "-N"), CRC64NVME uploads FULL_OBJECT (the CRC of the whole object); and
ChecksumType comes back from Complete, HeadObject, GetObject, GetObjectAttributes and the
listings.
Expected values are computed here with hashlib and botocore's CRC, not the gateway's code.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.httpchecksum import CrtCrc64NvmeChecksum

from tests.app.server import AppServer
from tests.app.test_buckets import code_of
from tests.support.clients import boto3_client

MiB = 1024 * 1024
FIRST, SOURCE, LAST = b"a" * (5 * MiB), b"s" * (5 * MiB), b"tail bytes"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _crc64nvme(data: bytes) -> bytes:
    checksum = CrtCrc64NvmeChecksum()
    checksum.update(data)
    return checksum.digest()


DIGEST = {"SHA256": _sha256, "CRC64NVME": _crc64nvme}


_PLAIN: dict[str, Any] = {}


@pytest.fixture
def plain_s3(gateway: AppServer) -> Any:
    """A client that sends no checksum of its own: the upload's algorithm must apply."""
    client = _PLAIN.get(gateway.endpoint)
    if client is None:
        client = _PLAIN[gateway.endpoint] = boto3_client(
            gateway, request_checksum_calculation="when_required"
        )
    return client


@pytest.mark.parametrize(
    ("algorithm", "kind"), [("SHA256", "COMPOSITE"), ("CRC64NVME", "FULL_OBJECT")]
)
def test_upload_algorithm_applies_to_every_part(
    s3: Any, plain_s3: Any, bucket: str, algorithm: str, kind: str
) -> None:
    digest = DIGEST[algorithm]
    member = f"Checksum{algorithm}"
    s3.put_object(Bucket=bucket, Key="src", Body=SOURCE)
    created = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm=algorithm)
    assert (created["ChecksumAlgorithm"], created["ChecksumType"]) == (algorithm, kind)
    uid = created["UploadId"]
    # Parts 1 and 3 carry no checksum; part 2 is a copy. Each gets the upload's algorithm.
    answers = {
        n: plain_s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=n, Body=data)
        for n, data in ((1, FIRST), (3, LAST))
    }
    answers[2] = s3.upload_part_copy(
        Bucket=bucket, Key="k", UploadId=uid, PartNumber=2, CopySource=f"{bucket}/src"
    )["CopyPartResult"]
    bodies = [FIRST, SOURCE, LAST]
    got = [answers[n][member] for n in (1, 2, 3)]
    assert got == [_b64(digest(b)) for b in bodies]
    listed = s3.list_parts(Bucket=bucket, Key="k", UploadId=uid)
    assert [p[member] for p in listed["Parts"]] == got
    assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == (algorithm, kind)

    if kind == "COMPOSITE":
        whole = _b64(digest(b"".join(digest(b) for b in bodies))) + "-3"
    else:
        whole = _b64(digest(b"".join(bodies)))
    parts = [{"PartNumber": n, "ETag": answers[n]["ETag"], member: got[n - 1]} for n in (1, 2, 3)]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": parts}
    )
    assert (done[member], done["ChecksumType"]) == (whole, kind)
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert (head[member], head["ChecksumType"]) == (whole, kind)
    obj = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert (obj[member], obj["ChecksumType"]) == (whole, kind)
    assert obj["Body"].read() == b"".join(bodies)
    attrs = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["Checksum"])
    assert attrs["Checksum"] == {member: whole, "ChecksumType": kind}
    # The listings name the algorithm and the type too (the Object and ObjectVersion shapes).
    entry = s3.list_objects_v2(Bucket=bucket, Prefix="k")["Contents"][0]
    assert (entry["ChecksumAlgorithm"], entry["ChecksumType"]) == ([algorithm], kind)
    entry = s3.list_object_versions(Bucket=bucket, Prefix="k")["Versions"][0]
    assert (entry["ChecksumAlgorithm"], entry["ChecksumType"]) == ([algorithm], kind)


def test_mismatching_checksums_are_bad_digest(s3: Any, bucket: str) -> None:
    wrong = _b64(_sha256(b"other"))
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key="k", Body=b"data", ChecksumSHA256=wrong)
    assert (code_of(info), info.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "BadDigest",
        400,
    )
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="SHA256")["UploadId"]
    with pytest.raises(ClientError) as info:
        s3.upload_part(
            Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"data",
            ChecksumSHA256=wrong,
        )  # fmt: skip
    assert code_of(info) == "BadDigest"
    # A part naming another algorithm than the upload's is a malformed request, as in S3.
    with pytest.raises(ClientError) as info:
        s3.upload_part(
            Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"data",
            ChecksumAlgorithm="CRC32",
        )  # fmt: skip
    assert code_of(info) == "InvalidRequest"
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=uid)
