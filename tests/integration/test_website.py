"""The website endpoint of a live gateway (`--website-listen`, `--website-domain`), with
curl: index document, error document, folder redirect, routing rule, redirect object, and
a bucket addressed by Host. The configuration is put with boto3; the rules are tested in
tests/unit/s3/test_website.py and tests/app/test_website.py."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.integration.conftest import GatewayFactory
from tests.support.clients import boto3_client
from tests.support.gateway import GatewayProcess
from tests.support.ports import free_port

BUCKET = "www-site"
DOMAIN = "web.test"


@pytest.fixture(scope="module")
def website(gateway_factory: GatewayFactory) -> tuple[GatewayProcess, str]:
    """A gateway with a website listener, and that listener's base URL; one public site."""
    port = free_port()
    gw = gateway_factory(
        extra_args=["--website-listen", f"127.0.0.1:{port}", "--website-domain", DOMAIN]
    )
    s3: Any = boto3_client(gw)
    s3.create_bucket(Bucket=BUCKET)
    for key, body in {
        "index.html": b"<h1>home</h1>",
        "guide/index.html": b"<h1>guide</h1>",
        "404.html": b"<h1>lost</h1>",
    }.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType="text/html")
    s3.put_object(Bucket=BUCKET, Key="old.html", Body=b"", WebsiteRedirectLocation="/guide/")
    s3.put_bucket_policy(
        Bucket=BUCKET,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": ["s3:GetObject"],
                        "Resource": f"arn:aws:s3:::{BUCKET}/*",
                    },
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": ["s3:ListBucket"],
                        "Resource": f"arn:aws:s3:::{BUCKET}",
                    },
                ],
            }
        ),
    )
    s3.put_bucket_website(
        Bucket=BUCKET,
        WebsiteConfiguration={
            "IndexDocument": {"Suffix": "index.html"},
            "ErrorDocument": {"Key": "404.html"},
            "RoutingRules": [
                {
                    "Condition": {"KeyPrefixEquals": "manual/"},
                    "Redirect": {"ReplaceKeyPrefixWith": "guide/"},
                }
            ],
        },
    )
    return gw, f"http://127.0.0.1:{port}"


def curl(url: str, *args: str) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-case headers, body) of one anonymous request."""
    out = subprocess.run(
        ["curl", "-s", "-i", "--max-time", "10", *args, url], capture_output=True, check=True
    )
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    while body.startswith(b"HTTP/"):  # -L: the answer after the redirects
        head, _, body = body.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def test_website_with_curl(website: tuple[GatewayProcess, str]) -> None:
    gw, base = website
    site = f"{base}/{BUCKET}"
    assert curl(f"{site}/")[::2] == (200, b"<h1>home</h1>")
    status, headers, _ = curl(f"{site}/guide")
    assert (status, headers["location"]) == (302, f"/{BUCKET}/guide/")
    # curl -L follows the folder redirect to the folder's index document.
    assert curl(f"{site}/guide", "-L")[::2] == (200, b"<h1>guide</h1>")
    status, headers, body = curl(f"{site}/missing.html")
    assert (status, body) == (404, b"<h1>lost</h1>")
    status, headers, _ = curl(f"{site}/manual/intro.html")
    assert (status, headers["location"]) == (301, f"{base}/{BUCKET}/guide/intro.html")
    status, headers, _ = curl(f"{site}/old.html")
    assert (status, headers["location"]) == (301, f"/{BUCKET}/guide/")
    refused = curl(f"{site}/index.html", "-X", "DELETE")
    assert refused[0] == 405 and refused[1]["content-type"].startswith("text/html")
    # By Host, on the website listener and on the S3 port alike.
    host = f"Host: {BUCKET}.{DOMAIN}"
    assert curl(f"{base}/guide/", "-H", host)[::2] == (200, b"<h1>guide</h1>")
    assert curl(f"{gw.endpoint}/", "-H", host)[::2] == (200, b"<h1>home</h1>")
    # The S3 port still speaks S3 to every other Host.
    assert curl(f"{gw.endpoint}/{BUCKET}/index.html")[::2] == (200, b"<h1>home</h1>")
