"""aws-cli `iam` and boto3 `iam`/`sts` against a real gateway: the query APIs on the S3 port."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import botocore.exceptions
import pytest
from botocore.config import Config

from auth.credentials import account_id
from tests.support.clients import aws_command, aws_env, run_aws, run_client
from tests.support.gateway import GatewayProcess

pytestmark = [pytest.mark.clients]

ALLOW_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


def aws_json(gw: GatewayProcess, *args: str, keys: tuple[str, str] | None = None) -> Any:
    """`aws ...` as root (or with `keys`), its JSON output parsed ({} when it prints none)."""
    if keys is None:
        out = run_aws(gw, *args).stdout
    else:
        env = aws_env(gw) | {"AWS_ACCESS_KEY_ID": keys[0], "AWS_SECRET_ACCESS_KEY": keys[1]}
        out = run_client(aws_command(gw, *args), env).stdout
    return json.loads(out) if out.strip() else {}


def session_client(gw: GatewayProcess, service: str, keys: tuple[str, str]) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=keys[0], aws_secret_access_key=keys[1], region_name=gw.region
    )
    config = Config(
        retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"}
    )
    return session.client(service, endpoint_url=gw.endpoint, config=config)


def test_aws_cli_iam_then_boto3_and_sts(gateway: GatewayProcess, tmp_path: Path) -> None:
    user = f"cli-{secrets.token_hex(4)}"
    created = aws_json(gateway, "iam", "create-user", "--user-name", user)["User"]
    root_id = account_id("root")
    assert created["Arn"] == f"arn:aws:iam::{root_id}:user/{user}"

    key = aws_json(gateway, "iam", "create-access-key", "--user-name", user)["AccessKey"]
    keys = (key["AccessKeyId"], key["SecretAccessKey"])
    document = tmp_path / "policy.json"
    document.write_text(json.dumps(ALLOW_S3))
    aws_json(
        gateway,
        "iam",
        "put-user-policy",
        "--user-name",
        user,
        "--policy-name",
        "s3",
        "--policy-document",
        f"file://{document}",
    )
    listed = aws_json(gateway, "iam", "list-users")["Users"]
    assert user in [u["UserName"] for u in listed]
    got = aws_json(gateway, "iam", "get-user-policy", "--user-name", user, "--policy-name", "s3")
    assert got["PolicyDocument"] == ALLOW_S3

    # The new user, through boto3: who am I, and IAM refuses it without an iam: Allow.
    me = session_client(gateway, "sts", keys).get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{root_id}:user/{user}" and me["Account"] == root_id
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        session_client(gateway, "iam", keys).list_users()
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    whoami = aws_json(gateway, "sts", "get-caller-identity", keys=keys)
    assert whoami["Arn"] == me["Arn"]

    root_iam = session_client(gateway, "iam", (gateway.access_key, gateway.secret_key))
    assert root_iam.get_user(UserName=user)["User"]["UserId"] == created["UserId"]
    keys_listed = root_iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys_listed] == [keys[0]]


def test_iam_user_with_s3_policy_lists_its_accounts_bucket(
    gateway: GatewayProcess, s3: Any
) -> None:
    bucket = f"iam-{secrets.token_hex(4)}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    root_iam = session_client(gateway, "iam", (gateway.access_key, gateway.secret_key))
    user = f"reader-{secrets.token_hex(4)}"
    root_iam.create_user(UserName=user)
    root_iam.put_user_policy(UserName=user, PolicyName="s3", PolicyDocument=json.dumps(ALLOW_S3))
    made = root_iam.create_access_key(UserName=user)["AccessKey"]
    reader = session_client(gateway, "s3", (made["AccessKeyId"], made["SecretAccessKey"]))
    assert [o["Key"] for o in reader.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)


def test_iam_user_without_s3_policy_is_denied(gateway: GatewayProcess, s3: Any) -> None:
    bucket = f"iam-{secrets.token_hex(4)}"
    s3.create_bucket(Bucket=bucket)
    root_iam = session_client(gateway, "iam", (gateway.access_key, gateway.secret_key))
    user = f"nobody-{secrets.token_hex(4)}"
    root_iam.create_user(UserName=user)
    made = root_iam.create_access_key(UserName=user)["AccessKey"]
    stranger = session_client(gateway, "s3", (made["AccessKeyId"], made["SecretAccessKey"]))
    try:
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            stranger.list_objects_v2(Bucket=bucket)
        assert exc.value.response["Error"]["Code"] == "AccessDenied"
    finally:
        s3.delete_bucket(Bucket=bucket)


def test_aws_cli_assume_role_and_use_the_session(gateway: GatewayProcess, tmp_path: Path) -> None:
    """aws-cli creates a role, assumes it, and then works on S3 with AWS_SESSION_TOKEN."""
    suffix = secrets.token_hex(4)
    role, bucket = f"cli-role-{suffix}", f"cli-sts-{suffix}"
    root_id = account_id("root")
    trust = tmp_path / "trust.json"
    trust.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": root_id}, "Action": "sts:AssumeRole"}
                ],
            }
        )
    )
    policy = tmp_path / "role-policy.json"
    policy.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:PutObject", "s3:GetObject", "s3:ListBucket"],
                        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    }
                ],
            }
        )
    )
    arn = aws_json(
        gateway, "iam", "create-role", "--role-name", role,
        "--assume-role-policy-document", f"file://{trust}",
    )["Role"]["Arn"]  # fmt: skip
    aws_json(
        gateway, "iam", "put-role-policy", "--role-name", role, "--policy-name", "s3",
        "--policy-document", f"file://{policy}",
    )  # fmt: skip
    run_aws(gateway, "s3api", "create-bucket", "--bucket", bucket)
    credentials = aws_json(
        gateway, "sts", "assume-role", "--role-arn", arn, "--role-session-name", "cli",
        "--duration-seconds", "900",
    )["Credentials"]  # fmt: skip
    env = aws_env(gateway) | {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }
    me = json.loads(run_client(aws_command(gateway, "sts", "get-caller-identity"), env).stdout)
    assert me["Arn"] == f"arn:aws:sts::{root_id}:assumed-role/{role}/cli"
    source = tmp_path / "hello.txt"
    source.write_text("hello from a role session")
    run_client(aws_command(gateway, "s3", "cp", str(source), f"s3://{bucket}/hello.txt"), env)
    listing = run_client(aws_command(gateway, "s3", "ls", f"s3://{bucket}/"), env).stdout
    assert "hello.txt" in listing
    copy = tmp_path / "copy.txt"
    run_client(aws_command(gateway, "s3", "cp", f"s3://{bucket}/hello.txt", str(copy)), env)
    assert copy.read_text() == "hello from a role session"
    # Outside the role's policy: refused, and a wrong token is refused outright.
    denied = run_client(
        aws_command(gateway, "s3", "rm", f"s3://{bucket}/hello.txt"), env, expect_failure=True
    )
    assert "AccessDenied" in denied.stderr
    bad = env | {"AWS_SESSION_TOKEN": "x" + credentials["SessionToken"]}
    refused = run_client(
        aws_command(gateway, "s3", "ls", f"s3://{bucket}/"), bad, expect_failure=True
    )
    assert "InvalidToken" in refused.stderr

    run_aws(gateway, "s3", "rm", f"s3://{bucket}/hello.txt")
    run_aws(gateway, "s3api", "delete-bucket", "--bucket", bucket)
    aws_json(gateway, "iam", "delete-role-policy", "--role-name", role, "--policy-name", "s3")
    aws_json(gateway, "iam", "delete-role", "--role-name", role)
