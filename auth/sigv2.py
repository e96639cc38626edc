r"""AWS Signature Version 2 for S3 (the legacy "AWS AKID:signature" scheme).

How this works
--------------
    signature      = base64(HMAC-SHA1(secret, UTF-8(string to sign)))
    string to sign = METHOD \n Content-MD5 \n Content-Type \n Date \n
                     CanonicalizedAmzHeaders CanonicalizedResource

* Date is the Date header, empty when an x-amz-date header is present (x-amz-date is then
  signed among the amz headers), or the Expires value (epoch seconds) of a presigned URL.
* CanonicalizedAmzHeaders: one "name:value\n" per x-amz-* header, names lower-cased and
  sorted, values trimmed, repeated headers joined by ",". For a presigned URL, clients
  (botocore's HmacV1QueryAuth) move the x-amz-* headers they signed into the query, so
  query parameters named x-amz-* count as headers there (as do content-type/content-md5)
  unless the request also sends that header.
* CanonicalizedResource: "/bucket" when the bucket is in the Host header, then the path
  as sent (still URI-encoded; a path-style "/bucket" is signed as "/bucket/"), then "?"
  and the sub-resources present in the query, sorted by name, as name or
  name=decoded-value, joined by "&".

This module only computes; auth.authenticate compares and raises. botocore's HmacV1Auth,
HmacV1QueryAuth and s3cmd's sign_request_v2 are what real clients sign with.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

from auth import sigv4
from auth.sigv4 import utf8

# Sub-resources that belong to the canonical resource: the documented list, the extra
# names botocore and s3cmd sign, and newer sub-resources. A client that signs fewer of
# them than are present fails verification, which is safe: an unsigned sub-resource
# would let anyone turn a signed request into another operation.
SUBRESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "attributes",
        "cors",
        "defaultObjectAcl",
        "delete",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "legal-hold",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "ownershipControls",
        "partNumber",
        "policy",
        "policyStatus",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "restore",
        "retention",
        "select",
        "select-type",
        "storageClass",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
    }
)


def canonical_resource(
    raw_path: str,
    query: Iterable[tuple[str, str]],
    host_bucket: str | None = None,
    *,
    equals_for_empty: bool = False,
) -> str:
    """The CanonicalizedResource element.

    An empty sub-resource value is written as the bare name ("?uploads"), as the AWS page
    shows; `equals_for_empty` writes "uploads=" instead, which is what botocore signs when
    the URL it was given said "uploads=" (the decoded query cannot tell the two apart).
    """
    resource = (f"/{host_bucket}" if host_bucket else "") + (raw_path or "/")
    # A stable sort by name only, as botocore does: repeated names keep request order.
    subs = sorted(((k, v) for k, v in query if k in SUBRESOURCES), key=lambda kv: kv[0])
    if subs:
        parts = [k if (v == "" and not equals_for_empty) else f"{k}={v}" for k, v in subs]
        resource += "?" + "&".join(parts)
    return resource


def path_candidates(raw_path: str) -> list[str]:
    """The path forms a client may have signed, the documented one first.

    A path-style bucket request "/bucket" is signed as "/bucket/" (the bucket's resource,
    as botocore and s3cmd sign it); and, as for SigV4, the AWS-encoded form of the path
    is tried after the path as sent.
    """
    candidates = sigv4.canonical_uri_candidates(raw_path)
    bucket_only = [p + "/" for p in candidates if p.count("/") == 1 and p != "/"]
    return bucket_only + candidates


def canonical_amz_headers(amz_headers: Mapping[str, str]) -> str:
    r"""One "name:value\n" line per x-amz-* header (names already lower-case)."""
    return "".join(
        f"{name}:{amz_headers[name].strip()}\n"
        for name in sorted(amz_headers)
        if name.startswith("x-amz-")
    )


def string_to_sign(
    method: str,
    content_md5: str,
    content_type: str,
    date: str,
    amz_headers: Mapping[str, str],
    resource: str,
) -> str:
    return (
        f"{method}\n{content_md5.strip()}\n{content_type.strip()}\n{date}\n"
        f"{canonical_amz_headers(amz_headers)}{resource}"
    )


def sign(secret_key: str, text: str) -> str:
    """base64 HMAC-SHA1 of `text`."""
    digest = hmac.new(utf8(secret_key), utf8(text), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")
