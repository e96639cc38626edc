"""ACLs: GetBucketAcl, PutBucketAcl, GetObjectAcl, PutObjectAcl, the ACL headers of writes
(PutObject, CopyObject, CreateMultipartUpload, CreateBucket), and the refusals of Object
Ownership and BlockPublicAcls (gateway/request_acl.py).

boto3 on the shared server for what an SDK sends; the raw client (tests/app/client.py) for
requests no SDK builds (a body with ACL headers, neither). A second account, its e-mail
address, and the bucket configs the other operations would set are written through the
server's MetaStore.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from auth.credentials import canonical_id
from auth.policy.acl import ALL_USERS, AUTHENTICATED_USERS
from auth.policy.public import PublicAccessBlock
from tests.app.client import SignedClient
from tests.app.server import AppServer
from tests.app.test_access import anonymous
from tests.app.test_buckets import code_of, status_of
from tests.support.clients import boto3_client, empty_and_delete_bucket

ROOT = canonical_id("root")
OWNER = {"ID": ROOT, "DisplayName": "root"}
ROOT_FULL = {
    "Grantee": {"ID": ROOT, "DisplayName": "root", "Type": "CanonicalUser"},
    "Permission": "FULL_CONTROL",
}
PUBLIC_READ = {"Grantee": {"URI": ALL_USERS, "Type": "Group"}, "Permission": "READ"}


def _acl(s3: Any, bucket: str, key: str | None = None, **kw: Any) -> dict[str, Any]:
    got = (
        s3.get_bucket_acl(Bucket=bucket)
        if key is None
        else s3.get_object_acl(Bucket=bucket, Key=key, **kw)
    )
    return {"Owner": got["Owner"], "Grants": got["Grants"]}


def _account(gateway: AppServer, name: str, email: str | None = None) -> str:
    """A second account (with an e-mail address); its canonical id."""
    gateway.create_user(name)
    if email is not None:
        assert gateway.call(gateway.services.meta.set_user_email(name, email))
    return canonical_id(name)


def _config(gateway: AppServer, bucket: str, name: str, document: str) -> None:
    gateway.call(gateway.services.meta.put_bucket_config(bucket, name, document))
    gateway.services.access_cache.forget(bucket)


# -- object ACLs ---------------------------------------------------------------------------------


def test_new_object_is_private(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert _acl(s3, bucket, "k") == {"Owner": OWNER, "Grants": [ROOT_FULL]}


def test_put_object_public_read_header(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
    assert _acl(s3, bucket, "k") == {"Owner": OWNER, "Grants": [ROOT_FULL, PUBLIC_READ]}


def test_put_object_grant_headers(gateway: AppServer, s3: Any, bucket: str) -> None:
    other = _account(gateway, f"g{bucket[-10:]}")
    s3.put_object(
        Bucket=bucket,
        Key="k",
        Body=b"x",
        GrantRead=f'uri="{AUTHENTICATED_USERS}", id="{other}"',
        GrantWriteACP=f"id={ROOT}",
    )
    grants = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    # Exactly what the headers say: no implicit owner grant.
    assert [(g["Grantee"].get("URI") or g["Grantee"]["ID"], g["Permission"]) for g in grants] == [
        (AUTHENTICATED_USERS, "READ"),
        (other, "READ"),
        (ROOT, "WRITE_ACP"),
    ]
    assert grants[1]["Grantee"]["DisplayName"] == f"g{bucket[-10:]}"


def test_put_object_acl_canned_and_back(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="public-read")
    assert _acl(s3, bucket, "k")["Grants"] == [ROOT_FULL, PUBLIC_READ]
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")
    assert _acl(s3, bucket, "k")["Grants"] == [ROOT_FULL]
    # The object itself is untouched.
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_put_object_acl_xml_round_trip(gateway: AppServer, s3: Any, bucket: str) -> None:
    other = _account(gateway, f"x{bucket[-10:]}")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    policy = _acl(s3, bucket, "k")
    policy["Grants"] += [
        PUBLIC_READ,
        {"Grantee": {"ID": other, "Type": "CanonicalUser"}, "Permission": "WRITE_ACP"},
    ]
    s3.put_object_acl(Bucket=bucket, Key="k", AccessControlPolicy=policy)
    got = _acl(s3, bucket, "k")
    policy["Grants"][2]["Grantee"]["DisplayName"] = f"x{bucket[-10:]}"
    assert got == policy


def test_grant_by_email(gateway: AppServer, s3: Any, bucket: str) -> None:
    name = f"e{bucket[-10:]}"
    other = _account(gateway, name, email=f"{name}@example.com")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object_acl(Bucket=bucket, Key="k", GrantRead=f"emailAddress={name}@EXAMPLE.com")
    # Stored as the account it resolved to.
    assert _acl(s3, bucket, "k")["Grants"] == [
        {
            "Grantee": {"ID": other, "DisplayName": name, "Type": "CanonicalUser"},
            "Permission": "READ",
        }
    ]
    with pytest.raises(ClientError) as info:
        s3.put_object_acl(Bucket=bucket, Key="k", GrantRead="emailAddress=nobody@example.com")
    assert code_of(info) == "UnresolvableGrantByEmailAddress"
    policy = _acl(s3, bucket, "k")
    policy["Grants"] = [
        {
            "Grantee": {"EmailAddress": "nobody@example.com", "Type": "AmazonCustomerByEmail"},
            "Permission": "READ",
        }
    ]
    with pytest.raises(ClientError) as info:
        s3.put_object_acl(Bucket=bucket, Key="k", AccessControlPolicy=policy)
    assert code_of(info) == "UnresolvableGrantByEmailAddress"


def test_object_acl_versions(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket=bucket, Key="k", Body=b"1")["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"2")
    s3.put_object_acl(Bucket=bucket, Key="k", VersionId=old, ACL="public-read")
    assert _acl(s3, bucket, "k", VersionId=old)["Grants"] == [ROOT_FULL, PUBLIC_READ]
    assert _acl(s3, bucket, "k")["Grants"] == [ROOT_FULL]
    marker = s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
    with pytest.raises(ClientError) as info:
        s3.put_object_acl(Bucket=bucket, Key="k", VersionId=marker, ACL="private")
    assert (code_of(info), status_of(info)) == ("MethodNotAllowed", 405)
    with pytest.raises(ClientError) as info:
        s3.get_object_acl(Bucket=bucket, Key="k", VersionId=marker)
    assert code_of(info) == "MethodNotAllowed"
    with pytest.raises(ClientError) as info:
        s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")
    assert code_of(info) == "NoSuchKey"
    with pytest.raises(ClientError) as info:
        s3.put_object_acl(Bucket=bucket, Key="k", VersionId="nope", ACL="private")
    assert code_of(info) == "NoSuchVersion"


def test_object_acl_missing_key(s3: Any, bucket: str) -> None:
    for call in (s3.get_object_acl, lambda **kw: s3.put_object_acl(ACL="private", **kw)):
        with pytest.raises(ClientError) as info:
            call(Bucket=bucket, Key="missing")
        assert code_of(info) == "NoSuchKey"


# -- bucket ACLs ---------------------------------------------------------------------------------


def test_bucket_acl_put_and_get(s3: Any, bucket: str) -> None:
    assert _acl(s3, bucket) == {"Owner": OWNER, "Grants": [ROOT_FULL]}
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert _acl(s3, bucket)["Grants"] == [ROOT_FULL, PUBLIC_READ]
    policy = {"Owner": OWNER, "Grants": [ROOT_FULL]}
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy=policy)
    assert _acl(s3, bucket) == policy
    s3.put_bucket_acl(Bucket=bucket, GrantFullControl=f'id="{ROOT}"', GrantRead=f"uri={ALL_USERS}")
    assert _acl(s3, bucket)["Grants"] == [PUBLIC_READ, ROOT_FULL]


def test_create_bucket_with_acl(s3: Any, bucket: str) -> None:
    name = f"{bucket}-pub"
    s3.create_bucket(Bucket=name, ACL="public-read")
    try:
        assert _acl(s3, name)["Grants"] == [ROOT_FULL, PUBLIC_READ]
    finally:
        s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as info:
        s3.create_bucket(Bucket=name, ACL="public-read", GrantRead=f"uri={ALL_USERS}")
    assert code_of(info) == "InvalidRequest"
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=name)


# -- bad ACLs ------------------------------------------------------------------------------------


def test_invalid_canned_acl(s3: Any, bucket: str) -> None:
    calls: list[Callable[[], Any]] = [
        lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="world-readable"),
        lambda: s3.put_bucket_acl(Bucket=bucket, ACL="world-readable"),
        lambda: s3.create_bucket(Bucket=f"{bucket}-x", ACL="world-readable"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as info:
            call()
        assert code_of(info) == "InvalidArgument"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k")


def test_canned_and_grant_headers(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="private", GrantRead=f"id={ROOT}")
    assert code_of(info) == "InvalidRequest"


def test_bad_grantees(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    cases = [
        ({"GrantRead": "id=" + "0" * 64}, "InvalidArgument"),  # no such account
        ({"GrantRead": "uri=http://acs.amazonaws.com/groups/global/Nobody"}, "InvalidArgument"),
        ({"GrantRead": "someone"}, "InvalidArgument"),
    ]
    for headers, code in cases:
        with pytest.raises(ClientError) as info:
            s3.put_object_acl(Bucket=bucket, Key="k", **headers)
        assert code_of(info) == code
    policy = {
        "Owner": OWNER,
        "Grants": [{"Grantee": {"ID": "f" * 64, "Type": "CanonicalUser"}, "Permission": "READ"}],
    }
    with pytest.raises(ClientError) as info:
        s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy=policy)
    assert code_of(info) == "InvalidArgument"
    error: dict[str, Any] = dict(info.value.response["Error"])
    assert error["ArgumentValue"] == "f" * 64
    assert _acl(s3, bucket, "k")["Grants"] == [ROOT_FULL]  # nothing changed


def test_acl_body_owner_must_be_the_owner(s3: Any, bucket: str) -> None:
    policy = {"Owner": {"ID": "0" * 64}, "Grants": [ROOT_FULL]}
    with pytest.raises(ClientError) as info:
        s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy=policy)
    assert code_of(info) == "AccessDenied"


ACL_PATH = "?acl"


@pytest.fixture
def raw(app_client: SignedClient, aio: asyncio.Runner) -> SignedClient:
    assert aio.run(app_client.request("PUT", "/raw")).status == 200
    assert aio.run(app_client.request("PUT", "/raw/k", body=b"x")).status == 200
    return app_client


def _policy_xml(grants: str = "") -> bytes:
    return (
        f"<AccessControlPolicy><Owner><ID>{ROOT}</ID></Owner>"
        f"<AccessControlList>{grants}</AccessControlList></AccessControlPolicy>"
    ).encode()


@pytest.mark.parametrize("path", ["/raw?acl", "/raw/k?acl"])
def test_acl_request_shapes(raw: SignedClient, aio: asyncio.Runner, path: str) -> None:
    cases: list[tuple[dict[str, str], bytes, int, str]] = [
        ({"x-amz-acl": "private"}, _policy_xml(), 400, "UnexpectedContent"),
        ({"x-amz-grant-read": f"id={ROOT}"}, _policy_xml(), 400, "UnexpectedContent"),
        ({}, b"", 400, "MissingSecurityHeader"),
        ({}, b"<AccessControlPolicy><AccessControlList/></AccessControlPolicy>", 400,
         "MalformedACLError"),
        ({}, _policy_xml("<Grant><Grantee>x</Grantee></Grant>"), 400, "MalformedACLError"),
        ({}, b"<AccessControlPolicy", 400, "MalformedXML"),
    ]  # fmt: skip
    for headers, body, status, code in cases:
        reply = aio.run(raw.request("PUT", path, headers=headers, body=body))
        assert (reply.status, reply.error_code) == (status, code), (headers, body)
    reply = aio.run(raw.request("PUT", path, body=_policy_xml()))
    assert reply.status == 200, reply.body
    reply = aio.run(raw.request("GET", path))
    assert reply.status == 200 and b"<Grant>" not in reply.body  # an empty ACL, as set


# -- Object Ownership and BlockPublicAcls -------------------------------------------------------


def test_bucket_owner_enforced(s3: Any, bucket: str) -> None:
    name = f"{bucket}-e"
    s3.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerEnforced")
    try:
        calls: list[Callable[[], Any]] = [
            lambda: s3.put_object(Bucket=name, Key="k", Body=b"x", ACL="public-read"),
            lambda: s3.put_object(Bucket=name, Key="k", Body=b"x", GrantRead=f"id={ROOT}"),
            lambda: s3.put_bucket_acl(Bucket=name, ACL="public-read"),
            lambda: s3.create_multipart_upload(Bucket=name, Key="k", ACL="public-read"),
        ]
        for call in calls:
            with pytest.raises(ClientError) as info:
                call()
            assert (code_of(info), status_of(info)) == ("AccessControlListNotSupported", 400)
        # An ACL that only gives the bucket owner full control is accepted (and moot).
        s3.put_object(Bucket=name, Key="k", Body=b"x", ACL="bucket-owner-full-control")
        s3.put_object_acl(Bucket=name, Key="k", ACL="private")
        s3.put_bucket_acl(Bucket=name, ACL="private")
        with pytest.raises(ClientError) as info:
            s3.put_object_acl(Bucket=name, Key="k", ACL="public-read")
        assert code_of(info) == "AccessControlListNotSupported"
        assert _acl(s3, name, "k") == {"Owner": OWNER, "Grants": [ROOT_FULL]}
        assert _acl(s3, name) == {"Owner": OWNER, "Grants": [ROOT_FULL]}
    finally:
        empty_and_delete_bucket(s3, name)


def test_create_bucket_ownership_refusals(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as info:
        s3.create_bucket(
            Bucket=f"{bucket}-e", ObjectOwnership="BucketOwnerEnforced", ACL="public-read"
        )
    assert code_of(info) == "InvalidBucketAclWithObjectOwnership"
    with pytest.raises(ClientError) as info:
        s3.create_bucket(Bucket=f"{bucket}-e", ObjectOwnership="Nobody")
    assert code_of(info) == "InvalidArgument"
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=f"{bucket}-e")


def test_bucket_owner_preferred_object_owner(gateway: AppServer, s3: Any, bucket: str) -> None:
    """Root writes into another account's bucket: with bucket-owner-full-control the
    bucket owner owns the object (BucketOwnerPreferred), without it the writer does."""
    name = f"p{bucket[-10:]}"
    access, secret = gateway.create_user(name)
    theirs = boto3_client(gateway, access_key=access, secret_key=secret)
    target = f"{bucket}-p"
    theirs.create_bucket(Bucket=target, ObjectOwnership="BucketOwnerPreferred")
    try:
        s3.put_object(Bucket=target, Key="given", Body=b"x", ACL="bucket-owner-full-control")
        s3.put_object(Bucket=target, Key="kept", Body=b"x")
        given = _acl(s3, target, "given")
        assert given["Owner"] == {"ID": canonical_id(name), "DisplayName": name}
        assert _acl(s3, target, "kept")["Owner"] == OWNER
        listed = s3.list_objects_v2(Bucket=target, FetchOwner=True)["Contents"]
        assert [o["Owner"]["DisplayName"] for o in listed] == [name, "root"]
    finally:
        empty_and_delete_bucket(s3, target)


def test_block_public_acls(gateway: AppServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    _config(gateway, bucket, "public-access-block", PublicAccessBlock(True).to_json())
    calls: list[Callable[[], Any]] = [
        lambda: s3.put_object(Bucket=bucket, Key="p", Body=b"x", ACL="public-read"),
        lambda: s3.put_object_acl(Bucket=bucket, Key="k", ACL="public-read"),
        lambda: s3.put_object_acl(Bucket=bucket, Key="k", GrantRead=f"uri={AUTHENTICATED_USERS}"),
        lambda: s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write"),
        lambda: s3.copy_object(
            Bucket=bucket, Key="p", CopySource={"Bucket": bucket, "Key": "k"}, ACL="public-read"
        ),
        lambda: s3.create_multipart_upload(Bucket=bucket, Key="p", ACL="public-read"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as info:
            call()
        assert (code_of(info), status_of(info)) == ("AccessDenied", 403)
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")  # not public: fine
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="p")


# -- ACLs of copies and multipart uploads --------------------------------------------------------


def test_copy_object_does_not_copy_the_acl(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", ACL="public-read")
    s3.copy_object(Bucket=bucket, Key="plain", CopySource={"Bucket": bucket, "Key": "src"})
    assert _acl(s3, bucket, "plain")["Grants"] == [ROOT_FULL]
    s3.copy_object(
        Bucket=bucket,
        Key="public",
        CopySource={"Bucket": bucket, "Key": "src"},
        ACL="authenticated-read",
    )
    assert _acl(s3, bucket, "public")["Grants"] == [
        ROOT_FULL,
        {"Grantee": {"URI": AUTHENTICATED_USERS, "Type": "Group"}, "Permission": "READ"},
    ]


def test_multipart_upload_carries_the_acl(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k", ACL="public-read")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"x")["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="k",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert _acl(s3, bucket, "k")["Grants"] == [ROOT_FULL, PUBLIC_READ]


# -- owners in listings --------------------------------------------------------------------------


def test_listings_name_owners_by_canonical_id(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="k")
    assert s3.list_buckets()["Owner"] == OWNER
    versions = s3.list_object_versions(Bucket=bucket)
    assert versions["Versions"][0]["Owner"] == OWNER
    assert versions["DeleteMarkers"][0]["Owner"] == OWNER
    s3.put_object(Bucket=bucket, Key="v1", Body=b"x")
    assert s3.list_objects(Bucket=bucket)["Contents"][0]["Owner"] == OWNER
    assert s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"][0]["Owner"] == OWNER


# -- what the ACLs set here let others do (authorization: gateway/access.py) --------------------


def test_acls_set_here_take_effect(gateway: AppServer, s3: Any, bucket: str) -> None:
    name = f"r{bucket[-10:]}"
    access, secret = gateway.create_user(name)
    theirs = boto3_client(gateway, access_key=access, secret_key=secret)
    s3.put_object(Bucket=bucket, Key="pub", Body=b"public", ACL="public-read")
    s3.put_object(Bucket=bucket, Key="priv", Body=b"private")
    assert anonymous(gateway, "GET", f"/{bucket}/pub") == (200, b"public")
    assert anonymous(gateway, "GET", f"/{bucket}/priv")[0] == 403
    s3.put_object_acl(Bucket=bucket, Key="pub", ACL="private")
    assert anonymous(gateway, "GET", f"/{bucket}/pub")[0] == 403
    with pytest.raises(ClientError):
        theirs.get_object(Bucket=bucket, Key="priv")
    s3.put_object_acl(Bucket=bucket, Key="priv", GrantRead=f"id={canonical_id(name)}")
    assert theirs.get_object(Bucket=bucket, Key="priv")["Body"].read() == b"private"
    assert anonymous(gateway, "GET", f"/{bucket}/priv")[0] == 403
