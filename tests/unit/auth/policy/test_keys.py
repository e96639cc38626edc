from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest

from auth.policy.context import PolicyContext, Requester
from auth.policy.keys import is_known_s3_key, request_keys, source_ip

NOW = datetime(2026, 12, 2, 16, 0, 0, tzinfo=UTC)


def test_request_keys_from_headers_and_query() -> None:
    keys = request_keys(
        now=NOW,
        source_ip="192.0.2.1",
        secure=True,
        headers={
            "referer": "https://example.com/",
            "user-agent": "aws-cli/2",
            "x-amz-acl": "public-read",
            "x-amz-grant-read": "id=abc",
            "x-amz-copy-source": "/src/a%20b?versionId=v1",
            "x-amz-metadata-directive": "REPLACE",
            "x-amz-server-side-encryption": "aws:kms",
            "x-amz-server-side-encryption-aws-kms-key-id": "key-1",
            "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
            "x-amz-object-lock-mode": "GOVERNANCE",
            "x-amz-object-lock-retain-until-date": "2026-12-12T12:00:00Z",
            "x-amz-object-lock-legal-hold": "ON",
        },
        query={"prefix": "home/", "delimiter": "/", "max-keys": "10"},
        signature_version="AWS4-HMAC-SHA256",
        auth_type="REST-HEADER",
        version_id="v7",
        existing_tags={"Project": "x"},
        request_tags={"team": "a", "env": "b"},
        list_keys=True,
    )
    assert keys == {
        "aws:securetransport": ("true",),
        "aws:currenttime": ("2026-12-02T16:00:00Z",),
        "aws:epochtime": ("1796227200",),
        "aws:sourceip": ("192.0.2.1",),
        "aws:referer": ("https://example.com/",),
        "aws:useragent": ("aws-cli/2",),
        "s3:x-amz-acl": ("public-read",),
        "s3:x-amz-grant-read": ("id=abc",),
        "s3:x-amz-copy-source": ("src/a b",),
        "s3:x-amz-metadata-directive": ("REPLACE",),
        "s3:x-amz-server-side-encryption": ("aws:kms",),
        "s3:x-amz-server-side-encryption-aws-kms-key-id": ("key-1",),
        "s3:x-amz-content-sha256": ("UNSIGNED-PAYLOAD",),
        "s3:prefix": ("home/",),
        "s3:delimiter": ("/",),
        "s3:max-keys": ("10",),
        "s3:signatureversion": ("AWS4-HMAC-SHA256",),
        "s3:authtype": ("REST-HEADER",),
        "s3:versionid": ("v7",),
        "s3:existingobjecttag/Project": ("x",),
        "s3:requestobjecttag/team": ("a",),
        "s3:requestobjecttag/env": ("b",),
        "s3:requestobjecttagkeys": ("team", "env"),
        "s3:object-lock-mode": ("GOVERNANCE",),
        "s3:object-lock-legal-hold": ("ON",),
        "s3:object-lock-retain-until-date": ("2026-12-12T12:00:00Z",),
        "s3:object-lock-remaining-retention-days": ("10",),
    }


def test_minimal_request_keys() -> None:
    keys = request_keys(now=NOW, source_ip=None, secure=False, headers={}, query={"prefix": "p"})
    assert keys == {
        "aws:securetransport": ("false",),
        "aws:currenttime": ("2026-12-02T16:00:00Z",),
        "aws:epochtime": ("1796227200",),
    }


def test_lock_arguments_override_headers_and_days_round_up() -> None:
    keys = request_keys(
        now=NOW,
        source_ip=None,
        secure=True,
        headers={"x-amz-object-lock-mode": "GOVERNANCE"},
        query={},
        lock_mode="COMPLIANCE",
        lock_retain_until=datetime(2026, 12, 3, 17, 0, tzinfo=UTC),
        legal_hold="OFF",
    )
    assert keys["s3:object-lock-mode"] == ("COMPLIANCE",)
    assert keys["s3:object-lock-legal-hold"] == ("OFF",)
    assert keys["s3:object-lock-remaining-retention-days"] == ("2",)


