"""Bucket CORS on the real application: Put/Get/DeleteBucketCors, preflights, and the
Access-Control-* headers on signed, presigned, anonymous and error responses."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from lxml import etree

from tests.app.server import AppServer
from tests.app.test_access import set_policy

APP = "https://app.example.com"
RULES = {
    "CORSRules": [
        {
            "ID": "app",
            "AllowedOrigins": [APP],
            "AllowedMethods": ["GET", "PUT", "POST"],
            "AllowedHeaders": ["content-type", "x-amz-*"],
            "ExposeHeaders": ["ETag", "x-amz-request-id"],
            "MaxAgeSeconds": 600,
        },
        {"AllowedOrigins": ["*"], "AllowedMethods": ["HEAD"]},
    ]
}


def code_of(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def preflight(
    gateway: AppServer,
    path: str,
    origin: str | None,
    method: str | None,
    headers: str | None = None,
) -> requests.Response:
    sent = {}
    if origin is not None:
        sent["Origin"] = origin
    if method is not None:
        sent["Access-Control-Request-Method"] = method
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    return requests.options(gateway.endpoint + path, headers=sent, timeout=10)


def test_put_get_delete_bucket_cors(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as info:
        s3.get_bucket_cors(Bucket=bucket)
    assert code_of(info) == "NoSuchCORSConfiguration"
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    got = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert got == RULES["CORSRules"]
    s3.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(ClientError) as info:
        s3.get_bucket_cors(Bucket=bucket)
    assert code_of(info) == "NoSuchCORSConfiguration"


@pytest.mark.parametrize(
    ("rules", "code"),
    [
        ([{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}], "InvalidRequest"),
        (
            [{"AllowedOrigins": ["https://*.*.example"], "AllowedMethods": ["GET"]}],
            "InvalidRequest",
        ),
        ([{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}] * 101, "MalformedXML"),
    ],
)
def test_put_bucket_cors_refuses(s3: Any, bucket: str, rules: list[Any], code: str) -> None:
    with pytest.raises(ClientError) as info:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    assert code_of(info) == code


def test_preflight_allowed(gateway: AppServer, s3: Any, bucket: str) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    reply = preflight(gateway, f"/{bucket}/k", APP, "PUT", "Content-Type, X-Amz-Date")
    assert reply.status_code == 200
    assert reply.headers["Access-Control-Allow-Origin"] == APP
    assert reply.headers["Access-Control-Allow-Methods"] == "GET, PUT, POST"
    assert reply.headers["Access-Control-Allow-Headers"] == "content-type, x-amz-date"
    assert reply.headers["Access-Control-Expose-Headers"] == "ETag, x-amz-request-id"
    assert reply.headers["Access-Control-Max-Age"] == "600"
    assert reply.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in reply.headers["Vary"]
    star = preflight(gateway, f"/{bucket}", "https://anyone.example", "HEAD")
    assert star.status_code == 200 and star.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        ("https://evil.example", "GET", None),
        (APP, "DELETE", None),
        (APP, "PUT", "authorization"),
    ],
)
def test_preflight_refused(
    gateway: AppServer, s3: Any, bucket: str, origin: str, method: str, headers: str | None
) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    reply = preflight(gateway, f"/{bucket}/k", origin, method, headers)
    assert reply.status_code == 403
    root = etree.fromstring(reply.content)
    assert root.findtext("Code") == "AccessForbidden"
    assert (root.findtext("Message") or "").startswith("CORSResponse:")
    assert root.findtext("Method") == method and root.findtext("ResourceType") == "OBJECT"
    assert "Access-Control-Allow-Origin" not in reply.headers


def test_preflight_without_rules_or_bucket(gateway: AppServer, bucket: str) -> None:
    reply = preflight(gateway, f"/{bucket}/k", APP, "GET")
    assert reply.status_code == 403
    assert "CORS is not enabled for this bucket" in reply.text
    assert preflight(gateway, "/no-such-bucket-here/k", APP, "GET").status_code == 403


def test_preflight_needs_origin_and_method(gateway: AppServer, s3: Any, bucket: str) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    assert preflight(gateway, f"/{bucket}/k", None, "GET").status_code == 400
    assert preflight(gateway, f"/{bucket}/k", APP, None).status_code == 400


def test_headers_on_signed_presigned_and_anonymous(
    gateway: AppServer, s3: Any, bucket: str
) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    s3.put_object(Bucket=bucket, Key="pub/k", Body=b"hello")
    # presigned GET and PUT, as a page's fetch() sends them
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pub/k"})
    reply = requests.get(url, headers={"Origin": APP}, timeout=10)
    assert reply.status_code == 200 and reply.content == b"hello"
    assert reply.headers["Access-Control-Allow-Origin"] == APP
    assert reply.headers["Access-Control-Expose-Headers"] == "ETag, x-amz-request-id"
    assert "Origin" in reply.headers["Vary"]
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "pub/p"})
    reply = requests.put(put_url, data=b"from page", headers={"Origin": APP}, timeout=10)
    assert reply.status_code == 200
    assert reply.headers["Access-Control-Allow-Origin"] == APP

    # signed (boto3 lets a header through with its event hooks)
    def add_origin(request: Any, **_: Any) -> None:
        request.headers["Origin"] = APP

    s3.meta.events.register("before-sign.s3.GetObject", add_origin)
    try:
        signed = s3.get_object(Bucket=bucket, Key="pub/k")
    finally:
        s3.meta.events.unregister("before-sign.s3.GetObject", add_origin)
    assert signed["ResponseMetadata"]["HTTPHeaders"]["access-control-allow-origin"] == APP
    # anonymous, on a public object
    set_policy(gateway, bucket, {
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/pub/*",
    })  # fmt: skip
    reply = requests.get(f"{gateway.endpoint}/{bucket}/pub/k", headers={"Origin": APP}, timeout=10)
    assert reply.status_code == 200 and reply.headers["Access-Control-Allow-Origin"] == APP
    # HEAD from any origin: the "*" rule
    reply = requests.head(
        f"{gateway.endpoint}/{bucket}/pub/k", headers={"Origin": "https://x.example"}, timeout=10
    )
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in reply.headers


def test_headers_on_error_responses(gateway: AppServer, s3: Any, bucket: str) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    reply = requests.get(
        f"{gateway.endpoint}/{bucket}/missing", headers={"Origin": APP}, timeout=10
    )
    assert reply.status_code == 403
    assert reply.headers["Access-Control-Allow-Origin"] == APP


def test_no_headers_when_no_rule_allows(gateway: AppServer, s3: Any, bucket: str) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    other = requests.get(url, headers={"Origin": "https://evil.example"}, timeout=10)
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers
    url = s3.generate_presigned_url("delete_object", Params={"Bucket": bucket, "Key": "k"})
    deleted = requests.delete(url, headers={"Origin": APP}, timeout=10)
    assert deleted.status_code == 204 and "Access-Control-Allow-Origin" not in deleted.headers
    s3.delete_bucket_cors(Bucket=bucket)
    url = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": bucket})
    listed = requests.get(url, headers={"Origin": APP}, timeout=10)
    assert listed.status_code == 200 and "Access-Control-Allow-Origin" not in listed.headers
