"""Sharing with the clients users already have: bucket policies, public access blocks, ACLs
and anonymous access through aws-cli, s3cmd, rclone, boto3 and plain curl.

Every recipe runs on two sites: one gateway on SQLite, and two replicas sharing one
PostgreSQL schema and one Redis (one over http, one over https), where the recipe is set up
through one replica and checked through the other. On the replicas too: a policy written
through either applies on both at once, a policy denying non-TLS access refuses the http
replica while the https one serves, and a deactivated key stops within a second.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from auth.credentials import canonical_id
from tests.integration.conftest import GatewayFactory
from tests.support.clients import (
    boto3_client,
    empty_and_delete_bucket,
    run_aws,
    run_rclone,
    run_s3cmd,
    unique_bucket_name,
)
from tests.support.gateway import GatewayProcess, random_access_key, random_secret_key
from tests.support.postgres import fresh_schema_sync
from tests.support.redis import RedisServer


@dataclass(frozen=True)
class As:
    """A gateway endpoint seen with another account's keys (for the CLI helpers)."""

    gateway: GatewayProcess
    access_key: str
    secret_key: str

    @property
    def workdir(self) -> Path:
        path = self.gateway.workdir / f"as-{self.access_key}"
        path.mkdir(exist_ok=True)
        return path

    @property
    def scheme(self) -> str:
        return self.gateway.scheme

    @property
    def region(self) -> str:
        return self.gateway.region

    @property
    def netloc(self) -> str:
        return self.gateway.netloc

    @property
    def endpoint(self) -> str:
        return self.gateway.endpoint

    @property
    def ca_bundle(self) -> Path | None:
        return self.gateway.ca_bundle


def curl(gateway: GatewayProcess, path: str, *args: str) -> tuple[int, bytes]:
    """Plain curl, no credentials: (status, body)."""
    cmd = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", *args]
    if gateway.ca_bundle is not None:
        cmd += ["--cacert", str(gateway.ca_bundle)]
    out = subprocess.run(cmd + [gateway.endpoint + path], capture_output=True, timeout=30)
    body, _, status = out.stdout.rpartition(b"\n")
    return int(status), body


def public_read(bucket: str, prefix: str = "") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicRead",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/{prefix}*",
                },
                {
                    "Sid": "PublicList",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:ListBucket",
                    "Resource": f"arn:aws:s3:::{bucket}",
                },
            ],
        }
    )


# -- the two sites ----------------------------------------------------------------------------


@dataclass
class Pair:
    http: GatewayProcess
    https: GatewayProcess


