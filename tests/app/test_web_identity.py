"""AssumeRoleWithWebIdentity against a real OpenID Connect provider: npm's oidc-provider
on loopback (tests/support/oidc_provider.py), logged into by the authorization code flow.

The provider is registered with IAM's CreateOpenIDConnectProvider; its ID tokens (RS256
and ES256) are exchanged with boto3 for temporary credentials that then work on S3
(SDK and presigned URL). Refused as STS refuses them: a token for another audience, an
expired one (the server's clock moved past `exp`), one signed by another key, and a user
the role's trust policy excludes."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3  # type: ignore[import-untyped]
import botocore.exceptions
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from joserfc import jwt
from joserfc.jwk import RSAKey

from auth.credentials import account_id
from tests.app.conftest import AppFactory
from tests.app.server import AppServer
from tests.support.oidc_provider import OidcProvider, start_oidc_provider

ROOT_ID = account_id("root")
CLIENTS = [
    {"client_id": "kloudvault", "client_secret": "k" * 32},
    {"client_id": "kv-ec", "client_secret": "e" * 32, "id_token_signed_response_alg": "ES256"},
    {"client_id": "elsewhere", "client_secret": "x" * 32},
]


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    server = start_oidc_provider(CLIENTS)
    yield server
    server.close()


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def server(app_factory: AppFactory, clock: Clock) -> AppServer:
    return app_factory(clock=clock)


def client(
    server: AppServer, service: str, credentials: dict[str, Any] | None = None, **extra: Any
) -> Any:
    if credentials is None:
        keys = {"aws_access_key_id": server.access_key, "aws_secret_access_key": server.secret_key}
    else:
        keys = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
    session = boto3.session.Session(region_name="us-east-1", **keys)
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, **extra)
    return session.client(service, endpoint_url=server.endpoint, config=config)


@pytest.fixture(scope="module")
def setup(server: AppServer, provider: OidcProvider) -> Iterator[dict[str, str]]:
    iam = client(server, "iam")
    arn = iam.create_open_id_connect_provider(
        Url=provider.issuer, ClientIDList=["kloudvault", "kv-ec"], ThumbprintList=["0" * 40]
    )["OpenIDConnectProviderArn"]
    key = provider.issuer.removeprefix("http://")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{key}:sub": "alice"}},
            }
        ],
    }
    role_arn = iam.create_role(RoleName="web-alice", AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::web-*"}],
    }
    iam.put_role_policy(RoleName="web-alice", PolicyName="p", PolicyDocument=json.dumps(policy))
    client(server, "s3").create_bucket(Bucket="web-bucket")
    yield {"provider_arn": arn, "role_arn": role_arn}
    iam.delete_role_policy(RoleName="web-alice", PolicyName="p")
    iam.delete_role(RoleName="web-alice")
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)


def exchange(server: AppServer, role_arn: str, token: str) -> dict[str, Any]:
    sts = client(server, "sts", signature_version=UNSIGNED)
    return dict(
        sts.assume_role_with_web_identity(
            RoleArn=role_arn, RoleSessionName="web-session", WebIdentityToken=token
        )
    )


def refused(server: AppServer, role_arn: str, token: str) -> tuple[str, int]:
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        exchange(server, role_arn, token)
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_provider_is_registered(server: AppServer, provider: OidcProvider, setup: Any) -> None:
    iam = client(server, "iam")
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=setup["provider_arn"])
    assert got["ClientIDList"] == ["kloudvault", "kv-ec"] and got["ThumbprintList"] == ["0" * 40]
    assert setup["provider_arn"] == (
        f"arn:aws:iam::{ROOT_ID}:oidc-provider/{provider.issuer.removeprefix('http://')}"
    )
    listed = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert {"Arn": setup["provider_arn"]} in listed
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        iam.create_open_id_connect_provider(Url=provider.issuer, ClientIDList=["x"])
    assert exc.value.response["Error"]["Code"] == "EntityAlreadyExists"


@pytest.mark.parametrize("client_id", ["kloudvault", "kv-ec"])  # RS256, ES256
def test_id_token_buys_credentials_that_work_on_s3(
    server: AppServer, provider: OidcProvider, setup: Any, client_id: str
) -> None:
    answer = exchange(server, setup["role_arn"], provider.login(client_id, "alice"))
    assert answer["SubjectFromWebIdentityToken"] == "alice"
    assert answer["Audience"] == client_id and answer["Provider"] == setup["provider_arn"]
    assert answer["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ROOT_ID}:assumed-role/web-alice/web-session"
    )
    credentials = answer["Credentials"]
    me = client(server, "sts", credentials).get_caller_identity()
    assert me["Arn"] == answer["AssumedRoleUser"]["Arn"]
    s3 = client(server, "s3", credentials, s3={"addressing_style": "path"})
    s3.put_object(Bucket="web-bucket", Key=client_id, Body=b"from the IdP")
    url = client(
        server, "s3", credentials, s3={"addressing_style": "path"}, signature_version="s3v4"
    ).generate_presigned_url("get_object", Params={"Bucket": "web-bucket", "Key": client_id})
    assert "X-Amz-Security-Token=" in url
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"from the IdP"
    with pytest.raises(botocore.exceptions.ClientError) as exc:  # outside the role's policy
        s3.create_bucket(Bucket="not-web")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"


def test_refusals(server: AppServer, provider: OidcProvider, setup: Any, clock: Clock) -> None:
    role_arn = setup["role_arn"]
    # A user the trust policy's condition excludes.
    assert refused(server, role_arn, provider.login("kloudvault", "bob")) == ("AccessDenied", 403)
    # A token for a client the provider was not registered with.
    wrong_audience = provider.login("elsewhere", "alice")
    assert refused(server, role_arn, wrong_audience) == ("InvalidIdentityToken", 400)
    # The provider's claims and kid, signed by a key that is not the provider's.
    token = provider.login("kloudvault", "alice")
    claims = json.loads(_segment(token.split(".")[1]))
    kid = json.loads(_segment(token.split(".")[0]))["kid"]
    forged = jwt.encode({"alg": "RS256", "kid": kid}, claims, RSAKey.generate_key(2048))
    assert refused(server, role_arn, forged) == ("InvalidIdentityToken", 400)
    # The same genuine token once the server's clock is past its expiry.
    clock.offset = float(claims["exp"]) - time.time() + 1
    try:
        assert refused(server, role_arn, token) == ("ExpiredTokenException", 400)
    finally:
        clock.offset = 0.0
    assert exchange(server, role_arn, token)["SubjectFromWebIdentityToken"] == "alice"


def _segment(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
