"""Condition keys: the names we know and the pure builder of a request's key values.

Global keys: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
S3 keys: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
SigV4 keys: https://docs.aws.amazon.com/AmazonS3/latest/API/bucket-policy-s3-sigv4-conditions.html
Every value is a tuple of strings (IAM keys are multi-valued in general); dates are
ISO 8601 UTC with a `Z`, booleans `true` / `false`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import unquote

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Header-valued S3 keys: the key is the header name with an `s3:` prefix.
HEADER_KEYS = (
    "x-amz-acl",
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
    "x-amz-copy-source",
    "x-amz-metadata-directive",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-storage-class",
    "x-amz-content-sha256",
    "x-amz-website-redirect-location",
    "x-amz-object-ownership",
)
# Query-valued S3 keys (ListObjects, ListObjectsV2, ListObjectVersions).
QUERY_KEYS = ("prefix", "delimiter", "max-keys")

TAG_KEY_PREFIXES = ("s3:existingobjecttag/", "s3:requestobjecttag/", "aws:requesttag/")

# Every S3-specific key a bucket policy may name (lower-case), besides the tag prefixes.
S3_KEYS = frozenset(
    {f"s3:{h}" for h in HEADER_KEYS}
    | {f"s3:{q}" for q in QUERY_KEYS}
    | {
        "s3:versionid", "s3:requestobjecttagkeys", "s3:locationconstraint",
        "s3:object-lock-mode", "s3:object-lock-retain-until-date",
        "s3:object-lock-remaining-retention-days", "s3:object-lock-legal-hold",
        "s3:signatureversion", "s3:authtype", "s3:signatureage", "s3:tlsversion",
        "s3:resourceaccount", "s3:x-amz-object-lock-mode",
        "s3:x-amz-object-lock-retain-until-date", "s3:x-amz-object-lock-legal-hold",
        "s3:x-amz-server-side-encryption-context", "s3:x-amz-checksum-algorithm",
        "s3:datalocationconstraint", "s3:accesspointnetworkorigin",
        "s3:dataaccesspointaccount", "s3:dataaccesspointarn", "s3:bucketobjectlockenabled",
        "s3:objectcreationoperation", "s3:x-amz-write-offset-bytes", "s3:if-match",
        "s3:if-none-match", "s3:bucketversioningstatus", "s3:inventoryaccessibleoptionalfields",
        "s3:destinationbucketarn", "s3:isbucketpubliclyaccessible",
    }
)  # fmt: skip


def is_known_s3_key(key: str) -> bool:
    lower = key.lower()
    return lower in S3_KEYS or lower.startswith(TAG_KEY_PREFIXES)


def iso8601(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_keys(
    *,
    now: datetime,
    source_ip: str | None,
    secure: bool,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    signature_version: str | None = None,
    auth_type: str | None = None,
    signature_age_ms: int | None = None,
    tls_version: str | None = None,
    version_id: str | None = None,
    existing_tags: Mapping[str, str] | None = None,
    request_tags: Mapping[str, str] | None = None,
    lock_mode: str | None = None,
    lock_retain_until: datetime | None = None,
    legal_hold: str | None = None,
    list_keys: bool = False,
) -> dict[str, tuple[str, ...]]:
    """The condition keys of one request (principal keys come from the Requester).

    `headers` are lower-case names. `signature_version` is `AWS` (SigV2) or
    `AWS4-HMAC-SHA256`; `auth_type` `REST-HEADER`, `REST-QUERY-STRING` or `POST`.
    `list_keys` adds s3:prefix / s3:delimiter / s3:max-keys from the query (list
    operations only). The object-lock arguments come from the headers of a write or
    from a PutObjectRetention / PutObjectLegalHold body; when None the headers are used.
    """
    keys: dict[str, tuple[str, ...]] = {
        "aws:securetransport": ("true" if secure else "false",),
        "aws:currenttime": (iso8601(now),),
        "aws:epochtime": (str(int(now.timestamp())),),
    }
    if source_ip:
        keys["aws:sourceip"] = (source_ip,)
    for header, key in (("referer", "aws:referer"), ("user-agent", "aws:useragent")):
        if header in headers:
            keys[key] = (headers[header],)
    for header in HEADER_KEYS:
        if header in headers:
            value = headers[header]
            if header == "x-amz-copy-source":
                # The policy compares bucket/key as written, without the leading slash.
                value = unquote(value.split("?", 1)[0]).lstrip("/")
            keys[f"s3:{header}"] = (value,)
    if list_keys:
        for name in QUERY_KEYS:
            if name in query:
                keys[f"s3:{name}"] = (query[name],)
    if signature_version:
        keys["s3:signatureversion"] = (signature_version,)
    if auth_type:
        keys["s3:authtype"] = (auth_type,)
    if signature_age_ms is not None:
        keys["s3:signatureage"] = (str(signature_age_ms),)
    if tls_version:
        keys["s3:tlsversion"] = (tls_version,)  # e.g. "1.3"
    if version_id is not None:
        keys["s3:versionid"] = (version_id,)
    for tag, value in (existing_tags or {}).items():
        keys[f"s3:existingobjecttag/{tag}"] = (value,)
    if request_tags is not None:
        for tag, value in request_tags.items():
            keys[f"s3:requestobjecttag/{tag}"] = (value,)
        keys["s3:requestobjecttagkeys"] = tuple(request_tags)
    keys.update(_lock_keys(now, headers, lock_mode, lock_retain_until, legal_hold))
    return keys


def _lock_keys(
    now: datetime,
    headers: Mapping[str, str],
    mode: str | None,
    retain_until: datetime | None,
    legal_hold: str | None,
) -> dict[str, tuple[str, ...]]:
    keys: dict[str, tuple[str, ...]] = {}
    mode = mode or headers.get("x-amz-object-lock-mode")
    legal_hold = legal_hold or headers.get("x-amz-object-lock-legal-hold")
    if retain_until is None and "x-amz-object-lock-retain-until-date" in headers:
        try:
            retain_until = datetime.fromisoformat(headers["x-amz-object-lock-retain-until-date"])
        except ValueError:
            retain_until = None  # the handler answers the malformed header itself
    if mode:
        keys["s3:object-lock-mode"] = (mode,)
    if legal_hold:
        keys["s3:object-lock-legal-hold"] = (legal_hold,)
    if retain_until is not None:
        if retain_until.tzinfo is None:
            retain_until = retain_until.replace(tzinfo=UTC)
        keys["s3:object-lock-retain-until-date"] = (iso8601(retain_until),)
        # Whole days left, rounded up: a retention ending tomorrow noon is 1 day.
        seconds = (retain_until - now).total_seconds()
        days = max(0, -int(-seconds // 86400))
        keys["s3:object-lock-remaining-retention-days"] = (str(days),)
    return keys


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 192.0.2.1:443
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def source_ip(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """aws:SourceIp: the client address, honouring X-Forwarded-For only from trusted proxies.

    Walk the chain from the socket peer backwards: while the hop we are looking at is a
    trusted proxy, believe what it says about the hop before it. The first untrusted hop
    is the client; a forged entry further left is never reached. A malformed entry stops
    the walk at the proxy that sent it.
    """
    hop = _address(peer)
    if hop is None:
        return peer
    chain = [h for h in (forwarded_for or "").split(",") if h.strip()]
    while chain and any(hop in network for network in trusted):
        previous = _address(chain.pop())
        if previous is None:
            break
        hop = previous
    return str(hop)