@pytest.fixture(scope="module")
def pair(
    gateway_factory: GatewayFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    data_dir = tmp_path_factory.mktemp("access-pair")
    access_key, secret_key = random_access_key(), random_secret_key()
    with RedisServer() as redis_server, fresh_schema_sync("acc") as dsn:
        # Through the environment, so `kloudvault admin` run for a replica finds the same store.
        env = {"KLOUDVAULT_METADATA_URL": dsn, "KLOUDVAULT_REDIS_URL": redis_server.url}
        args = ["--data-dir", str(data_dir)]
        keys = {"access_key": access_key, "secret_key": secret_key}
        http = gateway_factory("http", extra_args=args, extra_env=env, **keys)
        https = gateway_factory("https", extra_args=args, extra_env=env, **keys)
        try:
            yield Pair(http, https)
        finally:
            http.stop()
            https.stop()


@dataclass(frozen=True)
class Site:
    """Where a recipe runs: set up through `writer`, checked through `reader` (the same
    gateway on SQLite; the other replica on PostgreSQL + Redis)."""

    writer: GatewayProcess
    reader: GatewayProcess


@pytest.fixture(scope="module", params=["sqlite", "postgres-replicas"])
def site(request: pytest.FixtureRequest, gateway_factory: GatewayFactory) -> Site:
    if request.param == "sqlite":
        gateway = gateway_factory("http")
        return Site(gateway, gateway)
    pair: Pair = request.getfixturevalue("pair")
    return Site(pair.http, pair.https)


@pytest.fixture
def s3(site: Site) -> Any:
    return boto3_client(site.writer)


@pytest.fixture
def fresh(s3: Any) -> Iterator[str]:
    name = unique_bucket_name("acc")
    s3.create_bucket(Bucket=name)
    yield name
    s3.delete_bucket_policy(Bucket=name)
    empty_and_delete_bucket(s3, name)


def test_aws_cli_public_bucket_by_policy_and_curl(
    site: Site, s3: Any, fresh: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=fresh, Key="site/index.html", Body=b"<h1>hi</h1>")
    assert curl(site.reader, f"/{fresh}/site/index.html")[0] == 403
    run_aws(
        site.writer, "s3api", "put-bucket-policy", "--bucket", fresh, "--policy", public_read(fresh)
    )
    assert curl(site.reader, f"/{fresh}/site/index.html") == (200, b"<h1>hi</h1>")
    status, listing = curl(site.reader, f"/{fresh}?list-type=2")
    assert status == 200 and b"<Key>site/index.html</Key>" in listing
    assert curl(site.reader, f"/{fresh}/nothing-here")[0] == 404  # may list: a real 404
    status, _ = curl(site.reader, f"/{fresh}/upload", "-X", "PUT", "--data-binary", "x")
    assert status == 403
    out = run_aws(site.writer, "s3api", "get-bucket-policy-status", "--bucket", fresh).stdout
    assert json.loads(out)["PolicyStatus"]["IsPublic"] is True


def test_aws_cli_public_access_block_refuses_a_public_policy(site: Site, fresh: str) -> None:
    block = (
        "BlockPublicAcls=true,IgnorePublicAcls=true,"
        "BlockPublicPolicy=true,RestrictPublicBuckets=true"
    )
    run_aws(
        site.writer,
        "s3api",
        "put-public-access-block",
        "--bucket",
        fresh,
        "--public-access-block-configuration",
        block,
    )
    failed = run_aws(
        site.writer,
        "s3api",
        "put-bucket-policy",
        "--bucket",
        fresh,
        "--policy",
        public_read(fresh),
        expect_failure=True,
    )
    assert "AccessDenied" in failed.stderr
    out = json.loads(
        run_aws(site.writer, "s3api", "get-public-access-block", "--bucket", fresh).stdout
    )
    assert out["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    run_aws(site.writer, "s3api", "delete-public-access-block", "--bucket", fresh)


def test_s3cmd_setpolicy_then_anonymous_get(
    site: Site, s3: Any, fresh: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=fresh, Key="pub/a.txt", Body=b"shared")
    policy = tmp_path / "policy.json"
    policy.write_text(public_read(fresh, "pub/"))
    run_s3cmd(site.writer, "setpolicy", str(policy), f"s3://{fresh}")
    assert curl(site.reader, f"/{fresh}/pub/a.txt") == (200, b"shared")
    run_s3cmd(site.writer, "delpolicy", f"s3://{fresh}")
    assert curl(site.reader, f"/{fresh}/pub/a.txt")[0] == 403


def test_cross_account_policy_with_the_other_accounts_aws_cli(
    site: Site, s3: Any, fresh: str, tmp_path: Path
) -> None:
    name = unique_bucket_name("acct")[:20]
    access, secret = site.writer.create_user(name)
    other = As(site.reader, access, secret)
    s3.put_object(Bucket=fresh, Key="in/a.txt", Body=b"for you")
    target = tmp_path / "a.txt"
    run_aws(other, "s3", "cp", f"s3://{fresh}/in/a.txt", str(target), expect_failure=True)
    s3.put_bucket_policy(
        Bucket=fresh,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"CanonicalUser": canonical_id(name)},
                        "Action": ["s3:GetObject", "s3:PutObject"],
                        "Resource": f"arn:aws:s3:::{fresh}/in/*",
                    }
                ],
            }
        ),
    )
    run_aws(other, "s3", "cp", f"s3://{fresh}/in/a.txt", str(target))
    assert target.read_bytes() == b"for you"
    run_aws(other, "s3", "cp", str(target), f"s3://{fresh}/in/back.txt")
    run_aws(other, "s3", "cp", str(target), f"s3://{fresh}/out.txt", expect_failure=True)
    run_aws(other, "s3", "ls", f"s3://{fresh}/", expect_failure=True)


# -- two replicas: PostgreSQL + Redis, one http and one https -------------------------------------


