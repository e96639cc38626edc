"""The IAM and STS query APIs on the S3 port, through boto3 and hand-signed requests
against the real application (auth/iam/endpoint.py)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections.abc import Callable
from typing import Any

import boto3  # type: ignore[import-untyped]
import botocore.exceptions
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from lxml import etree

from auth.credentials import account_id
from tests.app.client import SignedClient
from tests.app.conftest import AppFactory
from tests.app.server import AppServer

ALLOW_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}
IAM_NS = "{https://iam.amazonaws.com/doc/2010-05-08/}"


@pytest.fixture(scope="module")
def server(app_factory: AppFactory) -> AppServer:
    return app_factory()


def client(server: AppServer, service: str, keys: tuple[str, str] | None = None) -> Any:
    access_key, secret_key = keys or (server.access_key, server.secret_key)
    session = boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name="us-east-1"
    )
    config = Config(retries={"max_attempts": 1, "mode": "standard"})
    return session.client(service, endpoint_url=server.endpoint, config=config)


@pytest.fixture
def name() -> Callable[[str], str]:
    """Unique entity names: every test shares the module's server and root account."""
    suffix = secrets.token_hex(4)
    return lambda base: f"{base}-{suffix}"


@pytest.fixture
def iam(server: AppServer) -> Any:
    return client(server, "iam")


def error_of(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_create_get_list_delete_user(iam: Any, server: AppServer, name: Any) -> None:
    user = name("dev")
    created = iam.create_user(UserName=user, Path="/team/")["User"]
    root_id = account_id("root")
    assert created["Arn"] == f"arn:aws:iam::{root_id}:user/team/{user}"
    assert created["UserId"].startswith("AIDA") and created["Path"] == "/team/"
    assert iam.get_user(UserName=user)["User"]["UserId"] == created["UserId"]
    listed = iam.list_users(PathPrefix="/team/")["Users"]
    assert user in [u["UserName"] for u in listed]
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        iam.create_user(UserName=user)
    assert error_of(exc) == ("EntityAlreadyExists", 409)
    iam.delete_user(UserName=user)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        iam.get_user(UserName=user)
    assert error_of(exc) == ("NoSuchEntity", 404)


def test_list_users_pages(iam: Any, name: Any) -> None:
    path = f"/{name('pages')}/"
    users = sorted(name(f"u{i}") for i in range(5))
    for user in users:
        iam.create_user(UserName=user, Path=path)
    first = iam.list_users(PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] and len(first["Users"]) == 2
    seen = [
        u["UserName"]
        for u in iam.get_paginator("list_users")
        .paginate(PathPrefix=path, PaginationConfig={"PageSize": 2})
        .build_full_result()["Users"]
    ]
    assert seen == users
    for user in users:
        iam.delete_user(UserName=user)


def test_access_keys_policies_and_delete_conflict(iam: Any, server: AppServer, name: Any) -> None:
    user = name("keys")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    assert key["Status"] == "Active" and key["SecretAccessKey"]
    listed = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [key["AccessKeyId"]]
    document = json.dumps(ALLOW_S3)
    iam.put_user_policy(UserName=user, PolicyName="s3", PolicyDocument=document)
    # boto3 decodes the URL-encoded document AWS returns into JSON.
    got = iam.get_user_policy(UserName=user, PolicyName="s3")["PolicyDocument"]
    assert got == ALLOW_S3
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == ["s3"]
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        iam.delete_user(UserName=user)
    assert error_of(exc) == ("DeleteConflict", 409)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        iam.put_user_policy(UserName=user, PolicyName="bad", PolicyDocument='{"Statement": 1}')
    assert error_of(exc) == ("MalformedPolicyDocument", 400)

    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    status = iam.list_access_keys(UserName=user)["AccessKeyMetadata"][0]["Status"]
    assert status == "Inactive"
    sts = client(server, "sts", (key["AccessKeyId"], key["SecretAccessKey"]))
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        sts.get_caller_identity()
    assert error_of(exc) == ("InvalidClientTokenId", 403)

    iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    iam.delete_user_policy(UserName=user, PolicyName="s3")
    iam.delete_user(UserName=user)


def test_groups_and_managed_policies(iam: Any, name: Any) -> None:
    user, group, policy = name("member"), name("team"), name("ReadAll")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    got = iam.get_group(GroupName=group)
    assert [u["UserName"] for u in got["Users"]] == [user]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]
    iam.put_group_policy(GroupName=group, PolicyName="g", PolicyDocument=json.dumps(ALLOW_S3))
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == ["g"]
    created = iam.create_policy(PolicyName=policy, PolicyDocument=json.dumps(ALLOW_S3))["Policy"]
    arn = created["Arn"]
    assert arn == f"arn:aws:iam::{account_id('root')}:policy/{policy}"
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 2
    attached = iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    assert attached == [{"PolicyName": policy, "PolicyArn": arn}]
    assert [
        p["PolicyName"]
        for p in iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]
    ] == [policy]
    assert policy in [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)
    assert error_of(exc) == ("DeleteConflict", 409)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        iam.delete_group(GroupName=group)
    assert error_of(exc) == ("DeleteConflict", 409)

    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)
    iam.delete_group_policy(GroupName=group, PolicyName="g")
    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.delete_group(GroupName=group)
    iam.delete_user(UserName=user)