def test_malformed_retain_until_header_is_left_to_the_handler() -> None:
    headers = {"x-amz-object-lock-retain-until-date": "tomorrow"}
    keys = request_keys(now=NOW, source_ip=None, secure=True, headers=headers, query={})
    assert "s3:object-lock-retain-until-date" not in keys


def test_principal_keys_come_from_the_requester() -> None:
    user = Requester.user("111", "c1", "alice", "AIDA1", path="/eng/")
    context = PolicyContext(user, "s3:GetObject", "*", "111", {"AWS:USERNAME": ("mallory",)})
    assert context.values("aws:username") == ("alice",)
    assert context.values("aws:userid") == ("AIDA1",)
    assert context.values("aws:PrincipalType") == ("User",)
    assert context.values("aws:PrincipalArn") == ("arn:aws:iam::111:user/eng/alice",)
    account = PolicyContext(Requester.account("111", "c1"), "s3:GetObject", "*")
    assert account.values("aws:userid") == ("111",)
    assert account.values("aws:username") is None
    assert account.values("aws:PrincipalType") == ("Account",)
    assert account.values("aws:PrincipalArn") == ("arn:aws:iam::111:root",)
    anonymous = PolicyContext(Requester.anonymous(), "s3:GetObject", "*")
    assert anonymous.values("aws:userid") == ("anonymous",)
    assert anonymous.values("aws:PrincipalType") == ("Anonymous",)
    assert anonymous.single("aws:PrincipalArn") is None


def test_key_lookup_is_case_insensitive_tag_keys_included() -> None:
    context = PolicyContext(
        Requester.anonymous(), "s3:GetObject", "*", None, {"S3:ExistingObjectTag/Env": ("p",)}
    )
    assert context.values("s3:existingobjecttag/Env") == ("p",)
    assert context.values("s3:ExistingObjectTag/ENV") == ("p",)
    multi = PolicyContext(Requester.anonymous(), "a", "*", None, {"k:x": ("1", "2")})
    assert multi.single("k:x") is None


def test_known_s3_keys() -> None:
    assert is_known_s3_key("s3:x-amz-grant-full-control")
    assert is_known_s3_key("S3:RequestObjectTag/Anything")
    assert is_known_s3_key("s3:object-lock-remaining-retention-days")
    assert not is_known_s3_key("s3:favourite-colour")


TRUSTED = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")]


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("198.51.100.7", None, "198.51.100.7"),
        ("198.51.100.7", "1.2.3.4", "198.51.100.7"),  # untrusted peer: header ignored
        ("10.0.0.1", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.1", "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # forged left entry unreached
        ("10.0.0.1", "203.0.113.9, 10.0.0.2", "203.0.113.9"),  # two trusted hops
        ("10.0.0.1", "10.0.0.3, 10.0.0.2", "10.0.0.3"),  # all trusted: the leftmost
        ("10.0.0.1", "garbage", "10.0.0.1"),
        ("10.0.0.1", "", "10.0.0.1"),
        ("fd00::1", "2001:db8::5", "2001:db8::5"),
        ("10.0.0.1", "[2001:db8::5]:4711", "2001:db8::5"),
        ("10.0.0.1", "203.0.113.9:4711", "203.0.113.9"),
        ("unix-socket", "203.0.113.9", "unix-socket"),
    ],
)
def test_source_ip(peer: str, forwarded: str | None, expected: str) -> None:
    assert source_ip(peer, forwarded, TRUSTED) == expected


def test_tls_version_key() -> None:
    keys = request_keys(
        now=NOW, source_ip=None, secure=True, headers={}, query={}, tls_version="1.3"
    )
    assert keys["s3:tlsversion"] == ("1.3",)
