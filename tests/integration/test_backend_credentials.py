"""Backend credentials never reach the gateway's output or a client.

A gateway starts with a distinctive backend secret on its command line (the s3 secret
key; the account key inside an Azure connection string) that the server refuses, so
every request that touches the backend fails and goes through the error paths: the
backend's error translation, the error middleware's log line, the readiness probe's
warning, the startup banner. Then the secret must appear nowhere in the gateway's
stdout or stderr, with --log-level DEBUG, nor in any answer a client got.
"""

from __future__ import annotations

import base64
import http.client
import secrets
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import GatewayFactory
from tests.support.clients import boto3_client, unique_bucket_name
from tests.support.gateway import GatewayProcess
from tests.support.remote_backends import S3_BUCKET


def s3_args(request: pytest.FixtureRequest, secret: str) -> list[str]:
    from tests.support.seaweedfs import session_seaweedfs

    weed = session_seaweedfs(request.config)
    return [
        "--backend",
        "s3",
        "--s3-endpoint",
        weed.endpoint,
        "--s3-bucket",
        S3_BUCKET,
        "--s3-prefix",
        f"gw-{secrets.token_hex(4)}/",
        "--s3-access-key",
        weed.access_key,
        "--s3-secret-key",
        secret,
    ]


def azure_args(request: pytest.FixtureRequest, secret: str) -> list[str]:
    from tests.support.azurite import session_azurite

    azurite = session_azurite(request.config)
    key = base64.b64encode(secret.encode()).decode()
    connection_string = azurite.connection_string.replace(azurite.account_key, key)
    assert key in connection_string
    return ["--backend", "azure", "--azure-connection-string", connection_string]


def ready(gw: GatewayProcess) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(gw.host, gw.port, timeout=60)
    try:
        conn.request("GET", "/minio/health/ready")
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("kind", ["s3", "azure"])
def test_backend_secret_never_in_output(
    kind: str, request: pytest.FixtureRequest, gateway_factory: GatewayFactory
) -> None:
    secret = f"KvDistinctive{secrets.token_hex(12)}"
    needles = {secret, base64.b64encode(secret.encode()).decode()}
    args = s3_args(request, secret) if kind == "s3" else azure_args(request, secret)
    # --inline-threshold 0: the small PUTs below must reach the (refusing) backend.
    gw = gateway_factory(
        "http", extra_args=[*args, "--log-level", "DEBUG", "--inline-threshold", "0"]
    )
    try:
        s3 = boto3_client(gw)
        bucket = unique_bucket_name(f"secret-{kind}")
        s3.create_bucket(Bucket=bucket)  # metadata only: works
        answers: list[Any] = []
        for attempt in range(2):
            with pytest.raises(ClientError) as info:
                s3.put_object(Bucket=bucket, Key=f"k{attempt}", Body=b"refused by the backend")
            answers.append(info.value.response)
            # The store refused our signature: a human must fix it, 500 (not 503).
            assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        status, body = ready(gw)
        assert status == 503
        answers.append(body)
        # Without the lines the test harness writes: they quote the command line.
        logs = "\n".join(
            line
            for line in gw.logs_since(limit=10_000_000).splitlines()
            if not line.startswith("===== start #")
        )
        assert "KloudVault listening" in logs and "backend failure" in logs
        for needle in needles:
            assert needle not in logs
            assert all(needle not in repr(answer) for answer in answers)
    finally:
        gw.stop()
