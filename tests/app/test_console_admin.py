"""The console's administration on the real application: IAM calls the server signs for
the session's key and the browser posts to the IAM endpoint (authorized there as any
IAM call), and the admin API (accounts, their keys, quotas, usage), reached through the
console's session or SigV4-signed, refused to anyone but the root account's own keys."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, cast

from gateway.meta.outbox import outbox_of
from tests.app.conftest import AppFactory
from tests.app.server import AppServer
from tests.app.test_console import Answer, Console, clock, send, server, signed_in
from tests.browser.console_support import read_only_user
from tests.support.ports import free_port
from tests.support.share_api import api

__all__ = ["clock", "server"]  # fixtures, imported for pytest


def _iam(console: Console, action: str, **params: str) -> Answer:
    """Sign through the console, then post as iam.js does: that body, those headers."""
    answer = console.call("POST", "/iam", {"action": action, "params": params})
    assert answer.status == 200, answer.body
    signed = answer.json()
    body = signed["body"].encode()
    return send(console.server, signed["method"], signed["url"], body, signed["headers"])


def _put(console: Console, key: str, body: bytes, bucket: str) -> None:
    answer = console.call(
        "POST", "/presign", {"operation": "PutObject", "bucket": bucket, "key": key}
    )
    signed = answer.json()
    assert (
        send(console.server, signed["method"], signed["url"], body, signed["headers"]).status == 200
    )


def test_iam_calls_are_signed_for_the_session_and_validated_by_iam(server: AppServer) -> None:
    root = signed_in(server)
    name = f"u{uuid.uuid4().hex[:6]}"
    created = _iam(root, "CreateUser", UserName=name)
    assert created.status == 200 and f"<UserName>{name}</UserName>".encode() in created.body
    key = _iam(root, "CreateAccessKey", UserName=name)
    assert b"<SecretAccessKey>" in key.body
    access = key.body.split(b"<AccessKeyId>")[1].split(b"<")[0].decode()
    off = _iam(root, "UpdateAccessKey", UserName=name, AccessKeyId=access, Status="Inactive")
    assert off.status == 200
    assert b"<Status>Inactive</Status>" in _iam(root, "ListAccessKeys", UserName=name).body

    # A policy document of any length rides in the signed body; IAM validates it.
    bad = _iam(root, "CreatePolicy", PolicyName="bad", PolicyDocument='{"Statement": 1}')
    assert bad.status == 400 and b"MalformedPolicyDocument" in bad.body
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::b{i}/*"}
                for i in range(60)
            ],
        }
    )
    assert len(document) > 4000
    made = _iam(root, "CreatePolicy", PolicyName=f"p{name}", PolicyDocument=document)
    assert made.status == 200, made.body
    arn = made.body.split(b"<Arn>")[1].split(b"<")[0].decode()
    assert _iam(root, "AttachUserPolicy", UserName=name, PolicyArn=arn).status == 200
    attached = _iam(root, "ListAttachedUserPolicies", UserName=name)
    assert arn.encode() in attached.body

    # The signature binds the body: another body is refused by the IAM endpoint.
    signed = root.call("POST", "/iam", {"action": "GetUser", "params": {"UserName": name}}).json()
    forged = signed["body"].replace(name, "root").encode()
    refused = send(server, "POST", "/", forged, signed["headers"])
    assert refused.status == 403 and b"SignatureDoesNotMatch" in refused.body


def test_iam_signing_takes_iam_actions_only(server: AppServer) -> None:
    root = signed_in(server)
    for action in ("AssumeRole", "GetCallerIdentity", "Nope"):
        answer = root.call("POST", "/iam", {"action": action})
        assert (answer.status, answer.code) == (400, "InvalidArgument")
    answer = root.call("POST", "/iam", {"action": "ListUsers", "params": {"Action": "DeleteUser"}})
    assert (answer.status, answer.code) == (400, "InvalidArgument")


def test_non_admins_are_refused_admin_and_iam_actions(server: AppServer) -> None:
    root = signed_in(server)
    access, secret = read_only_user(server, "any-bucket")
    reader = Console(server)
    assert reader.sign_in(access, secret).status == 201
    assert reader.who["admin"] is False and reader.who["accountOwner"] is False
    assert root.who["admin"] is True and root.who["accountOwner"] is True
    # The IAM endpoint decides: the user's policies allow no iam:* action.
    denied = _iam(reader, "CreateUser", UserName="sneaky")
    assert denied.status == 403 and b"AccessDenied" in denied.body
    for method, path, payload in (
        ("GET", "/admin/accounts", None),
        ("POST", "/admin/accounts", {"name": "sneaky"}),
        ("GET", "/admin/usage", None),
        ("PUT", "/admin/quotas/bucket/any-bucket", {"maxBytes": 1}),
    ):
        answer = reader.call(method, path, payload)
        assert (answer.status, answer.code) == (403, "AccessDenied"), path
    # Signed with the same keys, the admin API itself refuses them too.
    signed = api(server.endpoint, "GET", "/_kv/admin/usage", keys=(access, secret))
    assert signed.status == 403 and signed.json()["error"]["code"] == "AccessDenied"
    assert api(server.endpoint, "GET", "/_kv/admin/usage", keys=None).status == 403


def test_accounts_and_their_keys(server: AppServer) -> None:
    root = signed_in(server)
    name = f"acct{uuid.uuid4().hex[:6]}"
    made = root.call("POST", "/admin/accounts", {"name": name, "email": f"{name}@example.com"})
    assert made.status == 201, made.body
    first = made.json()
    again = root.call("POST", "/admin/accounts", {"name": name})
    assert (again.status, again.code) == (409, "AccountAlreadyExists")
    assert root.call("POST", "/admin/accounts", {"name": "bad name"}).status == 400

    tenant = Console(server)
    assert tenant.sign_in(first["accessKey"], first["secretKey"]).status == 201
    assert tenant.who["admin"] is False and tenant.who["accountOwner"] is True
    assert tenant.call("GET", "/admin/accounts").status == 403

    second = root.call("POST", f"/admin/accounts/{name}/keys").json()
    listed = {a["name"]: a for a in root.call("GET", "/admin/accounts").json()["accounts"]}
    assert {k["accessKey"] for k in listed[name]["keys"]} == {
        first["accessKey"],
        second["accessKey"],
    }
    assert listed[name]["email"] == f"{name}@example.com" and listed["root"]["isRoot"]
    gone = root.call("DELETE", f"/admin/accounts/{name}/keys/{first['accessKey']}")
    assert gone.status == 200
    # The deleted key's session ends with it.
    assert tenant.call("GET", "/session").status == 401
    missing = root.call("DELETE", f"/admin/accounts/{name}/keys/{first['accessKey']}")
    assert (missing.status, missing.code) == (404, "NoSuchAccessKey")

    # Deactivated, a key is refused like an unknown one; activated, it works again.
    key_path = f"/admin/accounts/{name}/keys/{second['accessKey']}"
    assert root.call("PATCH", key_path, {"active": False}).json()["active"] is False
    owner = Console(server)
    assert owner.sign_in(second["accessKey"], second["secretKey"]).status == 403
    assert root.call("PATCH", key_path, {"active": "no"}).status == 400
    assert root.call("PATCH", key_path, {"active": True}).status == 200
    assert owner.sign_in(second["accessKey"], second["secretKey"]).status == 201
    root_key = f"/admin/accounts/root/keys/{server.access_key}"
    last = root.call("PATCH", root_key, {"active": False})
    assert (last.status, last.code) == (403, "AccessDenied")
    assert root.call("DELETE", root_key).status == 403
    bucket = f"own-{uuid.uuid4().hex[:6]}"
    create = owner.call("POST", "/presign", {"operation": "CreateBucket", "bucket": bucket}).json()
    assert send(server, create["method"], create["url"]).status == 200
    busy = root.call("DELETE", f"/admin/accounts/{name}")
    assert (busy.status, busy.code) == (409, "AccountNotEmpty")
    drop = owner.call("POST", "/presign", {"operation": "DeleteBucket", "bucket": bucket}).json()
    assert send(server, drop["method"], drop["url"]).status == 204
    assert root.call("DELETE", f"/admin/accounts/{name}").status == 200
    assert root.call("DELETE", f"/admin/accounts/{name}").code == "NoSuchAccount"
    assert root.call("DELETE", "/admin/accounts/root").status == 403


def _bucket(console: Console) -> str:
    bucket = f"use-{uuid.uuid4().hex[:8]}"
    signed = console.call("POST", "/presign", {"operation": "CreateBucket", "bucket": bucket})
    assert send(console.server, "PUT", signed.json()["url"]).status == 200
    return bucket


def test_quotas_are_set_shown_enforced_and_cleared(server: AppServer) -> None:
    root = signed_in(server)
    bucket = _bucket(root)
    path = f"/admin/quotas/bucket/{bucket}"
    assert root.call("GET", path).json() == {
        "scope": "bucket",
        "name": bucket,
        "quota": None,
        "objects": 0,
        "bytes": 0,
    }
    bad = root.call("PUT", path, {"maxBytes": -1})
    assert (bad.status, bad.code) == (400, "InvalidArgument")
    assert root.call("PUT", path, {"maxBytes": 10, "maxObjects": None}).status == 200
    _put(root, "a", b"12345678", bucket)
    shown = root.call("GET", path).json()
    assert shown["quota"] == {"maxBytes": 10, "maxObjects": None} and shown["bytes"] == 8
    signed = root.call("POST", "/presign", {"operation": "PutObject", "bucket": bucket, "key": "b"})
    over = send(server, "PUT", signed.json()["url"], b"12345")
    assert over.status == 403 and b"QuotaExceeded" in over.body
    assert root.call("DELETE", path).json()["quota"] is None
    _put(root, "b", b"12345", bucket)
    missing = root.call("GET", "/admin/quotas/bucket/no-such-bucket-here")
    assert (missing.status, missing.code) == (404, "NoSuchBucket")
    nobody = root.call("PUT", "/admin/quotas/account/nobody-here", {"maxBytes": 1})
    assert (nobody.status, nobody.code) == (404, "NoSuchAccount")


def test_usage_overview_per_bucket_and_account(server: AppServer) -> None:
    root = signed_in(server)
    bucket = _bucket(root)
    _put(root, "x", b"abc", bucket)
    _put(root, "y", b"defgh", bucket)
    assert root.call("PUT", "/admin/quotas/account/root", {"maxObjects": 1000}).status == 200
    usage: dict[str, Any] = root.call("GET", "/admin/usage").json()
    rows = {row["bucket"]: row for row in usage["buckets"]}
    assert rows[bucket] == {
        "bucket": bucket,
        "owner": "root",
        "objects": 2,
        "bytes": 8,
        "quota": None,
    }
    accounts = {row["account"]: row for row in usage["accounts"]}
    assert accounts["root"]["bytes"] >= 8
    assert accounts["root"]["quota"] == {"maxBytes": None, "maxObjects": 1000}
    # The same API SigV4-signed (botocore) with the administrator's keys.
    signed = api(
        server.endpoint, "GET", "/_kv/admin/usage", keys=(server.access_key, server.secret_key)
    )
    assert signed.status == 200 and bucket in {row["bucket"] for row in signed.json()["buckets"]}


@dataclass(frozen=True)
class _Listener:
    endpoint: str
    ssl_context: None = None


def test_console_listen_serves_the_console_apart(app_factory: AppFactory) -> None:
    port = free_port()
    server = app_factory(console_listen=f"127.0.0.1:{port}")
    try:
        # On the S3 listener /console/ is an S3 path like any other (no bucket "console").
        page = send(server, "GET", "/console/")
        assert page.status == 403 and b"<Code>AccessDenied</Code>" in page.body
        assert send(server, "POST", "/_kv/console/session", b"{}").status != 201
        # On the console's listener: its pages, its API, and the S3 requests it presigns.
        # (send() needs only an endpoint and a client TLS context of what it talks to)
        elsewhere = cast(AppServer, _Listener(f"http://127.0.0.1:{port}"))
        console = Console(elsewhere)
        assert send(elsewhere, "GET", "/console/").body.startswith(b"<!doctype html>")
        assert console.sign_in(server.access_key, server.secret_key).status == 201
        signed = console.call("POST", "/presign", {"operation": "ListBuckets"}).json()
        listed = send(elsewhere, "GET", signed["url"])
        assert listed.status == 200 and b"<ListAllMyBucketsResult" in listed.body
    finally:
        server.stop()


def test_targets_are_named_for_notification_settings(server: AppServer) -> None:
    root = signed_in(server)
    outbox = outbox_of(server.services.meta)
    server.call(outbox.put_event_target("audit-hook", "http://user:pw@127.0.0.1:9/", "{}", 0.0))
    known = root.call("GET", "/targets").json()
    assert known["targets"] == ["audit-hook"] and "pw" not in json.dumps(known)
    arn = f"arn:kloudvault:sqs:{known['region']}:{known['accountId']}:audit-hook"
    bucket = _bucket(root)
    document = (
        "<NotificationConfiguration><QueueConfiguration><Queue>"
        f"{arn}</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration>"
        "</NotificationConfiguration>"
    ).encode()
    fields = {"operation": "PutBucketNotificationConfiguration", "bucket": bucket}
    put = root.call("POST", "/presign", fields).json()
    assert send(server, "PUT", put["url"], document).status == 200
    fields["operation"] = "GetBucketNotificationConfiguration"
    got = root.call("POST", "/presign", fields).json()
    assert arn.encode() in send(server, "GET", got["url"]).body
