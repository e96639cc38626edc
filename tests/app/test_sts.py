"""Roles and STS temporary credentials through boto3 against the real application:
IAM role management, AssumeRole (same account and across accounts), GetSessionToken,
session credentials on S3 (headers and a presigned URL), expiry on the injectable clock,
revocation by deleting the role, and the refusals AWS answers."""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3  # type: ignore[import-untyped]
import botocore.exceptions
import pytest
import requests
from botocore.config import Config

from auth.credentials import account_id
from tests.app.conftest import AppFactory
from tests.app.server import AppServer


class Clock:
    """The server's wall clock, movable forward by tests."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def server(app_factory: AppFactory, clock: Clock) -> AppServer:
    return app_factory(clock=clock)


@pytest.fixture(autouse=True)
def reset_clock(clock: Clock) -> None:
    clock.offset = 0.0


def client(
    server: AppServer,
    service: str,
    keys: tuple[str, str] | None = None,
    token: str | None = None,
    signature_version: str | None = None,
) -> Any:
    access_key, secret_key = keys or (server.access_key, server.secret_key)
    session = boto3.session.Session(
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=token,
        region_name="us-east-1",
    )
    config = Config(
        retries={"max_attempts": 1, "mode": "standard"},
        s3={"addressing_style": "path"},
        signature_version=signature_version,
    )
    return session.client(service, endpoint_url=server.endpoint, config=config)


def with_credentials(
    server: AppServer,
    service: str,
    credentials: dict[str, Any],
    signature_version: str | None = None,
) -> Any:
    keys = (credentials["AccessKeyId"], credentials["SecretAccessKey"])
    return client(server, service, keys, credentials["SessionToken"], signature_version)


@pytest.fixture
def name() -> Callable[[str], str]:
    suffix = secrets.token_hex(4)
    return lambda base: f"{base}-{suffix}"


@pytest.fixture
def iam(server: AppServer) -> Any:
    return client(server, "iam")


def error_of(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def trust(*principals: str, action: str = "sts:AssumeRole") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": action}
            ],
        }
    )


def allow(actions: list[str], resource: str = "*") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
        }
    )


ROOT_ID = account_id("root")


def make_role(iam: Any, role: str, trusted: str, policy: str | None = None) -> str:
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(trusted))["Role"]["Arn"]
    if policy is not None:
        iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=policy)
    return str(arn)


def drop_role(iam: Any, role: str) -> None:
    for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        iam.delete_role_policy(RoleName=role, PolicyName=policy)
    iam.delete_role(RoleName=role)


def test_role_management(iam: Any, name: Any) -> None:
    role, managed = name("reader"), name("ReadS3")
    created = iam.create_role(
        RoleName=role,
        Path="/apps/",
        AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ROOT_ID}:root"),
        MaxSessionDuration=7200,
        Description="reads",
    )["Role"]
    assert created["Arn"] == f"arn:aws:iam::{ROOT_ID}:role/apps/{role}"
    assert created["RoleId"].startswith("AROA") and created["MaxSessionDuration"] == 7200
    got = iam.get_role(RoleName=role)["Role"]
    assert got["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    assert role in [r["RoleName"] for r in iam.list_roles(PathPrefix="/apps/")["Roles"]]
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        iam.create_role(RoleName=role.upper(), AssumeRolePolicyDocument=trust(ROOT_ID))
    assert error_of(exc) == ("EntityAlreadyExists", 409)
    with pytest.raises(botocore.exceptions.ClientError) as exc:  # Resource is not allowed
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=allow(["sts:AssumeRole"]))
    assert error_of(exc) == ("MalformedPolicyDocument", 400)
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=trust(ROOT_ID))
    principal = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert principal["Principal"] == {"AWS": [ROOT_ID]}

    iam.put_role_policy(RoleName=role, PolicyName="inline", PolicyDocument=allow(["s3:Get*"]))
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["inline"]
    assert iam.get_role_policy(RoleName=role, PolicyName="inline")["PolicyDocument"]["Statement"][
        0
    ]["Action"] == ["s3:Get*"]
    arn = iam.create_policy(PolicyName=managed, PolicyDocument=allow(["s3:List*"]))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert attached == [{"PolicyName": managed, "PolicyArn": arn}]
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        iam.delete_role(RoleName=role)
    assert error_of(exc) == ("DeleteConflict", 409)
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)
    iam.delete_role_policy(RoleName=role, PolicyName="inline")
    iam.delete_role(RoleName=role)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        iam.get_role(RoleName=role)
    assert error_of(exc) == ("NoSuchEntity", 404)


def test_assume_role_and_use_it_on_s3(server: AppServer, iam: Any, name: Any) -> None:
    role, bucket = name("writer"), name("sts-bucket")
    s3_root = client(server, "s3")
    s3_root.create_bucket(Bucket=bucket)
    policy = allow(["s3:GetObject", "s3:PutObject"], f"arn:aws:s3:::{bucket}/*")
    role_arn = make_role(iam, role, f"arn:aws:iam::{ROOT_ID}:root", policy)
    sts = client(server, "sts")
    answer = sts.assume_role(RoleArn=role_arn, RoleSessionName="job-1", DurationSeconds=900)
    credentials = answer["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    assert answer["AssumedRoleUser"]["Arn"] == (f"arn:aws:sts::{ROOT_ID}:assumed-role/{role}/job-1")
    me = with_credentials(server, "sts", credentials).get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{ROOT_ID}:assumed-role/{role}/job-1"
    assert me["UserId"].endswith(":job-1") and me["UserId"].startswith("AROA")

    s3 = with_credentials(server, "s3", credentials)
    s3.put_object(Bucket=bucket, Key="k", Body=b"by the role")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"by the role"
    with pytest.raises(botocore.exceptions.ClientError) as exc:  # not in the role's policy
        s3.delete_object(Bucket=bucket, Key="k")
    assert error_of(exc) == ("AccessDenied", 403)

    v2_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    assert "x-amz-security-token=" in v2_url  # botocore presigns SigV2 by default here
    with urllib.request.urlopen(v2_url) as response:
        assert response.read() == b"by the role"
    v4 = with_credentials(server, "s3", credentials, signature_version="s3v4")
    url = v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    assert "X-Amz-Security-Token=" in url
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"by the role"
    bad = url.replace("X-Amz-Security-Token=", "X-Amz-Security-Token=x")
    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(bad)
    assert http.value.code == 400 and b"<Code>InvalidToken</Code>" in http.value.read()

    keys = (credentials["AccessKeyId"], credentials["SecretAccessKey"])
    with pytest.raises(botocore.exceptions.ClientError) as exc:  # the token left out
        client(server, "s3", keys).get_object(Bucket=bucket, Key="k")
    assert error_of(exc) == ("InvalidAccessKeyId", 403)

    # Deleting the role ends its sessions.
    drop_role(iam, role)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k")
    assert error_of(exc)[1] in (400, 403)
    s3_root.delete_object(Bucket=bucket, Key="k")
    s3_root.delete_bucket(Bucket=bucket)


def test_session_expires_on_the_clock(server: AppServer, iam: Any, name: Any, clock: Clock) -> None:
    role = name("short")
    role_arn = make_role(iam, role, ROOT_ID, allow(["s3:ListAllMyBuckets"]))
    credentials = client(server, "sts").assume_role(
        RoleArn=role_arn, RoleSessionName="brief", DurationSeconds=900
    )["Credentials"]
    s3 = with_credentials(server, "s3", credentials)
    s3.list_buckets()
    clock.offset = 901.0
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.list_buckets()
    assert error_of(exc) == ("ExpiredToken", 400)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        with_credentials(server, "sts", credentials).get_caller_identity()
    assert error_of(exc) == ("ExpiredToken", 403)
    clock.offset = 0.0
    drop_role(iam, role)


def test_duration_and_session_name_bounds(server: AppServer, iam: Any, name: Any) -> None:
    role = name("bounds")
    role_arn = make_role(iam, role, ROOT_ID)
    sts = client(server, "sts")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="s1", DurationSeconds=3601)
    assert error_of(exc) == ("ValidationError", 400)
    assert "MaxSessionDuration" in exc.value.response["Error"]["Message"]
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="bad name!")
    assert error_of(exc) == ("ValidationError", 400)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        sts.assume_role(RoleArn=role_arn + "-missing", RoleSessionName="s1")
    assert error_of(exc) == ("AccessDenied", 403)
    drop_role(iam, role)


def test_role_chaining_is_capped_at_one_hour(server: AppServer, iam: Any, name: Any) -> None:
    first, second = name("chain-a"), name("chain-b")
    first_arn = make_role(iam, first, ROOT_ID, allow(["sts:AssumeRole"]))
    iam.create_role(
        RoleName=second, AssumeRolePolicyDocument=trust(first_arn), MaxSessionDuration=7200
    )
    second_arn = f"arn:aws:iam::{ROOT_ID}:role/{second}"
    sts = client(server, "sts")
    # Not chained: the role's own maximum applies.
    direct = iam.update_assume_role_policy(
        RoleName=second, PolicyDocument=trust(first_arn, ROOT_ID)
    )
    assert direct["ResponseMetadata"]["HTTPStatusCode"] == 200
    sts.assume_role(RoleArn=second_arn, RoleSessionName="direct", DurationSeconds=7200)
    session = sts.assume_role(RoleArn=first_arn, RoleSessionName="hop")["Credentials"]
    chained = with_credentials(server, "sts", session)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        chained.assume_role(RoleArn=second_arn, RoleSessionName="hop2", DurationSeconds=3601)
    assert error_of(exc) == ("ValidationError", 400)
    assert "role chaining" in exc.value.response["Error"]["Message"]
    hop = chained.assume_role(RoleArn=second_arn, RoleSessionName="hop2", DurationSeconds=3600)
    assert hop["AssumedRoleUser"]["Arn"].endswith(f"assumed-role/{second}/hop2")
    drop_role(iam, second)
    drop_role(iam, first)


def test_session_policy_narrows_the_role(server: AppServer, iam: Any, name: Any) -> None:
    role, bucket = name("wide"), name("narrow-bucket")
    s3_root = client(server, "s3")
    s3_root.create_bucket(Bucket=bucket)
    s3_root.put_object(Bucket=bucket, Key="k", Body=b"x")
    role_arn = make_role(iam, role, ROOT_ID, allow(["s3:*"]))
    credentials = client(server, "sts").assume_role(
        RoleArn=role_arn, RoleSessionName="ro", Policy=allow(["s3:GetObject"])
    )["Credentials"]
    s3 = with_credentials(server, "s3", credentials)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k2", Body=b"y")
    assert error_of(exc) == ("AccessDenied", 403)
    drop_role(iam, role)
    s3_root.delete_object(Bucket=bucket, Key="k")
    s3_root.delete_bucket(Bucket=bucket)


def _user_with_key(iam: Any, user: str, policy: str | None) -> tuple[str, str]:
    iam.create_user(UserName=user)
    if policy is not None:
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=policy)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def test_trust_policy_decides_who_may_assume(server: AppServer, iam: Any, name: Any) -> None:
    named, other, delegated = name("named"), name("other"), name("delegated")
    named_keys = _user_with_key(iam, named, None)
    other_keys = _user_with_key(iam, other, None)
    delegated_keys = _user_with_key(iam, delegated, allow(["sts:AssumeRole"]))
    role = name("picky")
    user_arn = f"arn:aws:iam::{ROOT_ID}:user/{named}"
    role_arn = make_role(iam, role, user_arn)
    # Named by ARN in the trust policy: no identity policy needed in the same account.
    client(server, "sts", named_keys).assume_role(RoleArn=role_arn, RoleSessionName="ok")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        client(server, "sts", other_keys).assume_role(RoleArn=role_arn, RoleSessionName="no")
    assert error_of(exc) == ("AccessDenied", 403)
    # Trusting the account delegates: the user's own policies must allow sts:AssumeRole.
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=trust(ROOT_ID))
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        client(server, "sts", other_keys).assume_role(RoleArn=role_arn, RoleSessionName="no")
    assert error_of(exc) == ("AccessDenied", 403)
    client(server, "sts", delegated_keys).assume_role(RoleArn=role_arn, RoleSessionName="ok")
    drop_role(iam, role)


def test_assume_role_across_accounts(server: AppServer, iam: Any, name: Any) -> None:
    partner = name("partner")
    partner_keys = server.create_user(partner)
    partner_iam = client(server, "iam", partner_keys)
    worker_keys = _user_with_key(partner_iam, "worker", allow(["sts:AssumeRole"]))
    idle_keys = _user_with_key(partner_iam, "idle", None)
    role, bucket = name("shared"), name("shared-bucket")
    s3_root = client(server, "s3")
    s3_root.create_bucket(Bucket=bucket)
    s3_root.put_object(Bucket=bucket, Key="k", Body=b"shared")
    role_arn = make_role(
        iam, role, account_id(partner), allow(["s3:GetObject"], f"arn:aws:s3:::{bucket}/*")
    )
    credentials = client(server, "sts", worker_keys).assume_role(
        RoleArn=role_arn, RoleSessionName="from-partner"
    )["Credentials"]
    s3 = with_credentials(server, "s3", credentials)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"shared"
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        client(server, "sts", idle_keys).assume_role(RoleArn=role_arn, RoleSessionName="xx")
    assert error_of(exc) == ("AccessDenied", 403)
    # The partner account's own credentials need no identity policy.
    client(server, "sts", partner_keys).assume_role(RoleArn=role_arn, RoleSessionName="acct")
    drop_role(iam, role)
    s3_root.delete_object(Bucket=bucket, Key="k")
    s3_root.delete_bucket(Bucket=bucket)


def test_get_session_token(server: AppServer, iam: Any, name: Any) -> None:
    user = name("temp")
    keys = _user_with_key(iam, user, allow(["s3:ListAllMyBuckets"]))
    credentials = client(server, "sts", keys).get_session_token(DurationSeconds=900)["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    me = with_credentials(server, "sts", credentials).get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{ROOT_ID}:user/{user}"
    with_credentials(server, "s3", credentials).list_buckets()
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        with_credentials(server, "s3", credentials).create_bucket(Bucket=name("nope"))
    assert error_of(exc) == ("AccessDenied", 403)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        with_credentials(server, "sts", credentials).get_session_token()
    assert error_of(exc) == ("AccessDenied", 403)
    with pytest.raises(botocore.exceptions.ClientError) as exc:  # an account's own: 1 hour
        client(server, "sts").get_session_token(DurationSeconds=7200)
    assert error_of(exc) == ("ValidationError", 400)


def test_post_form_with_session_credentials(server: AppServer, iam: Any, name: Any) -> None:
    role, bucket = name("poster"), name("post-bucket")
    s3_root = client(server, "s3")
    s3_root.create_bucket(Bucket=bucket)
    role_arn = make_role(iam, role, ROOT_ID, allow(["s3:PutObject"], f"arn:aws:s3:::{bucket}/*"))
    credentials = client(server, "sts").assume_role(RoleArn=role_arn, RoleSessionName="form")[
        "Credentials"
    ]
    v4 = with_credentials(server, "s3", credentials, signature_version="s3v4")
    form = v4.generate_presigned_post(bucket, "up.txt", ExpiresIn=300)
    assert "x-amz-security-token" in form["fields"]
    reply = requests.post(form["url"], data=form["fields"], files={"file": b"posted"}, timeout=30)
    assert reply.status_code == 204, reply.text
    assert s3_root.get_object(Bucket=bucket, Key="up.txt")["Body"].read() == b"posted"
    forged = {**form["fields"], "x-amz-security-token": "x" + credentials["SessionToken"]}
    reply = requests.post(form["url"], data=forged, files={"file": b"no"}, timeout=30)
    assert reply.status_code == 400 and "<Code>InvalidToken</Code>" in reply.text
    drop_role(iam, role)
    s3_root.delete_object(Bucket=bucket, Key="up.txt")
    s3_root.delete_bucket(Bucket=bucket)
