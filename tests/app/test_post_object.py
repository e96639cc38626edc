"""POST Object on the real application: boto3's presigned POST (V4), hand-built V2 forms,
anonymous forms, the answers (success_action_*), and every refusal.

Forms are sent with `requests` (multipart bodies as browsers send them); the bucket's
access documents for anonymous uploads are written into the store as test_access.py does.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from lxml import etree

from auth import sigv2
from tests.app.server import AppServer
from tests.app.test_access import set_config, set_policy
from tests.support.clients import boto3_client

B = "----formboundaryKV"


def body_of(
    fields: list[tuple[str, str]], content: bytes, *, filename: str = "photo.jpg"
) -> tuple[bytes, dict[str, str]]:
    out = bytearray()
    for name, value in fields:
        out += f'--{B}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    out += (
        f'--{B}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    out += content + f"\r\n--{B}--\r\n".encode()
    return bytes(out), {"Content-Type": f"multipart/form-data; boundary={B}"}


def post(
    url: str, fields: dict[str, str] | list[tuple[str, str]], content: bytes, **kw: Any
) -> requests.Response:
    pairs = list(fields.items()) if isinstance(fields, dict) else fields
    data, headers = body_of(pairs, content, **kw)
    return requests.post(url, data=data, headers=headers, timeout=30, allow_redirects=False)


def error_of(reply: requests.Response) -> tuple[str, str]:
    root = etree.fromstring(reply.content)
    return root.findtext("Code") or "", root.findtext("Message") or ""


@pytest.fixture
def v4(gateway: AppServer) -> Any:
    return boto3_client(gateway, signature_version="s3v4")


def presigned(v4: Any, bucket: str, key: str = "uploads/${filename}", **kw: Any) -> dict[str, Any]:
    result: dict[str, Any] = v4.generate_presigned_post(bucket, key, ExpiresIn=300, **kw)
    return result


def test_presigned_post_v4_uploads_with_metadata(v4: Any, s3: Any, bucket: str) -> None:
    form = presigned(
        v4,
        bucket,
        Fields={
            "Content-Type": "image/jpeg",
            "x-amz-meta-album": "Summer",
            "Cache-Control": "max-age=60",
        },
        Conditions=[
            {"Content-Type": "image/jpeg"},
            {"x-amz-meta-album": "Summer"},
            {"Cache-Control": "max-age=60"},
            ["content-length-range", 1, 1024],
        ],
    )
    assert form["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    reply = post(form["url"], form["fields"], b"jpeg bytes", filename="C:\\Users\\me\\beach.jpg")
    assert reply.status_code == 204, reply.text
    etag = reply.headers["ETag"]
    got = s3.get_object(Bucket=bucket, Key="uploads/beach.jpg")
    assert got["Body"].read() == b"jpeg bytes"
    assert got["ETag"] == etag
    assert got["ContentType"] == "image/jpeg"
    assert got["Metadata"] == {"album": "Summer"}
    assert got["CacheControl"] == "max-age=60"
    assert reply.headers["Location"].endswith(f"/{bucket}/uploads/beach.jpg")


def test_presigned_post_with_requests_files(v4: Any, s3: Any, bucket: str) -> None:
    form = presigned(v4, bucket, key="plain.txt")
    reply = requests.post(
        form["url"], data=form["fields"], files={"file": ("f.txt", b"abc")}, timeout=30
    )
    assert reply.status_code == 204, reply.text
    assert s3.get_object(Bucket=bucket, Key="plain.txt")["Body"].read() == b"abc"


def test_large_upload_streams(v4: Any, s3: Any, bucket: str) -> None:
    form = presigned(v4, bucket, key="big.bin")
    content = bytes(range(256)) * 40_000  # ~10 MB
    reply = post(form["url"], form["fields"], content)
    assert reply.status_code == 204, reply.text
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == len(content)
    import hashlib

    assert head["ETag"] == f'"{hashlib.md5(content).hexdigest()}"'


def test_success_action_status_201_returns_post_response(v4: Any, bucket: str) -> None:
    form = presigned(
        v4, bucket, key="a.txt", Fields={"success_action_status": "201"},
        Conditions=[{"success_action_status": "201"}],
    )  # fmt: skip
    reply = post(form["url"], form["fields"], b"x")
    assert reply.status_code == 201
    root = etree.fromstring(reply.content)
    assert root.tag == "PostResponse"
    assert root.findtext("Bucket") == bucket and root.findtext("Key") == "a.txt"
    assert root.findtext("ETag") == reply.headers["ETag"]
    assert root.findtext("Location", "").endswith(f"/{bucket}/a.txt")


@pytest.mark.parametrize(("status", "want"), [("200", 200), ("204", 204), ("999", 204)])
def test_success_action_status(v4: Any, bucket: str, status: str, want: int) -> None:
    form = presigned(
        v4, bucket, key="a.txt", Fields={"success_action_status": status},
        Conditions=[{"success_action_status": status}],
    )  # fmt: skip
    reply = post(form["url"], form["fields"], b"x")
    assert reply.status_code == want and reply.content == b""


@pytest.mark.parametrize("field", ["success_action_redirect", "redirect"])
def test_success_action_redirect(v4: Any, bucket: str, field: str) -> None:
    target = "https://app.example.com/done?from=form"
    form = presigned(
        v4, bucket, key="r/${filename}", Fields={field: target}, Conditions=[{field: target}]
    )
    reply = post(form["url"], form["fields"], b"x", filename="a b.txt")
    assert reply.status_code == 303
    location = urlsplit(reply.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://app.example.com/done"
    query = parse_qs(location.query)
    assert query == {
        "from": ["form"],
        "bucket": [bucket],
        "key": ["r/a b.txt"],
        "etag": [reply.headers["ETag"]],
    }


def test_tagging_and_acl_fields(v4: Any, s3: Any, bucket: str) -> None:
    tagging = "<Tagging><TagSet><Tag><Key>team</Key><Value>web</Value></Tag></TagSet></Tagging>"
    form = presigned(
        v4, bucket, key="t.txt", Fields={"tagging": tagging, "acl": "public-read"},
        Conditions=[{"tagging": tagging}, {"acl": "public-read"}],
    )  # fmt: skip
    reply = post(form["url"], form["fields"], b"x")
    assert reply.status_code == 204, reply.text
    tags = s3.get_object_tagging(Bucket=bucket, Key="t.txt")["TagSet"]
    assert tags == [{"Key": "team", "Value": "web"}]


def test_versioned_bucket_gets_a_version_id(v4: Any, s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    form = presigned(v4, bucket, key="v.txt")
    first = post(form["url"], form["fields"], b"1")
    second = post(form["url"], form["fields"], b"2")
    ids = {first.headers["x-amz-version-id"], second.headers["x-amz-version-id"]}
    assert len(ids) == 2
    versions = s3.list_object_versions(Bucket=bucket, Prefix="v.txt")["Versions"]
    assert {v["VersionId"] for v in versions} == ids


# -- V2, as in the AWS docs' example (HTTPPOSTForms.html) ------------------------------------


def v2_form(
    gateway: AppServer,
    bucket: str,
    conditions: list[Any],
    extra: list[tuple[str, str]],
    expires: float = 3600,
) -> list[tuple[str, str]]:
    expiration = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + expires))
    policy = base64.b64encode(
        json.dumps({"expiration": expiration, "conditions": conditions}).encode()
    ).decode()
    return [
        *extra,
        ("AWSAccessKeyId", gateway.access_key),
        ("Policy", policy),
        ("Signature", sigv2.sign(gateway.secret_key, policy)),
    ]


def test_v2_form_as_aws_example(gateway: AppServer, s3: Any, bucket: str) -> None:
    conditions = [
        {"bucket": bucket},
        ["starts-with", "$key", "user/eric/"],
        {"acl": "public-read"},
        {"success_action_redirect": "http://johnsmith.s3.amazonaws.com/successful_upload.html"},
        ["starts-with", "$Content-Type", "image/"],
        {"x-amz-meta-uuid": "14365123651274"},
        ["starts-with", "$x-amz-meta-tag", ""],
    ]
    fields = v2_form(
        gateway,
        bucket,
        conditions,
        [
            ("key", "user/eric/MyPicture.jpg"),
            ("acl", "public-read"),
            ("success_action_redirect", "http://johnsmith.s3.amazonaws.com/successful_upload.html"),
            ("Content-Type", "image/jpeg"),
            ("x-amz-meta-uuid", "14365123651274"),
            ("x-amz-meta-tag", "Some,Tag,For,Picture"),
        ],
    )
    reply = post(f"{gateway.endpoint}/{bucket}", fields, b"picture")
    assert reply.status_code == 303, reply.text
    assert reply.headers["Location"].startswith(
        "http://johnsmith.s3.amazonaws.com/successful_upload.html?bucket="
    )
    got = s3.get_object(Bucket=bucket, Key="user/eric/MyPicture.jpg")
    assert got["Metadata"] == {"uuid": "14365123651274", "tag": "Some,Tag,For,Picture"}
    # The acl field was stored: anyone may read the object.
    public = requests.get(f"{gateway.endpoint}/{bucket}/user/eric/MyPicture.jpg", timeout=10)
    assert public.content == b"picture"


def test_unknown_canned_acl(v4: Any, s3: Any, bucket: str) -> None:
    form = presigned(
        v4,
        bucket,
        key="a.txt",
        Fields={"acl": "world-writable"},
        Conditions=[{"acl": "world-writable"}],
    )
    reply = post(form["url"], form["fields"], b"x")
    assert reply.status_code == 400 and error_of(reply)[0] == "InvalidArgument"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_v2_condition_failed(gateway: AppServer, s3: Any, bucket: str) -> None:
    fields = v2_form(
        gateway,
        bucket,
        [{"bucket": bucket}, ["starts-with", "$key", "user/eric/"]],
        [("key", "user/bob/x")],
    )
    reply = post(f"{gateway.endpoint}/{bucket}", fields, b"x")
    assert reply.status_code == 403
    assert error_of(reply) == (
        "AccessDenied",
        "Invalid according to Policy: Policy Condition failed: "
        '["starts-with", "$key", "user/eric/"]',
    )
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_v2_expired(gateway: AppServer, bucket: str) -> None:
    fields = v2_form(gateway, bucket, [["starts-with", "$key", ""]], [("key", "k")], expires=-10)
    reply = post(f"{gateway.endpoint}/{bucket}", fields, b"x")
    assert reply.status_code == 403
    assert error_of(reply) == ("AccessDenied", "Invalid according to Policy: Policy expired.")


def test_v2_extra_field(gateway: AppServer, bucket: str) -> None:
    fields = v2_form(
        gateway, bucket, [["starts-with", "$key", ""]], [("key", "k"), ("x-amz-meta-a", "1")]
    )
    reply = post(f"{gateway.endpoint}/{bucket}", fields, b"x")
    assert error_of(reply) == (
        "AccessDenied",
        "Invalid according to Policy: Extra input fields: x-amz-meta-a",
    )


def test_forged_policy(gateway: AppServer, bucket: str) -> None:
    fields = v2_form(gateway, bucket, [["starts-with", "$key", "safe/"]], [("key", "evil")])
    forged = base64.b64encode(
        json.dumps(
            {"expiration": "2099-01-01T00:00:00Z", "conditions": [["starts-with", "$key", ""]]}
        ).encode()
    ).decode()
    fields = [(n, forged if n == "Policy" else v) for n, v in fields]
    reply = post(f"{gateway.endpoint}/{bucket}", fields, b"x")
    assert reply.status_code == 403 and error_of(reply)[0] == "SignatureDoesNotMatch"


def test_unknown_access_key(gateway: AppServer, bucket: str) -> None:
    fields = [
        (n, "KVNOSUCHKEY" if n == "AWSAccessKeyId" else v)
        for n, v in v2_form(gateway, bucket, [], [("key", "k")])
    ]
    reply = post(f"{gateway.endpoint}/{bucket}", fields, b"x")
    assert reply.status_code == 403 and error_of(reply)[0] == "InvalidAccessKeyId"


def test_invalid_policy_document(gateway: AppServer, bucket: str) -> None:
    policy = base64.b64encode(b'{"conditions": []}').decode()
    fields = [
        ("key", "k"),
        ("AWSAccessKeyId", gateway.access_key),
        ("policy", policy),
        ("signature", sigv2.sign(gateway.secret_key, policy)),
    ]
    reply = post(f"{gateway.endpoint}/{bucket}", fields, b"x")
    assert reply.status_code == 400
    assert error_of(reply) == (
        "InvalidPolicyDocument",
        "Invalid Policy: Policy missing expiration.",
    )


# -- content-length-range and the body's shape --------------------------------------------


def test_content_length_range(v4: Any, s3: Any, bucket: str) -> None:
    form = presigned(v4, bucket, key="r.txt", Conditions=[["content-length-range", 5, 10]])
    too_big = post(form["url"], form["fields"], b"x" * 11)
    assert too_big.status_code == 400 and error_of(too_big)[0] == "EntityTooLarge"
    too_small = post(form["url"], form["fields"], b"x" * 4)
    assert too_small.status_code == 400 and error_of(too_small)[0] == "EntityTooSmall"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert post(form["url"], form["fields"], b"x" * 10).status_code == 204


def test_no_file_field(v4: Any, bucket: str) -> None:
    form = presigned(v4, bucket, key="k")
    data = (
        b"".join(
            f'--{B}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'.encode()
            for n, v in form["fields"].items()
        )
        + f"--{B}--\r\n".encode()
    )
    reply = requests.post(
        form["url"],
        data=data,
        headers={"Content-Type": f"multipart/form-data; boundary={B}"},
        timeout=30,
    )
    assert reply.status_code == 400
    assert error_of(reply) == (
        "IncorrectNumberOfFilesInPostRequest",
        "POST requires exactly one file upload per request.",
    )


def test_two_file_fields(v4: Any, s3: Any, bucket: str) -> None:
    form = presigned(v4, bucket, key="k")
    data, headers = body_of(list(form["fields"].items()), b"one")
    data = data.replace(
        f"--{B}--".encode(),
        f'--{B}\r\nContent-Disposition: form-data; name="file"; filename="b"\r\n\r\n'
        f"two\r\n--{B}--".encode(),
    )
    reply = requests.post(form["url"], data=data, headers=headers, timeout=30)
    assert error_of(reply)[0] == "IncorrectNumberOfFilesInPostRequest"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_boundary_never_closes(v4: Any, s3: Any, bucket: str) -> None:
    form = presigned(v4, bucket, key="k")
    data, headers = body_of(list(form["fields"].items()), b"content")
    data = data[: -len(f"\r\n--{B}--\r\n")]
    reply = requests.post(form["url"], data=data, headers=headers, timeout=30)
    assert reply.status_code == 400 and error_of(reply)[0] == "MalformedPOSTRequest"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_fields_over_20_kb(v4: Any, bucket: str) -> None:
    form = presigned(v4, bucket, key="k")
    reply = post(form["url"], [("x-ignore-pad", "p" * 30_000), *form["fields"].items()], b"x")
    assert reply.status_code == 400
    assert error_of(reply)[0] == "MaxPostPreDataLengthExceeded"


def test_missing_key_field(v4: Any, bucket: str) -> None:
    form = presigned(v4, bucket, key="k")
    fields = [(n, v) for n, v in form["fields"].items() if n != "key"]
    reply = post(form["url"], fields, b"x")
    assert reply.status_code == 400
    code, message = error_of(reply)
    assert code == "InvalidArgument" and "field named 'key'" in message


def test_not_a_form(gateway: AppServer, bucket: str) -> None:
    reply = requests.post(
        f"{gateway.endpoint}/{bucket}",
        data=b"k=v",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert reply.status_code == 412 and error_of(reply)[0] == "PreconditionFailed"


# -- anonymous forms ----------------------------------------------------------------------------


def test_anonymous_post_refused_on_private_bucket(gateway: AppServer, bucket: str) -> None:
    reply = post(f"{gateway.endpoint}/{bucket}", [("key", "anon.txt")], b"x")
    assert reply.status_code == 403 and error_of(reply)[0] == "AccessDenied"


def test_anonymous_post_to_public_write_bucket_policy(
    gateway: AppServer, s3: Any, bucket: str
) -> None:
    set_policy(gateway, bucket, {
        "Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/drop/*",
    })  # fmt: skip
    reply = post(
        f"{gateway.endpoint}/{bucket}", [("key", "drop/${filename}")], b"anon", filename="n.txt"
    )
    assert reply.status_code == 204, reply.text
    assert s3.get_object(Bucket=bucket, Key="drop/n.txt")["Body"].read() == b"anon"
    outside = post(f"{gateway.endpoint}/{bucket}", [("key", "elsewhere.txt")], b"anon")
    assert outside.status_code == 403


def test_anonymous_post_to_public_write_acl(gateway: AppServer, s3: Any, bucket: str) -> None:
    from auth.credentials import canonical_id
    from auth.policy.acl import acl_to_json, canned_acl

    owner = canonical_id(s3.list_buckets()["Owner"]["DisplayName"])
    set_config(gateway, bucket, "acl", acl_to_json(canned_acl("public-read-write", owner)))
    reply = post(f"{gateway.endpoint}/{bucket}", [("key", "acl.txt")], b"anon")
    assert reply.status_code == 204, reply.text
    assert s3.get_object(Bucket=bucket, Key="acl.txt")["Body"].read() == b"anon"


def test_policy_can_require_post_auth_type(gateway: AppServer, v4: Any, bucket: str) -> None:
    """The upload is authorized as a POST: s3:authType is "POST" for a policy condition."""
    set_policy(gateway, bucket, {
        "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"StringEquals": {"s3:authType": "POST"}},
    })  # fmt: skip
    form = presigned(v4, bucket, key="k")
    reply = post(form["url"], form["fields"], b"x")
    assert reply.status_code == 403 and error_of(reply)[0] == "AccessDenied"
