from __future__ import annotations

import pytest

from auth.policy.actions import (
    ACTIONS,
    RequiredAction,
    ResourceKind,
    copy_source,
    required_actions,
)
from auth.policy.s3_actions import S3_ACTIONS
from gateway.routing import ROUTES

R = RequiredAction
BKT, OBJ = "arn:aws:s3:::b", "arn:aws:s3:::b/k"


def test_every_routed_operation_has_an_action() -> None:
    missing = sorted({r.operation for r in ROUTES} - set(ACTIONS))
    assert missing == []


def test_every_action_is_a_known_s3_action() -> None:
    for rule in ACTIONS.values():
        assert rule.action.lower() in S3_ACTIONS, rule.action
        if rule.version_action:
            assert rule.version_action.lower() in S3_ACTIONS, rule.version_action


def test_table_agrees_with_the_route_table_actions() -> None:
    # The route rows carry today's action; the table is the richer source and must agree.
    for route in ROUTES:
        assert ACTIONS[route.operation].action == route.action, route.operation


# (operation, bucket, key, versionId, headers) -> required actions
CASES: list[tuple[str, str | None, str | None, str | None, dict[str, str], tuple[R, ...]]] = [
    ("ListBuckets", None, None, None, {}, (R("s3:ListAllMyBuckets", "*"),)),
    ("CreateBucket", "b", None, None, {}, (R("s3:CreateBucket", BKT),)),
    (
        "CreateBucket",
        "b",
        None,
        None,
        {"x-amz-acl": "public-read", "x-amz-bucket-object-lock-enabled": "True"},
        (
            R("s3:CreateBucket", BKT),
            R("s3:PutBucketAcl", BKT),
            R("s3:PutBucketObjectLockConfiguration", BKT),
            R("s3:PutBucketVersioning", BKT),
        ),
    ),
    (
        "CreateBucket",
        "b",
        None,
        None,
        {"x-amz-object-ownership": "BucketOwnerEnforced"},
        (R("s3:CreateBucket", BKT), R("s3:PutBucketOwnershipControls", BKT)),
    ),
    ("HeadBucket", "b", None, None, {}, (R("s3:ListBucket", BKT),)),
    ("ListObjectsV2", "b", None, None, {}, (R("s3:ListBucket", BKT),)),
    ("ListObjectVersions", "b", None, None, {}, (R("s3:ListBucketVersions", BKT),)),
    ("DeleteBucketTagging", "b", None, None, {}, (R("s3:PutBucketTagging", BKT),)),
    ("DeleteBucketLifecycle", "b", None, None, {}, (R("s3:PutLifecycleConfiguration", BKT),)),
    ("GetBucketPolicyStatus", "b", None, None, {}, (R("s3:GetBucketPolicyStatus", BKT),)),
    ("DeletePublicAccessBlock", "b", None, None, {}, (R("s3:PutBucketPublicAccessBlock", BKT),)),
    ("GetObject", "b", "k", None, {}, (R("s3:GetObject", OBJ),)),
    ("GetObject", "b", "k", "v1", {}, (R("s3:GetObjectVersion", OBJ),)),
    ("HeadObject", "b", "k", "v1", {}, (R("s3:GetObjectVersion", OBJ),)),
    ("DeleteObject", "b", "k", None, {}, (R("s3:DeleteObject", OBJ),)),
    ("DeleteObject", "b", "k", "v1", {}, (R("s3:DeleteObjectVersion", OBJ),)),
    (
        "DeleteObject",
        "b",
        "k",
        "v1",
        {"x-amz-bypass-governance-retention": "true"},
        (R("s3:DeleteObjectVersion", OBJ), R("s3:BypassGovernanceRetention", OBJ)),
    ),
    (
        "PutObjectRetention",
        "b",
        "k",
        None,
        {"x-amz-bypass-governance-retention": "TRUE"},
        (R("s3:PutObjectRetention", OBJ), R("s3:BypassGovernanceRetention", OBJ)),
    ),
    ("GetObjectAcl", "b", "k", "v1", {}, (R("s3:GetObjectVersionAcl", OBJ),)),
    ("PutObjectAcl", "b", "k", None, {}, (R("s3:PutObjectAcl", OBJ),)),
    ("GetObjectTagging", "b", "k", "v1", {}, (R("s3:GetObjectVersionTagging", OBJ),)),
    ("PutObjectTagging", "b", "k", "v1", {}, (R("s3:PutObjectVersionTagging", OBJ),)),
    ("DeleteObjectTagging", "b", "k", "v1", {}, (R("s3:DeleteObjectVersionTagging", OBJ),)),
    ("GetObjectAttributes", "b", "k", "v1", {}, (R("s3:GetObjectVersionAttributes", OBJ),)),
    ("GetObjectRetention", "b", "k", "v1", {}, (R("s3:GetObjectRetention", OBJ),)),
    ("PutObject", "b", "k", None, {}, (R("s3:PutObject", OBJ),)),
    (
        "PutObject",
        "b",
        "k",
        None,
        {
            "x-amz-grant-read": 'uri="http://acs.amazonaws.com/groups/global/AllUsers"',
            "x-amz-tagging": "a=b",
            "x-amz-object-lock-mode": "GOVERNANCE",
            "x-amz-object-lock-legal-hold": "ON",
        },
        (
            R("s3:PutObject", OBJ),
            R("s3:PutObjectAcl", OBJ),
            R("s3:PutObjectTagging", OBJ),
            R("s3:PutObjectRetention", OBJ),
            R("s3:PutObjectLegalHold", OBJ),
        ),
    ),
    (
        "CreateMultipartUpload",
        "b",
        "k",
        None,
        {"x-amz-acl": "private"},
        (R("s3:PutObject", OBJ), R("s3:PutObjectAcl", OBJ)),
    ),
    ("UploadPart", "b", "k", None, {}, (R("s3:PutObject", OBJ),)),
    ("CompleteMultipartUpload", "b", "k", None, {}, (R("s3:PutObject", OBJ),)),
    ("AbortMultipartUpload", "b", "k", None, {}, (R("s3:AbortMultipartUpload", OBJ),)),
    ("ListParts", "b", "k", None, {}, (R("s3:ListMultipartUploadParts", OBJ),)),
    (
        "CopyObject",
        "b",
        "k",
        None,
        {"x-amz-copy-source": "/src/a%20b.txt"},
        (R("s3:PutObject", OBJ), R("s3:GetObject", "arn:aws:s3:::src/a b.txt")),
    ),
    (
        "CopyObject",
        "b",
        "k",
        None,
        {"x-amz-copy-source": "src/x?versionId=v9"},
        (R("s3:PutObject", OBJ), R("s3:GetObjectVersion", "arn:aws:s3:::src/x")),
    ),
    (
        "UploadPartCopy",
        "b",
        "k",
        None,
        {"x-amz-copy-source": "src/x"},
        (R("s3:PutObject", OBJ), R("s3:GetObject", "arn:aws:s3:::src/x")),
    ),
]