def _user_with_key(iam: Any, user: str, policy: dict[str, Any] | None) -> tuple[str, str]:
    iam.create_user(UserName=user)
    if policy is not None:
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def test_get_caller_identity(server: AppServer, iam: Any, name: Any) -> None:
    root = client(server, "sts").get_caller_identity()
    assert root["Account"] == account_id("root")
    assert root["Arn"] == f"arn:aws:iam::{account_id('root')}:root"
    user = name("whoami")
    keys = _user_with_key(iam, user, None)
    me = client(server, "sts", keys).get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{account_id('root')}:user/{user}"
    assert me["UserId"].startswith("AIDA") and me["Account"] == account_id("root")


def test_iam_user_needs_an_iam_allow(server: AppServer, iam: Any, name: Any) -> None:
    plain = _user_with_key(iam, name("plain"), None)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        client(server, "iam", plain).list_users()
    assert error_of(exc) == ("AccessDenied", 403)
    assert "iam:ListUsers" in exc.value.response["Error"]["Message"]

    admin_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:DeleteUser", "Resource": "*"},
        ],
    }
    admin = client(server, "iam", _user_with_key(iam, name("admin"), admin_policy))
    other = name("made-by-admin")
    admin.create_user(UserName=other)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        admin.delete_user(UserName=other)
    assert error_of(exc) == ("AccessDenied", 403)
    iam.delete_user(UserName=other)


def test_iam_user_manages_its_own_keys(server: AppServer, iam: Any, name: Any) -> None:
    user = name("self")
    own_keys = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["iam:CreateAccessKey", "iam:ListAccessKeys"],
                "Resource": "arn:aws:iam::*:user/${aws:username}",
            }
        ],
    }
    me = client(server, "iam", _user_with_key(iam, user, own_keys))
    made = me.create_access_key()["AccessKey"]  # no UserName: the caller itself
    assert made["UserName"] == user
    assert len(me.list_access_keys()["AccessKeyMetadata"]) == 2
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        me.list_access_keys(UserName=name("someone-else"))
    assert error_of(exc) == ("AccessDenied", 403)


def test_account_key_without_user_name_is_refused(iam: Any) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        iam.create_access_key()
    assert error_of(exc) == ("ValidationError", 400)


def test_iam_user_lists_a_bucket_of_its_account(server: AppServer, iam: Any, name: Any) -> None:
    bucket = name("iam-bucket").lower()
    s3_root = client(server, "s3")
    s3_root.create_bucket(Bucket=bucket)
    s3_root.put_object(Bucket=bucket, Key="k", Body=b"x")
    keys = _user_with_key(iam, name("reader"), ALLOW_S3)
    listed = client(server, "s3", keys).list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["k"]


def test_iam_user_without_policy_is_denied_s3(server: AppServer, iam: Any, name: Any) -> None:
    bucket = name("iam-denied").lower()
    client(server, "s3").create_bucket(Bucket=bucket)
    keys = _user_with_key(iam, name("nobody"), None)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        client(server, "s3", keys).list_objects_v2(Bucket=bucket)
    assert error_of(exc) == ("AccessDenied", 403)


# -- hand-made requests: what SDKs never send -------------------------------------------------


def _iam_request(
    app_client: SignedClient,
    aio: asyncio.Runner,
    body: bytes,
    *,
    sign: bool = True,
    service: str = "iam",
    method: str = "POST",
    query: str = "",
) -> tuple[int, Any]:
    url = str(app_client.client.make_url("/")) + (f"?{query}" if query else "")
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    if sign:
        creds = Credentials(app_client.access_key, app_client.secret_key)
        SigV4Auth(creds, service, "us-east-1").add_auth(req)
    prepared = req.prepare()

    async def send() -> tuple[int, bytes]:
        async with app_client.client.session.request(
            method, prepared.url, data=body, headers=dict(prepared.headers.items())
        ) as response:
            return response.status, await response.read()

    status, raw = aio.run(send())
    return status, etree.fromstring(raw)


