"""Multipart uploads through boto3 on a live gateway (http and https): the API, S3's rules,
checksums, resumable uploads, and the concurrency cases (racing uploads, abort during a
part, retried Completes) on gateways whose collector runs with no grace period.

The large client transfers (aws-cli, boto3's transfer manager, rclone, s3fs) and the
memory bound live in test_multipart_transfers.py.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from gateway.codec.checksums import new_checksum
from tests.app.conftest import AppFactory
from tests.app.server import AppServer
from tests.app.test_buckets import code_of, status_of
from tests.support.clients import boto3_client, unique_bucket_name

pytestmark = [pytest.mark.all_backends, pytest.mark.https]

MiB = 1024 * 1024
PART = 5 * MiB


def checksum(algorithm: str, data: bytes) -> str:
    c = new_checksum(algorithm)
    c.update(data)
    return c.b64()


def multipart_etag(parts: list[bytes]) -> str:
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


def composite(algorithm: str, parts: list[bytes]) -> str:
    raw = b"".join(base64.b64decode(checksum(algorithm, p)) for p in parts)
    return f"{checksum(algorithm, raw)}-{len(parts)}"


def upload_parts(
    s3: Any, bucket: str, key: str, upload_id: str, parts: list[bytes], **extra: Any
) -> list[dict[str, Any]]:
    done = []
    for number, data in enumerate(parts, start=1):
        answer = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data, **extra
        )
        entry = {"PartNumber": number, "ETag": answer["ETag"]}
        entry.update({k: v for k, v in answer.items() if k.startswith("Checksum")})
        done.append(entry)
    return done


def complete(s3: Any, bucket: str, key: str, upload_id: str, parts: list[Any], **kw: Any) -> Any:
    return s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}, **kw
    )


def raw_request(
    gw: AppServer,
    method: str,
    url: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """Send a (presigned) request as given: no SDK between us and the wire."""
    parts = urlsplit(url)
    conn: http.client.HTTPConnection
    if gw.scheme == "https":
        conn = http.client.HTTPSConnection(gw.host, gw.port, timeout=60, context=gw.ssl_context)
    else:
        conn = http.client.HTTPConnection(gw.host, gw.port, timeout=60)
    try:
        conn.putrequest(method, f"{parts.path}?{parts.query}", skip_accept_encoding=True)
        all_headers = {"Content-Length": str(len(body)), **(headers or {})}
        for name, value in all_headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        if body:
            conn.send(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def error_code(body: bytes) -> str:
    text = body.decode()
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0]


# -- the API, end to end ------------------------------------------------------------------------


def test_multipart_upload_roundtrip(s3: Any, bucket: str) -> None:
    parts = [os.urandom(PART), os.urandom(PART + 17), os.urandom(1234)]
    created = s3.create_multipart_upload(
        Bucket=bucket,
        Key="dir/big file.bin",
        ContentType="application/x-test",
        CacheControl="max-age=60",
        ContentDisposition='attachment; filename="big.bin"',
        Metadata={"origin": "test", "md5chksum": "abc"},
        StorageClass="STANDARD_IA",
        ChecksumAlgorithm="CRC32",
    )
    assert (created["ChecksumAlgorithm"], created["ChecksumType"]) == ("CRC32", "COMPOSITE")
    assert (created["Bucket"], created["Key"]) == (bucket, "dir/big file.bin")
    uid = created["UploadId"]
    # Parts may arrive in any order; each answer carries the part's checksum.
    answers = {}
    for number in (3, 1, 2):
        answers[number] = s3.upload_part(
            Bucket=bucket,
            Key="dir/big file.bin",
            UploadId=uid,
            PartNumber=number,
            Body=parts[number - 1],
            ChecksumAlgorithm="CRC32",
        )
        assert answers[number]["ChecksumCRC32"] == checksum("CRC32", parts[number - 1])
        assert answers[number]["ETag"] == f'"{hashlib.md5(parts[number - 1]).hexdigest()}"'
    listed = [
        {"PartNumber": n, "ETag": answers[n]["ETag"], "ChecksumCRC32": answers[n]["ChecksumCRC32"]}
        for n in (1, 2, 3)
    ]
    done = complete(s3, bucket, "dir/big file.bin", uid, listed)
    assert done["ETag"] == multipart_etag(parts)
    assert done["ChecksumCRC32"] == composite("CRC32", parts)
    assert done["ChecksumType"] == "COMPOSITE"
    assert done["Location"].endswith(f"/{bucket}/dir/big%20file.bin")

    head = s3.head_object(Bucket=bucket, Key="dir/big file.bin", ChecksumMode="ENABLED")
    assert head["ContentLength"] == sum(map(len, parts))
    assert head["ETag"] == multipart_etag(parts)
    assert head["ContentType"] == "application/x-test"
    assert head["CacheControl"] == "max-age=60"
    assert head["ContentDisposition"] == 'attachment; filename="big.bin"'
    assert head["Metadata"] == {"origin": "test", "md5chksum": "abc"}
    assert head["StorageClass"] == "STANDARD_IA"
    assert head["ChecksumCRC32"] == composite("CRC32", parts)
    assert head["ChecksumType"] == "COMPOSITE"

    whole = s3.get_object(Bucket=bucket, Key="dir/big file.bin", ChecksumMode="ENABLED")
    assert whole["Body"].read() == b"".join(parts)

    # partNumber reads: the part's bytes, the parts count, and the part's own checksum
    # (which botocore validates against the body it receives).
    for number, data in enumerate(parts, start=1):
        got = s3.get_object(
            Bucket=bucket, Key="dir/big file.bin", PartNumber=number, ChecksumMode="ENABLED"
        )
        assert got["Body"].read() == data
        assert got["PartsCount"] == 3
        assert got["ChecksumCRC32"] == checksum("CRC32", data)
        start = sum(map(len, parts[: number - 1]))
        assert (
            got["ContentRange"] == f"bytes {start}-{start + len(data) - 1}/{head['ContentLength']}"
        )
    head2 = s3.head_object(Bucket=bucket, Key="dir/big file.bin", PartNumber=2)
    assert (head2["ContentLength"], head2["PartsCount"]) == (len(parts[1]), 3)
    with pytest.raises(ClientError) as info:
        s3.head_object(Bucket=bucket, Key="dir/big file.bin", PartNumber=4)
    assert status_of(info) == 400
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="dir/big file.bin", PartNumber=4)
    assert (code_of(info), status_of(info)) == ("InvalidPartNumber", 400)

    # A range across both part boundaries.
    joined = b"".join(parts)
    lo, hi = PART - 100, 2 * PART + 17 + 100
    ranged = s3.get_object(Bucket=bucket, Key="dir/big file.bin", Range=f"bytes={lo}-{hi}")
    assert ranged["Body"].read() == joined[lo : hi + 1]
    assert "ChecksumCRC32" not in ranged


def test_get_object_attributes(s3: Any, bucket: str) -> None:
    parts = [os.urandom(PART), os.urandom(PART), os.urandom(10)]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="SHA256")[
        "UploadId"
    ]
    listed = upload_parts(s3, bucket, "mp", uid, parts, ChecksumAlgorithm="SHA256")
    complete(s3, bucket, "mp", uid, listed)
    everything = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]
    attrs = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=everything)
    assert attrs["ETag"] == multipart_etag(parts).strip('"')
    assert attrs["Checksum"] == {
        "ChecksumSHA256": composite("SHA256", parts),
        "ChecksumType": "COMPOSITE",
    }
    assert (attrs["StorageClass"], attrs["ObjectSize"]) == ("STANDARD", 2 * PART + 10)
    assert "LastModified" in attrs
    page = s3.get_object_attributes(
        Bucket=bucket, Key="mp", ObjectAttributes=["ObjectParts"], MaxParts=2
    )["ObjectParts"]
    assert page["TotalPartsCount"] == 3
    assert page["IsTruncated"] is True
    assert [p["PartNumber"] for p in page["Parts"]] == [1, 2]
    assert page["Parts"][0] == {
        "PartNumber": 1,
        "Size": PART,
        "ChecksumSHA256": checksum("SHA256", parts[0]),
    }
    rest = s3.get_object_attributes(
        Bucket=bucket,
        Key="mp",
        ObjectAttributes=["ObjectParts"],
        PartNumberMarker=page["NextPartNumberMarker"],
    )["ObjectParts"]
    assert ([p["PartNumber"] for p in rest["Parts"]], rest["IsTruncated"]) == ([3], False)

    s3.put_object(Bucket=bucket, Key="single", Body=b"hello", ChecksumAlgorithm="CRC32")
    single = s3.get_object_attributes(Bucket=bucket, Key="single", ObjectAttributes=everything)
    assert single["ETag"] == hashlib.md5(b"hello").hexdigest()
    assert single["Checksum"] == {
        "ChecksumCRC32": checksum("CRC32", b"hello"),
        "ChecksumType": "FULL_OBJECT",
    }
    assert single["ObjectSize"] == 5
    assert "ObjectParts" not in single  # S3 lists parts of multipart objects only
    with pytest.raises(ClientError) as info:
        s3.get_object_attributes(Bucket=bucket, Key="nope", ObjectAttributes=["ETag"])
    assert code_of(info) == "NoSuchKey"


@pytest.mark.parametrize(
    ("algorithm", "kind"),
    [("CRC64NVME", None), ("CRC32", "FULL_OBJECT"), ("CRC32C", "FULL_OBJECT")],
)
def test_full_object_checksum(s3: Any, bucket: str, algorithm: str, kind: str | None) -> None:
    parts = [os.urandom(PART), os.urandom(999)]
    extra = {"ChecksumType": kind} if kind else {}
    created = s3.create_multipart_upload(
        Bucket=bucket, Key="full", ChecksumAlgorithm=algorithm, **extra
    )
    assert created["ChecksumType"] == "FULL_OBJECT"
    listed = upload_parts(
        s3, bucket, "full", created["UploadId"], parts, ChecksumAlgorithm=algorithm
    )
    whole = checksum(algorithm, b"".join(parts))
    member = f"Checksum{algorithm}"
    # The client may state the whole object's checksum; S3 checks it against the parts.
    with pytest.raises(ClientError) as info:
        complete(
            s3, bucket, "full", created["UploadId"], listed,
            ChecksumType="FULL_OBJECT", **{member: checksum(algorithm, b"other")},
        )  # fmt: skip
    assert code_of(info) == "BadDigest"
    done = complete(
        s3, bucket, "full", created["UploadId"], listed, ChecksumType="FULL_OBJECT",
        **{member: whole},
    )  # fmt: skip
    assert (done[member], done["ChecksumType"]) == (whole, "FULL_OBJECT")
    # botocore validates a full-object checksum against the body it reads.
    got = s3.get_object(Bucket=bucket, Key="full", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"".join(parts)
    assert (got[member], got["ChecksumType"]) == (whole, "FULL_OBJECT")


def test_resume_upload_after_listing_parts(s3: Any, bucket: str) -> None:
    """What a resuming client does: find its upload, list what arrived, send the rest."""
    parts = [os.urandom(PART) for _ in range(3)] + [b"end"]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="resume.bin")["UploadId"]
    upload_parts(s3, bucket, "resume.bin", uid, parts[:2])
    # ... the client crashes and starts again ...
    uploads = s3.list_multipart_uploads(Bucket=bucket, Prefix="resume")["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("resume.bin", uid)]
    seen = []
    for page in s3.get_paginator("list_parts").paginate(
        Bucket=bucket, Key="resume.bin", UploadId=uid, PaginationConfig={"PageSize": 1}
    ):
        seen += page.get("Parts", [])
    assert [(p["PartNumber"], p["Size"]) for p in seen] == [(1, PART), (2, PART)]
    for number in (3, 4):
        s3.upload_part(
            Bucket=bucket, Key="resume.bin", UploadId=uid, PartNumber=number,
            Body=parts[number - 1],
        )  # fmt: skip
    listed = s3.list_parts(Bucket=bucket, Key="resume.bin", UploadId=uid)["Parts"]
    done = complete(
        s3, bucket, "resume.bin", uid,
        [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in listed],
    )  # fmt: skip
    assert done["ETag"] == multipart_etag(parts)
    body = s3.get_object(Bucket=bucket, Key="resume.bin")["Body"].read()
    assert body == b"".join(parts)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_reuploaded_part_replaces_the_old_one(s3: Any, bucket: str) -> None:
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"first")
    second = s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"second")
    listed = s3.list_parts(Bucket=bucket, Key="k", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in listed] == [(1, 6, second["ETag"])]
    complete(s3, bucket, "k", uid, [{"PartNumber": 1, "ETag": second["ETag"]}])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"second"


def test_complete_with_an_earlier_upload_of_a_part(s3: Any, bucket: str) -> None:
    """A part number uploaded twice: the Complete may name either (issue #19, item 6).

    AWS documents a re-upload as overwriting the earlier part; for a sequential re-upload
    we are more lenient on purpose, because concurrent ones (a retry racing its slow first
    attempt) cannot be told apart from it: both are kept until the Complete chooses."""
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    first = s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"first")
    second = s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"second")
    listed = s3.list_parts(Bucket=bucket, Key="k", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"]) for p in listed] == [(1, second["ETag"])]
    complete(s3, bucket, "k", uid, [{"PartNumber": 1, "ETag": first["ETag"]}])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"first"


def test_abort_then_list(s3: Any, bucket: str) -> None:
    keep = s3.create_multipart_upload(Bucket=bucket, Key="keep")["UploadId"]
    gone = s3.create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="gone", UploadId=gone, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=gone)
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("keep", keep)]
    calls: tuple[Callable[[], Any], ...] = (
        lambda: s3.list_parts(Bucket=bucket, Key="gone", UploadId=gone),
        lambda: s3.upload_part(Bucket=bucket, Key="gone", UploadId=gone, PartNumber=2, Body=b"y"),
        lambda: s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=gone),
        lambda: complete(s3, bucket, "gone", gone, [{"PartNumber": 1, "ETag": '"x"'}]),
        # An upload id is only valid with its own key.
        lambda: s3.list_parts(Bucket=bucket, Key="gone", UploadId=keep),
    )
    for call in calls:
        with pytest.raises(ClientError) as info:
            call()
        assert (code_of(info), status_of(info)) == ("NoSuchUpload", 404)


def test_list_multipart_uploads_prefix_delimiter_markers(s3: Any, bucket: str) -> None:
    ids: dict[str, list[str]] = {}
    for key in ("a/1", "a/2", "a/2", "b/x/1", "c", "c"):
        ids.setdefault(key, []).append(
            s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        )
    expected = [(k, u) for k in sorted(ids) for u in ids[k]]  # by key, then by initiation
    paged = []
    for page in s3.get_paginator("list_multipart_uploads").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 1}
    ):
        paged += [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
    assert paged == expected
    top = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "b/"]
    assert [u["Key"] for u in top["Uploads"]] == ["c", "c"]
    under_a = s3.list_multipart_uploads(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert [u["Key"] for u in under_a["Uploads"]] == ["a/1", "a/2", "a/2"]
    after = s3.list_multipart_uploads(
        Bucket=bucket, KeyMarker="a/2", UploadIdMarker=ids["a/2"][0], MaxUploads=2
    )
    assert [(u["Key"], u["UploadId"]) for u in after["Uploads"]] == [
        ("a/2", ids["a/2"][1]),
        ("b/x/1", ids["b/x/1"][0]),
    ]
    assert after["IsTruncated"] is True
    assert (after["NextKeyMarker"], after["NextUploadIdMarker"]) == ("b/x/1", ids["b/x/1"][0])


def test_upload_part_copy(s3: Any, bucket: str) -> None:
    source = os.urandom(2 * PART + 300)
    etag = s3.put_object(Bucket=bucket, Key="src", Body=source)["ETag"]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    ranges = [(0, PART - 1), (PART, len(source) - 1)]
    listed = []
    for number, (first, last) in enumerate(ranges, start=1):
        answer = s3.upload_part_copy(
            Bucket=bucket,
            Key="dst",
            UploadId=uid,
            PartNumber=number,
            CopySource={"Bucket": bucket, "Key": "src"},
            CopySourceRange=f"bytes={first}-{last}",
            CopySourceIfMatch=etag,
        )
        piece = source[first : last + 1]
        assert answer["CopyPartResult"]["ETag"] == f'"{hashlib.md5(piece).hexdigest()}"'
        listed.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
    # The copy-source conditions and range are checked like CopyObject's.
    for condition, expected in (
        ({"CopySourceIfNoneMatch": etag}, "PreconditionFailed"),
        ({"CopySourceIfMatch": '"0000"'}, "PreconditionFailed"),
        # Beyond the source: 400 InvalidRange (the status is checked below).
        ({"CopySourceRange": f"bytes=0-{len(source)}"}, "InvalidRange"),
        ({"CopySourceRange": "bytes=5-"}, "InvalidArgument"),
    ):
        with pytest.raises(ClientError) as info:
            s3.upload_part_copy(
                Bucket=bucket, Key="dst", UploadId=uid, PartNumber=3,
                CopySource={"Bucket": bucket, "Key": "src"}, **condition,
            )  # fmt: skip
        assert (code_of(info), status_of(info)) == (
            expected,
            412 if "If" in str(condition) else 400,
        )
    with pytest.raises(ClientError) as info:
        s3.upload_part_copy(
            Bucket=bucket, Key="dst", UploadId=uid, PartNumber=3,
            CopySource={"Bucket": bucket, "Key": "missing"},
        )  # fmt: skip
    assert code_of(info) == "NoSuchKey"
    complete(s3, bucket, "dst", uid, listed)
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == source
    # A whole multipart object can be a copy source too (its bytes span several blobs).
    uid2 = s3.create_multipart_upload(Bucket=bucket, Key="dst2")["UploadId"]
    answer = s3.upload_part_copy(
        Bucket=bucket, Key="dst2", UploadId=uid2, PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "dst"},
    )  # fmt: skip
    complete(
        s3, bucket, "dst2", uid2, [{"PartNumber": 1, "ETag": answer["CopyPartResult"]["ETag"]}]
    )
    assert s3.get_object(Bucket=bucket, Key="dst2")["Body"].read() == source


def test_retried_complete_gets_the_same_answer(s3: Any, bucket: str) -> None:
    """SDKs retry a Complete whose answer was lost; S3 answers it again, not NoSuchUpload."""
    parts = [os.urandom(PART), b"tail"]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    listed = upload_parts(s3, bucket, "k", uid, parts)
    first = complete(s3, bucket, "k", uid, listed)
    again = complete(s3, bucket, "k", uid, listed)
    assert again["ETag"] == first["ETag"] == multipart_etag(parts)
    # A different part list is not a retry.
    with pytest.raises(ClientError) as info:
        complete(s3, bucket, "k", uid, listed[:1])
    assert code_of(info) == "NoSuchUpload"
    # Once the object was replaced, the upload's result is gone.
    s3.put_object(Bucket=bucket, Key="k", Body=b"new")
    with pytest.raises(ClientError) as info:
        complete(s3, bucket, "k", uid, listed)
    assert code_of(info) == "NoSuchUpload"


def test_complete_with_if_none_match(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="exists", Body=b"old")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="exists")["UploadId"]
    listed = upload_parts(s3, bucket, "exists", uid, [b"new"])
    with pytest.raises(ClientError) as info:
        complete(s3, bucket, "exists", uid, listed, IfNoneMatch="*")
    assert (code_of(info), status_of(info)) == ("PreconditionFailed", 412)
    # The upload survives a failed condition.
    complete(s3, bucket, "exists", uid, listed)
    assert s3.get_object(Bucket=bucket, Key="exists")["Body"].read() == b"new"


# -- S3's rules: bad input ----------------------------------------------------------------------


@pytest.mark.parametrize("number", [0, 10001, -1])
def test_upload_part_number_out_of_range(s3: Any, bucket: str, number: int) -> None:
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    with pytest.raises(ClientError) as info:
        s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=number, Body=b"x")
    assert (code_of(info), status_of(info)) == ("InvalidArgument", 400)


def test_complete_rule_violations(s3: Any, bucket: str) -> None:
    small = [b"a" * 100, b"b" * 100]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    listed = upload_parts(s3, bucket, "k", uid, small)
    cases = [
        (listed, "EntityTooSmall"),  # a part below 5 MiB that is not the last
        ([listed[1], listed[0]], "InvalidPartOrder"),
        ([listed[0], listed[0]], "InvalidPartOrder"),
        ([{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}], "InvalidPart"),
        ([{"PartNumber": 3, "ETag": listed[0]["ETag"]}], "InvalidPart"),
        ([], "MalformedXML"),  # no part at all
    ]
    for parts, expected in cases:
        with pytest.raises(ClientError) as info:
            complete(s3, bucket, "k", uid, parts)
        assert (code_of(info), status_of(info)) == (expected, 400), parts
    # None of that harmed the upload: the last part alone may be small.
    complete(s3, bucket, "k", uid, listed[:1])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == small[0]


def test_composite_upload_needs_part_checksums_in_complete(s3: Any, bucket: str) -> None:
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="SHA1")["UploadId"]
    listed = upload_parts(s3, bucket, "k", uid, [b"data"], ChecksumAlgorithm="SHA1")
    with pytest.raises(ClientError) as info:
        complete(s3, bucket, "k", uid, [{"PartNumber": 1, "ETag": listed[0]["ETag"]}])
    assert code_of(info) == "InvalidRequest"
    wrong = dict(listed[0], ChecksumSHA1=checksum("SHA1", b"other"))
    with pytest.raises(ClientError) as info:
        complete(s3, bucket, "k", uid, [wrong])
    assert code_of(info) == "InvalidPart"
    # A part may not change the upload's algorithm.
    with pytest.raises(ClientError) as info:
        s3.upload_part(
            Bucket=bucket, Key="k", UploadId=uid, PartNumber=2, Body=b"x",
            ChecksumAlgorithm="CRC32",
        )  # fmt: skip
    assert code_of(info) == "InvalidRequest"
    complete(s3, bucket, "k", uid, listed)


def test_upload_part_bad_checksum(s3: Any, bucket: str) -> None:
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    with pytest.raises(ClientError) as info:
        s3.upload_part(
            Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"data",
            ChecksumCRC32=checksum("CRC32", b"other"),
        )  # fmt: skip
    assert code_of(info) == "BadDigest"
    assert s3.list_parts(Bucket=bucket, Key="k", UploadId=uid).get("Parts", []) == []


def test_unknown_upload_is_no_such_upload(s3: Any, bucket: str) -> None:
    bogus = "0" * 48
    calls: tuple[Callable[[], Any], ...] = (
        lambda: s3.upload_part(Bucket=bucket, Key="k", UploadId=bogus, PartNumber=1, Body=b"x"),
        lambda: s3.list_parts(Bucket=bucket, Key="k", UploadId=bogus),
        lambda: s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=bogus),
        lambda: complete(s3, bucket, "k", bogus, [{"PartNumber": 1, "ETag": '"x"'}]),
    )
    for call in calls:
        with pytest.raises(ClientError) as info:
            call()
        assert code_of(info) == "NoSuchUpload"


def test_create_multipart_upload_bad_checksum_settings(s3: Any, bucket: str) -> None:
    for kw in (
        {"ChecksumAlgorithm": "SHA256", "ChecksumType": "FULL_OBJECT"},
        {"ChecksumAlgorithm": "CRC64NVME", "ChecksumType": "COMPOSITE"},
        {"ChecksumType": "COMPOSITE"},
    ):
        with pytest.raises(ClientError) as info:
            s3.create_multipart_upload(Bucket=bucket, Key="k", **kw)
        assert code_of(info) == "InvalidRequest", kw


def test_complete_malformed_xml(gateway: AppServer, s3: Any, bucket: str) -> None:
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    url = s3.generate_presigned_url(
        "complete_multipart_upload", Params={"Bucket": bucket, "Key": "k", "UploadId": uid}
    )
    for body in (
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>",
        b"<CompleteMultipartUpload></CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part>"
        b"</CompleteMultipartUpload>",
        b"",
    ):
        status, answer = raw_request(gateway, "POST", url, body)
        assert (status, error_code(answer)) == (400, "MalformedXML"), body


def test_upload_part_too_large(gateway: AppServer, s3: Any, bucket: str) -> None:
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    url = s3.generate_presigned_url(
        "upload_part",
        Params={"Bucket": bucket, "Key": "k", "UploadId": uid, "PartNumber": 1},
    )
    # Refused on the declared length, before a byte of the body is read.
    status, answer = raw_request(
        gateway, "PUT", url, headers={"Content-Length": str(5 * 1024**3 + 1)}
    )
    assert (status, error_code(answer)) == (400, "EntityTooLarge")


# -- concurrency, and what the collector finds afterwards ---------------------------------------


@pytest.fixture
def gc_gateway(app_factory: AppFactory) -> Iterator[AppServer]:
    """A fresh server on the local backend whose collector deletes garbage at once, every
    0.2 s."""
    gw = app_factory(backend="local", gc_grace=0.0, gc_interval=0.2)
    yield gw
    gw.stop()


def blob_files(gw: AppServer) -> set[str]:
    """Blobs on the local backend's disk, temp files included."""
    root = gw.data_dir / "blobs"
    return {p.name for p in root.rglob("*") if p.is_file() and not p.name.startswith(".health")}


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_concurrent_uploads_last_complete_wins(gc_gateway: AppServer) -> None:
    s3 = boto3_client(gc_gateway)
    bucket = unique_bucket_name("race")
    s3.create_bucket(Bucket=bucket)
    first = [os.urandom(PART), b"first"]
    second = [os.urandom(PART), b"second"]
    u1 = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    u2 = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    l1: list[dict[str, Any]] = []
    l2: list[dict[str, Any]] = []
    for number in (1, 2):  # interleaved: both uploads are in progress at once
        for uid, data, listed in ((u1, first, l1), (u2, second, l2)):
            answer = s3.upload_part(
                Bucket=bucket, Key="k", UploadId=uid, PartNumber=number, Body=data[number - 1]
            )
            listed.append({"PartNumber": number, "ETag": answer["ETag"]})
    assert len(blob_files(gc_gateway)) == 4
    complete(s3, bucket, "k", u1, l1)
    complete(s3, bucket, "k", u2, l2)  # the last Complete wins
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"".join(second)
    # The loser's parts were the replaced version's blobs: the collector removes them.
    wait_for(lambda: len(blob_files(gc_gateway)) == 2)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"".join(second)


def test_unlisted_and_aborted_parts_are_collected(gc_gateway: AppServer) -> None:
    s3 = boto3_client(gc_gateway)
    bucket = unique_bucket_name("unlisted")
    s3.create_bucket(Bucket=bucket)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    listed = upload_parts(s3, bucket, "k", uid, [os.urandom(PART), b"2", b"3"])
    complete(s3, bucket, "k", uid, listed[:2])
    aborted = s3.create_multipart_upload(Bucket=bucket, Key="a")["UploadId"]
    upload_parts(s3, bucket, "a", aborted, [b"x", b"y"])
    s3.abort_multipart_upload(Bucket=bucket, Key="a", UploadId=aborted)
    wait_for(lambda: len(blob_files(gc_gateway)) == 2)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read()[-1:] == b"2"


def test_abort_during_upload_part_leaves_no_blob(gc_gateway: AppServer) -> None:
    s3 = boto3_client(gc_gateway)
    bucket = unique_bucket_name("abort-race")
    s3.create_bucket(Bucket=bucket)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    url = s3.generate_presigned_url(
        "upload_part", Params={"Bucket": bucket, "Key": "k", "UploadId": uid, "PartNumber": 1}
    )
    size = 8 * MiB
    conn = http.client.HTTPConnection(gc_gateway.host, gc_gateway.port, timeout=60)
    parts = urlsplit(url)
    conn.putrequest("PUT", f"{parts.path}?{parts.query}")
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    conn.send(os.urandom(2 * MiB))  # the part is streaming into its blob ...
    wait_for(lambda: any(blob_files(gc_gateway)))  # ... its temp file exists
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=uid)  # ... when the abort lands
    conn.send(os.urandom(size - 2 * MiB))
    response = conn.getresponse()
    body = response.read()
    conn.close()
    assert (response.status, error_code(body)) == (404, "NoSuchUpload")
    # The part's blob was deleted by its own request; nothing waits for the collector.
    assert blob_files(gc_gateway) == set()
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_parallel_part_uploads_and_racing_completes(gc_gateway: AppServer) -> None:
    s3 = boto3_client(gc_gateway, max_pool_connections=16)
    bucket = unique_bucket_name("parallel")
    s3.create_bucket(Bucket=bucket)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    parts = [os.urandom(PART) for _ in range(6)]
    answers: dict[int, str] = {}

    def send(number: int) -> None:
        answers[number] = s3.upload_part(
            Bucket=bucket, Key="k", UploadId=uid, PartNumber=number, Body=parts[number - 1]
        )["ETag"]

    threads = [threading.Thread(target=send, args=(n,)) for n in range(1, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    listed = [{"PartNumber": n, "ETag": answers[n]} for n in range(1, 7)]
    results: list[Any] = []

    def finish() -> None:
        try:
            results.append(complete(s3, bucket, "k", uid, listed)["ETag"])
        except ClientError as exc:
            results.append(exc.response["Error"]["Code"])

    racers = [threading.Thread(target=finish) for _ in range(3)]
    for t in racers:
        t.start()
    for t in racers:
        t.join()
    # Every racing Complete of the same upload with the same parts gets the same answer.
    assert results == [multipart_etag(parts)] * 3
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"".join(parts)


def test_delete_bucket_with_upload_in_progress(gc_gateway: AppServer) -> None:
    s3 = boto3_client(gc_gateway)
    bucket = unique_bucket_name("del-bucket")
    s3.create_bucket(Bucket=bucket)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    upload_parts(s3, bucket, "k", uid, [b"x"])
    s3.delete_bucket(Bucket=bucket)  # S3 does not count uploads in progress as content
    wait_for(lambda: blob_files(gc_gateway) == set())