def test_policy_applies_on_every_replica_at_once(pair: Pair) -> None:
    a, b = boto3_client(pair.http), boto3_client(pair.https)
    bucket = unique_bucket_name("rep")
    a.create_bucket(Bucket=bucket)
    a.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert curl(pair.https, f"/{bucket}/k")[0] == 403  # read (and cached) on b first
    a.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket))
    assert curl(pair.https, f"/{bucket}/k") == (200, b"x")
    b.delete_bucket_policy(Bucket=bucket)
    assert curl(pair.http, f"/{bucket}/k")[0] == 403
    a.delete_object(Bucket=bucket, Key="k")
    a.delete_bucket(Bucket=bucket)


def test_a_policy_denying_plain_http(pair: Pair) -> None:
    a, b = boto3_client(pair.http), boto3_client(pair.https)
    bucket = unique_bucket_name("tls")
    b.create_bucket(Bucket=bucket)
    tls_only = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    b.put_bucket_policy(Bucket=bucket, Policy=json.dumps(tls_only))
    b.put_object(Bucket=bucket, Key="k", Body=b"over tls")
    assert b.get_object(Bucket=bucket, Key="k")["Body"].read() == b"over tls"
    with pytest.raises(ClientError) as info:
        a.get_object(Bucket=bucket, Key="k")
    assert info.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        a.put_object(Bucket=bucket, Key="k2", Body=b"plain")
    # The owner may still manage the policy over http (the lockout escape hatch).
    a.delete_bucket_policy(Bucket=bucket)
    a.delete_object(Bucket=bucket, Key="k")
    a.delete_bucket(Bucket=bucket)


# -- ACLs ----------------------------------------------------------------------------------------


def test_aws_cli_canned_acls_and_curl(site: Site, s3: Any, fresh: str, tmp_path: Path) -> None:
    s3.put_object(Bucket=fresh, Key="a.txt", Body=b"acl")
    assert curl(site.reader, f"/{fresh}")[0] == 403
    run_aws(site.writer, "s3api", "put-bucket-acl", "--bucket", fresh, "--acl", "public-read")
    status, listing = curl(site.reader, f"/{fresh}")
    assert status == 200 and b"<Key>a.txt</Key>" in listing
    assert curl(site.reader, f"/{fresh}/a.txt")[0] == 403  # the object's own ACL is private
    run_aws(
        site.writer, "s3api", "put-object-acl", "--bucket", fresh, "--key", "a.txt", "--acl",
        "public-read",
    )  # fmt: skip
    assert curl(site.reader, f"/{fresh}/a.txt") == (200, b"acl")
    grants = json.loads(
        run_aws(site.writer, "s3api", "get-object-acl", "--bucket", fresh, "--key", "a.txt").stdout
    )["Grants"]
    assert {g["Permission"] for g in grants} == {"FULL_CONTROL", "READ"}
    run_aws(site.writer, "s3api", "put-bucket-acl", "--bucket", fresh, "--acl", "private")
    assert curl(site.reader, f"/{fresh}")[0] == 403


def test_s3cmd_setacl_public_and_private(site: Site, s3: Any, fresh: str) -> None:
    s3.put_object(Bucket=fresh, Key="s.txt", Body=b"made public")
    run_s3cmd(site.writer, "setacl", "--acl-public", f"s3://{fresh}/s.txt")
    assert curl(site.reader, f"/{fresh}/s.txt") == (200, b"made public")
    run_s3cmd(site.writer, "setacl", "--acl-private", f"s3://{fresh}/s.txt")
    assert curl(site.reader, f"/{fresh}/s.txt")[0] == 403


def test_rclone_uploads_with_a_public_read_acl(site: Site, fresh: str, tmp_path: Path) -> None:
    source = tmp_path / "r.txt"
    source.write_bytes(b"via rclone")
    run_rclone(site.writer, "copyto", "--s3-acl", "public-read", str(source), f"kv:{fresh}/r.txt")
    assert curl(site.reader, f"/{fresh}/r.txt") == (200, b"via rclone")
    run_rclone(site.writer, "copyto", "--s3-acl", "private", str(source), f"kv:{fresh}/p.txt")
    assert curl(site.reader, f"/{fresh}/p.txt")[0] == 403


# -- IAM users: a read-only user and per-user home prefixes ----------------------------------------


def iam_user(site: Site, name: str, policy: dict[str, Any], tmp_path: Path) -> As:
    """An IAM user created through the writer (boto3's IAM client: aws-cli's own IAM calls
    are tested in test_iam_clients.py), acting with aws-cli through the reader."""
    gateway = site.writer
    iam = session(gateway, "iam", gateway.access_key, gateway.secret_key)
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="access", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return As(site.reader, key["AccessKeyId"], key["SecretAccessKey"])


