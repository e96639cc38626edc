"""Virtual-host-style addressing (`bucket.DOMAIN`) with SigV4 and SigV2 signatures.

No DNS is needed: requests are signed for http://BUCKET.s3.test:PORT/KEY and sent to the
loopback address with that Host header.
"""

from __future__ import annotations

import hashlib
import http.client
from collections.abc import Iterator

import pytest
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.app.conftest import AppFactory
from tests.app.server import AppServer
from tests.support.clients import boto3_client

DOMAIN = "s3.test"


@pytest.fixture(scope="module")
def vhost_gateway(app_factory: AppFactory) -> Iterator[AppServer]:
    gw = app_factory(domain=DOMAIN)
    yield gw


def request(
    gw: AppServer, method: str, bucket: str, path: str, body: bytes, signer: str
) -> tuple[int, bytes]:
    host = f"{bucket}.{DOMAIN}:{gw.port}"
    req = AWSRequest(method=method, url=f"http://{host}{path}", data=body)
    creds = Credentials(gw.access_key, gw.secret_key)
    if signer == "v4":
        req.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
        S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
    else:
        # SigV2 signs /bucket/key whatever the addressing; botocore takes it from auth_path.
        req.auth_path = f"/{bucket}{path.split('?')[0]}"
        HmacV1Auth(creds).add_auth(req)
    prepared = req.prepare()
    conn = http.client.HTTPConnection("127.0.0.1", gw.port)
    try:
        headers = {"Host": host, **dict(prepared.headers.items())}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("signer", ["v4", "v2"])
def test_virtual_host_put_get_list(vhost_gateway: AppServer, signer: str) -> None:
    s3 = boto3_client(vhost_gateway)
    bucket = f"vh-{signer}"
    s3.create_bucket(Bucket=bucket)
    status, _ = request(vhost_gateway, "PUT", bucket, "/dir/a%20b.txt", b"hello", signer)
    assert status == 200
    status, body = request(vhost_gateway, "GET", bucket, "/dir/a%20b.txt", b"", signer)
    assert (status, body) == (200, b"hello")
    status, body = request(vhost_gateway, "GET", bucket, "/?prefix=dir%2F", b"", signer)
    assert status == 200 and b"<Key>dir/a b.txt</Key>" in body, body
    # path style keeps working beside it
    assert s3.get_object(Bucket=bucket, Key="dir/a b.txt")["Body"].read() == b"hello"
    s3.delete_object(Bucket=bucket, Key="dir/a b.txt")
    s3.delete_bucket(Bucket=bucket)
