"""Authorization through dispatch: bucket policies, ACLs, public access blocks, anonymous
callers and other accounts, on the real application.

The bucket's access documents are written straight into the store here (the operations
that write them have their own tests); the process's access cache is told, as the
operations' own requests tell it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from auth.credentials import account_id, canonical_id
from auth.policy.acl import acl_to_json, canned_acl
from auth.policy.public import PublicAccessBlock
from tests.app.server import AppServer
from tests.support.clients import boto3_client


def code_of(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def set_config(gateway: AppServer, bucket: str, name: str, document: str | None) -> None:
    gateway.call(gateway.services.meta.put_bucket_config(bucket, name, document))
    gateway.services.access_cache.forget(bucket)


def set_policy(gateway: AppServer, bucket: str, *statements: dict[str, Any]) -> None:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    set_config(gateway, bucket, "policy", json.dumps(document))


def anonymous(
    gateway: AppServer, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(
        gateway.endpoint + path, method=method, headers=headers or {}, data=None
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def other(gateway: AppServer) -> tuple[str, Any]:
    """Another account and a boto3 client acting as it."""
    name = f"acct{uuid.uuid4().hex[:10]}"
    access, secret = gateway.create_user(name)
    return name, boto3_client(gateway, access_key=access, secret_key=secret)


def test_public_read_policy_lets_anonymous_get_but_not_list_or_put(
    gateway: AppServer, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="pub/a.txt", Body=b"hello")
    assert anonymous(gateway, "GET", f"/{bucket}/pub/a.txt")[0] == 403
    set_policy(
        gateway,
        bucket,
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/pub/*",
        },
    )
    assert anonymous(gateway, "GET", f"/{bucket}/pub/a.txt") == (200, b"hello")
    assert anonymous(gateway, "HEAD", f"/{bucket}/pub/a.txt")[0] == 200
    status, body = anonymous(gateway, "GET", f"/{bucket}?list-type=2")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    assert anonymous(gateway, "PUT", f"/{bucket}/pub/b.txt")[0] == 403
    # Without s3:ListBucket a missing key is AccessDenied, so keys cannot be probed.
    assert anonymous(gateway, "GET", f"/{bucket}/pub/missing")[0] == 403
    assert anonymous(gateway, "HEAD", f"/{bucket}/pub/missing")[0] == 403


def test_missing_key_is_404_for_callers_who_may_list(
    gateway: AppServer, s3: Any, bucket: str
) -> None:
    set_policy(
        gateway,
        bucket,
        {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        },
    )
    assert anonymous(gateway, "GET", f"/{bucket}/missing")[0] == 404
    assert anonymous(gateway, "HEAD", f"/{bucket}/missing")[0] == 404
    status, body = anonymous(gateway, "GET", f"/{bucket}?list-type=2")
    assert status == 200 and b"<ListBucketResult" in body


def test_public_read_acl_and_ignore_public_acls(gateway: AppServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    owner = canonical_id("root")
    set_config(gateway, bucket, "acl", acl_to_json(canned_acl("public-read", owner)))
    status, body = anonymous(gateway, "GET", f"/{bucket}")
    assert status == 200 and b"<Key>k</Key>" in body
    # A bucket ACL's READ is listing; reading the object needs the object's own ACL.
    assert anonymous(gateway, "GET", f"/{bucket}/k")[0] == 403
    set_config(
        gateway,
        bucket,
        "public-access-block",
        PublicAccessBlock(ignore_public_acls=True).to_json(),
    )
    assert anonymous(gateway, "GET", f"/{bucket}")[0] == 403
    set_config(gateway, bucket, "public-access-block", None)
    set_config(gateway, bucket, "ownership", "BucketOwnerEnforced")
    assert anonymous(gateway, "GET", f"/{bucket}")[0] == 403


def test_public_read_write_acl_lets_anonymous_put(gateway: AppServer, s3: Any, bucket: str) -> None:
    owner = canonical_id("root")
    set_config(gateway, bucket, "acl", acl_to_json(canned_acl("public-read-write", owner)))
    request = urllib.request.Request(
        f"{gateway.endpoint}/{bucket}/dropped", method="PUT", data=b"from anyone"
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 200
    assert s3.get_object(Bucket=bucket, Key="dropped")["Body"].read() == b"from anyone"


def test_restrict_public_buckets_ignores_a_public_policy(
    gateway: AppServer, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    set_policy(
        gateway,
        bucket,
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
        },
    )
    assert anonymous(gateway, "GET", f"/{bucket}/k")[0] == 200
    block = PublicAccessBlock(restrict_public_buckets=True)
    set_config(gateway, bucket, "public-access-block", block.to_json())
    assert anonymous(gateway, "GET", f"/{bucket}/k")[0] == 403
    s3.get_object(Bucket=bucket, Key="k")  # the owner is not an outsider


def test_cross_account_grant_by_policy(
    gateway: AppServer, s3: Any, bucket: str, other: tuple[str, Any]
) -> None:
    name, client = other
    s3.put_object(Bucket=bucket, Key="shared/a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="private/b", Body=b"b")
    with pytest.raises(ClientError) as info:
        client.get_object(Bucket=bucket, Key="shared/a")
    assert code_of(info) == "AccessDenied"
    set_policy(
        gateway,
        bucket,
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id(name)}:root"},
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"arn:aws:s3:::{bucket}/shared/*",
        },
    )
    assert client.get_object(Bucket=bucket, Key="shared/a")["Body"].read() == b"a"
    client.put_object(Bucket=bucket, Key="shared/c", Body=b"c")
    calls: list[Callable[[], Any]] = [
        lambda: client.get_object(Bucket=bucket, Key="private/b"),
        lambda: client.put_object(Bucket=bucket, Key="private/x", Body=b"x"),
        lambda: client.list_objects_v2(Bucket=bucket),
        lambda: client.delete_object(Bucket=bucket, Key="shared/a"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as info:
            call()
        assert code_of(info) == "AccessDenied"


def test_cross_account_grant_by_canonical_id_in_an_acl(
    gateway: AppServer, s3: Any, bucket: str, other: tuple[str, Any]
) -> None:
    name, client = other
    from auth.policy.acl import Acl, Grant, Grantee, GranteeType, Permission

    owner = canonical_id("root")
    grants = canned_acl("private", owner).grants + (
        Grant(Grantee(GranteeType.CANONICAL_USER, canonical_id(name)), Permission.READ),
    )
    set_config(gateway, bucket, "acl", acl_to_json(Acl(owner, grants)))
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["k"]
    with pytest.raises(ClientError) as info:
        client.put_object(Bucket=bucket, Key="k2", Body=b"x")
    assert code_of(info) == "AccessDenied"


def test_explicit_deny_binds_the_owner_too(gateway: AppServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="keep", Body=b"x")
    set_policy(
        gateway,
        bucket,
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:DeleteObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
        },
    )
    with pytest.raises(ClientError) as info:
        s3.delete_object(Bucket=bucket, Key="keep")
    assert code_of(info) == "AccessDenied"
    # DeleteObjects answers per key.
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "keep"}]})
    assert [e["Code"] for e in result["Errors"]] == ["AccessDenied"]
    set_config(gateway, bucket, "policy", None)


def test_delete_objects_is_authorized_per_key(
    gateway: AppServer, s3: Any, bucket: str, other: tuple[str, Any]
) -> None:
    name, client = other
    for key in ("tmp/a", "keep/b"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    set_policy(
        gateway,
        bucket,
        {
            "Effect": "Allow",
            "Principal": {"AWS": account_id(name)},
            "Action": "s3:DeleteObject",
            "Resource": f"arn:aws:s3:::{bucket}/tmp/*",
        },
    )
    result = client.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "tmp/a"}, {"Key": "keep/b"}]}
    )
    assert [d["Key"] for d in result["Deleted"]] == ["tmp/a"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("keep/b", "AccessDenied")]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["keep/b"]


def test_secure_transport_condition(gateway: AppServer, s3: Any, bucket: str) -> None:
    set_policy(
        gateway,
        bucket,
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )
    with pytest.raises(ClientError) as info:
        s3.list_objects_v2(Bucket=bucket)
    assert code_of(info) == "AccessDenied"
    set_config(gateway, bucket, "policy", None)


def test_forwarded_for_is_believed_only_from_trusted_proxies(
    app_factory: Any, tmp_path: Any
) -> None:
    def policy_for(bucket: str) -> dict[str, Any]:
        return {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        }

    forged = {"X-Forwarded-For": "203.0.113.9"}
    for trusted, expected in ((None, 403), ("127.0.0.0/8", 200)):
        server = app_factory(backend="memory", trusted_proxies=trusted)
        client = boto3_client(server)
        client.create_bucket(Bucket="ipb")
        client.put_object(Bucket="ipb", Key="k", Body=b"x")
        set_policy(server, "ipb", policy_for("ipb"))
        assert anonymous(server, "GET", "/ipb/k", forged)[0] == expected
        assert anonymous(server, "GET", "/ipb/k")[0] == 403
        server.stop()


def test_existing_accounts_keep_their_rights(
    gateway: AppServer, s3: Any, bucket: str, other: tuple[str, Any]
) -> None:
    """The migration's promise: an account does everything in its own buckets, root
    everything everywhere, nobody else anything, with no policy or ACL written."""
    name, client = other
    mine = f"{bucket}-o"
    client.create_bucket(Bucket=mine)
    client.put_object(Bucket=mine, Key="k", Body=b"x")
    client.put_bucket_tagging(Bucket=mine, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    assert s3.get_object(Bucket=mine, Key="k")["Body"].read() == b"x"  # root: the admin
    with pytest.raises(ClientError):
        client.get_object(Bucket=bucket, Key="nothing")
    s3.delete_object(Bucket=mine, Key="k")
    s3.delete_bucket(Bucket=mine)


def test_owner_can_always_remove_a_policy_that_locks_everyone_out(
    gateway: AppServer, s3: Any, bucket: str
) -> None:
    locked = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(locked))
    with pytest.raises(ClientError) as info:
        s3.list_objects_v2(Bucket=bucket)
    assert code_of(info) == "AccessDenied"
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == locked
    s3.delete_bucket_policy(Bucket=bucket)
    s3.list_objects_v2(Bucket=bucket)


def test_policy_written_through_the_api_applies_at_once(
    gateway: AppServer, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    public = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    assert anonymous(gateway, "GET", f"/{bucket}/k")[0] == 403  # cached as private
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public))
    assert anonymous(gateway, "GET", f"/{bucket}/k")[0] == 200
    s3.delete_bucket_policy(Bucket=bucket)
    assert anonymous(gateway, "GET", f"/{bucket}/k")[0] == 403


def test_object_tag_conditions(
    gateway: AppServer, s3: Any, bucket: str, other: tuple[str, Any]
) -> None:
    name, client = other
    s3.put_object(Bucket=bucket, Key="open", Body=b"o", Tagging="share=yes")
    s3.put_object(Bucket=bucket, Key="closed", Body=b"c", Tagging="share=no")
    principal = {"AWS": account_id(name)}
    set_policy(
        gateway,
        bucket,
        {
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"StringEquals": {"s3:ExistingObjectTag/share": "yes"}},
        },
        {
            "Effect": "Allow",
            "Principal": principal,
            # A tagged write needs s3:PutObjectTagging too, as on AWS.
            "Action": ["s3:PutObject", "s3:PutObjectTagging"],
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"StringEquals": {"s3:RequestObjectTag/team": "blue"}},
        },
    )
    assert client.get_object(Bucket=bucket, Key="open")["Body"].read() == b"o"
    with pytest.raises(ClientError) as info:
        client.get_object(Bucket=bucket, Key="closed")
    assert code_of(info) == "AccessDenied"
    client.put_object(Bucket=bucket, Key="new", Body=b"n", Tagging="team=blue")
    with pytest.raises(ClientError) as info:
        client.put_object(Bucket=bucket, Key="new2", Body=b"n", Tagging="team=red")
    assert code_of(info) == "AccessDenied"
    with pytest.raises(ClientError) as info:
        client.put_object(Bucket=bucket, Key="new3", Body=b"n")
    assert code_of(info) == "AccessDenied"
