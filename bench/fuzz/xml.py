"""Every XML request-body codec: gateway.xml.codec.parse(Model, body), one target per model.

The input is the body as sent. Parsing may only answer S3Error (MalformedXML, or the
model's own InvalidArgument/InvalidRequest and the like).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import partial
from typing import Any

import gateway.xml
from bench.fuzz.harness import Target
from gateway.errors import S3Error
from gateway.xml import codec


def _load_codecs() -> list[type[Any]]:
    # Importing a gateway.xml module registers its parsers.
    for module in pkgutil.iter_modules(gateway.xml.__path__):
        importlib.import_module(f"gateway.xml.{module.name}")
    return sorted(codec.parsed_models(), key=lambda cls: cls.__name__)


def run(model: type[Any], data: bytes) -> None:
    codec.parse(model, data)


# Element names of every request document, and the XML that reaches odd corners.
TOKENS = tuple(
    t.encode()
    for t in (
        '<?xml version="1.0" encoding="UTF-8"?>',
        ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"',
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"',
        "<![CDATA[",
        "]]>",
        "<!-- -->",
        "&#x10FFFF;",
        "true",
        "Enabled",
        "2030-01-01T00:00:00.000Z",
        "Key",
        "Value",
        "Tag",
        "TagSet",
        "Rule",
        "Filter",
        "And",
        "Prefix",
        "Status",
        "ID",
        "Days",
        "Date",
        "Expiration",
        "ExpiredObjectDeleteMarker",
        "NoncurrentDays",
        "NewerNoncurrentVersions",
        "ObjectSizeGreaterThan",
        "ObjectSizeLessThan",
        "Part",
        "PartNumber",
        "ETag",
        "ChecksumCRC32",
        "ChecksumSHA256",
        "Object",
        "Quiet",
        "VersionId",
        "Grant",
        "Grantee",
        "Permission",
        "Owner",
        "AccessControlList",
        "URI",
        "EmailAddress",
        "DisplayName",
        "CORSRule",
        "AllowedOrigin",
        "AllowedMethod",
        "AllowedHeader",
        "ExposeHeader",
        "MaxAgeSeconds",
        "Mode",
        "RetainUntilDate",
        "DefaultRetention",
        "Years",
        "ObjectLockEnabled",
        "ObjectOwnership",
        "SSEAlgorithm",
        "KMSMasterKeyID",
        "BucketKeyEnabled",
        "MfaDelete",
        "IndexDocument",
        "Suffix",
        "ErrorDocument",
        "RoutingRule",
        "Condition",
        "Redirect",
        "HostName",
        "Protocol",
        "HttpRedirectCode",
        "HttpErrorCodeReturnedEquals",
        "KeyPrefixEquals",
        "ReplaceKeyWith",
        "ReplaceKeyPrefixWith",
        "RedirectAllRequestsTo",
        "LocationConstraint",
        "BlockPublicAcls",
        "RestrictPublicBuckets",
    )
)


def targets() -> list[Target]:
    return [
        Target(f"xml-{m.__name__}", partial(run, m), (S3Error,), TOKENS) for m in _load_codecs()
    ]