def test_error_document_shape(app_client: SignedClient, aio: asyncio.Runner) -> None:
    status, doc = _iam_request(app_client, aio, b"Action=GetUser&Version=2010-05-08&UserName=x")
    assert status == 404
    assert doc.tag == f"{IAM_NS}ErrorResponse"
    assert doc.findtext(f"{IAM_NS}Error/{IAM_NS}Type") == "Sender"
    assert doc.findtext(f"{IAM_NS}Error/{IAM_NS}Code") == "NoSuchEntity"
    assert doc.findtext(f"{IAM_NS}RequestId")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"Version=2010-05-08", 400, "MissingAction"),
        (b"Action=CreateBucket&Version=2010-05-08", 400, "InvalidAction"),
        (b"Action=ListUsers&Version=2011-01-01", 400, "InvalidAction"),
        (b"Action=ListUsers&Version=2010-05-08&MaxItems=0", 400, "ValidationError"),
        (b"Action=CreateUser&Version=2010-05-08&UserName=a%2Fb", 400, "ValidationError"),
        (b"Action=ListUsers&" + b"x" * (64 * 1024), 413, "RequestEntityTooLarge"),
    ],
)
def test_bad_requests(
    app_client: SignedClient, aio: asyncio.Runner, body: bytes, status: int, code: str
) -> None:
    got, doc = _iam_request(app_client, aio, body)
    assert (got, doc.findtext(f"{IAM_NS}Error/{IAM_NS}Code")) == (status, code)


def test_anonymous_is_denied(app_client: SignedClient, aio: asyncio.Runner) -> None:
    status, doc = _iam_request(app_client, aio, b"Action=ListUsers", sign=False)
    assert (status, doc.findtext(f"{IAM_NS}Error/{IAM_NS}Code")) == (403, "AccessDenied")


def test_get_with_query_parameters(app_client: SignedClient, aio: asyncio.Runner) -> None:
    status, doc = _iam_request(
        app_client, aio, b"", method="GET", query="Action=ListUsers&Version=2010-05-08"
    )
    assert status == 200
    assert doc.tag == f"{IAM_NS}ListUsersResponse"
    assert doc.findtext(f"{IAM_NS}ListUsersResult/{IAM_NS}IsTruncated") == "false"


def test_tampered_body_fails_the_signature(app_client: SignedClient, aio: asyncio.Runner) -> None:
    url = str(app_client.client.make_url("/"))
    signed_body = b"Action=ListUsers&Version=2010-05-08"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    req = AWSRequest(method="POST", url=url, data=signed_body, headers=headers)
    SigV4Auth(
        Credentials(app_client.access_key, app_client.secret_key), "iam", "us-east-1"
    ).add_auth(req)

    async def send() -> tuple[int, bytes]:
        async with app_client.client.session.post(
            url,
            data=b"Action=DeleteUser&Version=2010-05-08&UserName=x",
            headers=dict(req.prepare().headers.items()),
        ) as response:
            return response.status, await response.read()

    status, raw = aio.run(send())
    code = etree.fromstring(raw).findtext(f"{IAM_NS}Error/{IAM_NS}Code")
    assert (status, code) == (403, "SignatureDoesNotMatch")


def test_s3_still_refuses_an_iam_scope_on_s3_routes(
    app_client: SignedClient, aio: asyncio.Runner
) -> None:
    """An S3 request signed for another non-query service is still an S3 error."""
    url = str(app_client.client.make_url("/some-bucket"))
    req = AWSRequest(method="GET", url=url, data=b"")
    req.headers["X-Amz-Content-SHA256"] = hashlib.sha256(b"").hexdigest()
    SigV4Auth(
        Credentials(app_client.access_key, app_client.secret_key), "ec2", "us-east-1"
    ).add_auth(req)

    async def send() -> tuple[int, bytes]:
        async with app_client.client.session.get(
            url, headers=dict(req.prepare().headers.items())
        ) as response:
            return response.status, await response.read()

    status, raw = aio.run(send())
    assert status == 400
    assert etree.fromstring(raw).findtext("Code") == "AuthorizationHeaderMalformed"
