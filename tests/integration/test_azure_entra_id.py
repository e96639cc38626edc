"""`kloudvault serve --backend azure --azure-account-url URL` without a key: Entra ID.

The gateway process finds its token as it would on Azure App Service: azure-identity's
DefaultAzureCredential, with IDENTITY_ENDPOINT and IDENTITY_HEADER in its environment and
nothing of a service principal or workload identity (every AZURE_* variable removed), skips
those two at once and asks the managed identity endpoint (tests/support/azurite.py's
IdentityEndpoint, standing in for App Service's); its JWT is what Azurite over https with
--oauth basic takes (SSL_CERT_FILE: the test CA). A boto3 round trip through the gateway
stores the blobs in the container and reads them back; the endpoint was asked once.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets

import pytest

from backends.azure import AzureBackend
from tests.integration.conftest import GatewayFactory
from tests.support.azurite import IdentityEndpoint, session_oauth_azurite
from tests.support.clients import boto3_client, unique_bucket_name

DATA = random.Random(13).randbytes(600_000)  # > 256 KiB: the streamed Put Blob


def test_put_get_delete_on_a_managed_identity(
    request: pytest.FixtureRequest,
    gateway_factory: GatewayFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = session_oauth_azurite(request.config)
    assert server.tls is not None
    container = f"gw-entra-{secrets.token_hex(4)}"
    keyed = AzureBackend(
        container, connection_string=server.connection_string, ssl_context=server.ssl_context()
    )

    async def stored() -> list[str]:
        try:
            return [info.blob_id async for info in keyed.list_blobs()]
        finally:
            await keyed.close()

    for name in [name for name in os.environ if name.startswith("AZURE_")]:
        monkeypatch.delenv(name)  # the gateway's environment is built from ours
    with IdentityEndpoint() as identity:
        gw = gateway_factory(
            "http",
            extra_args=[
                *("--backend", "azure", "--azure-account-url", server.account_url),
                *("--azure-container", container),
                *("--inline-threshold", "0"),  # every object a blob in the container
            ],
            extra_env={**identity.environment(), "SSL_CERT_FILE": str(server.tls.ca_bundle)},
        )
        try:
            s3 = boto3_client(gw)
            bucket = unique_bucket_name("entra")
            s3.create_bucket(Bucket=bucket)
            s3.put_object(Bucket=bucket, Key="big", Body=DATA)
            s3.put_object(Bucket=bucket, Key="small", Body=DATA[:1000])
            assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == DATA
            ranged = s3.get_object(Bucket=bucket, Key="big", Range="bytes=100-299999")
            assert ranged["Body"].read() == DATA[100:300_000]
            assert s3.get_object(Bucket=bucket, Key="small")["Body"].read() == DATA[:1000]
            assert len(asyncio.run(stored())) == 2  # the bytes are in Azure(ite)
            s3.delete_object(Bucket=bucket, Key="big")
            s3.delete_object(Bucket=bucket, Key="small")
            s3.delete_bucket(Bucket=bucket)
            logs = gw.logs_since()
        finally:
            gw.stop()
    assert len(identity.requests) == 1, identity.requests  # one token for everything
    (asked,) = identity.requests
    assert asked.query == {"api-version": ["2019-08-01"], "resource": ["https://storage.azure.com"]}
    assert asked.identity_header == identity.secret
    assert "eyJ" not in logs  # no token (a JWT) in the gateway's output