@pytest.mark.parametrize(("operation", "bucket", "key", "version", "headers", "expected"), CASES)
def test_required_actions(
    operation: str,
    bucket: str | None,
    key: str | None,
    version: str | None,
    headers: dict[str, str],
    expected: tuple[R, ...],
) -> None:
    got = required_actions(operation, bucket, key, version_id=version, headers=headers)
    assert got == expected


def test_delete_objects_is_authorized_per_key() -> None:
    assert ACTIONS["DeleteObjects"].resource is ResourceKind.PER_KEY
    got = required_actions("DeleteObjects", "b", keys=[("a", None), ("c", "v1")])
    assert got == (
        R("s3:DeleteObject", "arn:aws:s3:::b/a"),
        R("s3:DeleteObjectVersion", "arn:aws:s3:::b/c"),
    )


def test_unknown_operation_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        required_actions("FlyToTheMoon", "b")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("/b/k", ("b", "k", None)),
        ("b/dir/k", ("b", "dir/k", None)),
        ("/b/k%3Fq?versionId=v1", ("b", "k?q", "v1")),
        ("/b", None),
        ("/b/", None),
        ("", None),
    ],
)
def test_copy_source(header: str, expected: tuple[str, str, str | None] | None) -> None:
    assert copy_source(header) == expected