def test_read_only_user(site: Site, s3: Any, fresh: str, tmp_path: Path) -> None:
    s3.put_object(Bucket=fresh, Key="doc.txt", Body=b"read me")
    reader = iam_user(
        site,
        f"reader-{fresh[-6:]}",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:ListBucket"],
                    "Resource": [f"arn:aws:s3:::{fresh}", f"arn:aws:s3:::{fresh}/*"],
                }
            ],
        },
        tmp_path,
    )
    target = tmp_path / "doc.txt"
    run_aws(reader, "s3", "cp", f"s3://{fresh}/doc.txt", str(target))
    assert target.read_bytes() == b"read me"
    assert "doc.txt" in run_aws(reader, "s3", "ls", f"s3://{fresh}/").stdout
    failed = run_aws(reader, "s3", "cp", str(target), f"s3://{fresh}/new.txt", expect_failure=True)
    assert "AccessDenied" in failed.stderr
    run_aws(reader, "s3", "rm", f"s3://{fresh}/doc.txt", expect_failure=True)
    run_aws(reader, "s3", "ls", expect_failure=True)  # no s3:ListAllMyBuckets


def test_users_limited_to_their_home_prefix(
    site: Site, s3: Any, fresh: str, tmp_path: Path
) -> None:
    home = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListOwnHome",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{fresh}",
                "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}},
            },
            {
                "Sid": "OwnHome",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": f"arn:aws:s3:::{fresh}/home/${{aws:username}}/*",
            },
        ],
    }
    suffix = fresh[-6:]
    alice = iam_user(site, f"alice-{suffix}", home, tmp_path)
    bob = iam_user(site, f"bob-{suffix}", home, tmp_path)
    note = tmp_path / "note.txt"
    note.write_bytes(b"alice's note")
    run_aws(alice, "s3", "cp", str(note), f"s3://{fresh}/home/alice-{suffix}/note.txt")
    listed = run_aws(alice, "s3", "ls", f"s3://{fresh}/home/alice-{suffix}/").stdout
    assert "note.txt" in listed
    run_aws(alice, "s3", "cp", str(note), f"s3://{fresh}/home/bob-{suffix}/x", expect_failure=True)
    run_aws(alice, "s3", "ls", f"s3://{fresh}/", expect_failure=True)
    got = tmp_path / "got.txt"
    run_aws(
        bob, "s3", "cp", f"s3://{fresh}/home/alice-{suffix}/note.txt", str(got), expect_failure=True
    )
    run_aws(bob, "s3", "ls", f"s3://{fresh}/home/alice-{suffix}/", expect_failure=True)
    assert s3.get_object(Bucket=fresh, Key=f"home/alice-{suffix}/note.txt")["Body"].read() == (
        b"alice's note"
    )


def test_deactivated_key_stops_on_the_other_replica_within_a_second(pair: Pair) -> None:
    import time

    admin = session(pair.http, "iam", pair.http.access_key, pair.http.secret_key)
    name = unique_bucket_name("deact")[:30]
    admin.create_user(UserName=name)
    admin.put_user_policy(
        UserName=name,
        PolicyName="s3",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    key = admin.create_access_key(UserName=name)["AccessKey"]
    user_on_b = session(pair.https, "s3", key["AccessKeyId"], key["SecretAccessKey"])
    user_on_b.list_buckets()
    admin.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    deadline = time.monotonic() + 1.0
    while True:
        try:
            user_on_b.list_buckets()
        except ClientError as error:
            assert error.response["Error"]["Code"] == "InvalidAccessKeyId"
            break
        assert time.monotonic() < deadline, "the key still works on the other replica"
        time.sleep(0.05)
    admin.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Active")
    user_on_b.list_buckets()
    admin.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError):
        user_on_b.list_buckets()


def session(gateway: GatewayProcess, service: str, access: str, secret: str) -> Any:
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config

    kwargs: dict[str, Any] = {}
    if gateway.ca_bundle is not None:
        kwargs["verify"] = str(gateway.ca_bundle)
    return boto3.session.Session(
        aws_access_key_id=access, aws_secret_access_key=secret, region_name=gateway.region
    ).client(
        service,
        endpoint_url=gateway.endpoint,
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        **kwargs,
    )
