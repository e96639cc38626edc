"""XML of versioning, tagging and object lock, registered with gateway.xml.codec.

The models of documents that only travel as XML live here; the object lock models are
gateway.s3.object_lock's (their rules live there). Importing this module registers its
renderers and parsers (the ops modules that use them import it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.headers import iso8601, quote_etag
from gateway.s3.object_lock import (
    MODES,
    DefaultRetention,
    LegalHold,
    ObjectLockConfiguration,
    Retention,
    parse_timestamp,
)
from gateway.s3.tagging import Tag
from gateway.xml.codec import (
    Element,
    _add,
    _bool,
    _children,
    _encoder,
    _malformed,
    _owner,
    _root,
    _text,
    parses,
    renders,
)
from gateway.xml.models import Owner

# -- Put/GetBucketVersioning: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html

VERSIONING_STATUSES = ("Enabled", "Suspended")


@dataclass(frozen=True)
class VersioningConfiguration:
    """status None: versioning was never enabled (GET renders an empty document)."""

    status: str | None = None
    mfa_delete: str | None = None


@renders(VersioningConfiguration)
def _render_versioning(model: VersioningConfiguration) -> Element:
    root = _root("VersioningConfiguration")
    if model.status is not None:
        _add(root, "Status", model.status)
    if model.mfa_delete is not None:
        _add(root, "MfaDelete", model.mfa_delete)
    return root


@parses(VersioningConfiguration, "VersioningConfiguration")
def _parse_versioning(root: Element) -> VersioningConfiguration:
    status = _text(root, "Status")
    mfa = _text(root, "MfaDelete")
    if status is not None and status not in VERSIONING_STATUSES:
        raise _malformed()
    if mfa is not None and mfa not in ("Enabled", "Disabled"):
        raise _malformed()
    return VersioningConfiguration(status, mfa)


# -- ListObjectVersions: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
# Versions and delete markers are listed in one sequence (key order, newest first), as S3
# interleaves the <Version> and <DeleteMarker> elements. With encoding-type=url, Key,
# Prefix, Delimiter, KeyMarker and NextKeyMarker are URL-encoded.


@dataclass(frozen=True)
class VersionEntry:
    key: str
    version_id: str
    is_latest: bool
    last_modified: float
    is_delete_marker: bool = False
    etag: str = ""
    size: int = 0
    storage_class: str = "STANDARD"
    owner: Owner | None = None
    checksum_algorithm: str | None = None


@dataclass(frozen=True)
class ListVersionsResult:
    name: str
    prefix: str
    key_marker: str
    version_id_marker: str
    max_keys: int
    is_truncated: bool
    entries: tuple[VersionEntry, ...]
    common_prefixes: tuple[str, ...]
    delimiter: str = ""
    next_key_marker: str | None = None
    next_version_id_marker: str | None = None
    encoding_type: str | None = None


@renders(ListVersionsResult)
def _render_list_versions(model: ListVersionsResult) -> Element:
    encode: Callable[[str], str] = _encoder(model.encoding_type)
    root = _root("ListVersionsResult")
    _add(root, "Name", model.name)
    _add(root, "Prefix", encode(model.prefix))
    _add(root, "KeyMarker", encode(model.key_marker))
    _add(root, "VersionIdMarker", model.version_id_marker)
    if model.next_key_marker is not None:
        _add(root, "NextKeyMarker", encode(model.next_key_marker))
    if model.next_version_id_marker is not None:
        _add(root, "NextVersionIdMarker", model.next_version_id_marker)
    _add(root, "MaxKeys", str(model.max_keys))
    if model.delimiter:
        _add(root, "Delimiter", encode(model.delimiter))
    _add(root, "IsTruncated", _bool(model.is_truncated))
    if model.encoding_type is not None:
        _add(root, "EncodingType", model.encoding_type)
    for entry in model.entries:
        el = _add(root, "DeleteMarker" if entry.is_delete_marker else "Version")
        _add(el, "Key", encode(entry.key))
        _add(el, "VersionId", entry.version_id)
        _add(el, "IsLatest", _bool(entry.is_latest))
        _add(el, "LastModified", iso8601(entry.last_modified))
        if not entry.is_delete_marker:
            _add(el, "ETag", quote_etag(entry.etag))
            if entry.checksum_algorithm is not None:
                _add(el, "ChecksumAlgorithm", entry.checksum_algorithm)
            _add(el, "Size", str(entry.size))
            _add(el, "StorageClass", entry.storage_class)
        if entry.owner is not None:
            _owner(el, entry.owner)
    for prefix in model.common_prefixes:
        _add(_add(root, "CommonPrefixes"), "Prefix", encode(prefix))
    return root


# -- Object and bucket tagging: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html


@dataclass(frozen=True)
class Tagging:
    tags: tuple[Tag, ...]


def render_tag(parent: Element, tag: Tag) -> None:
    el = _add(parent, "Tag")
    _add(el, "Key", tag.key)
    _add(el, "Value", tag.value)


def parse_tag(el: Element) -> Tag:
    key = _text(el, "Key", required=True)
    value = _text(el, "Value", required=True)
    assert key is not None and value is not None
    return Tag(key, value)


@renders(Tagging)
def _render_tagging(model: Tagging) -> Element:
    root = _root("Tagging")
    tag_set = _add(root, "TagSet")
    for tag in model.tags:
        render_tag(tag_set, tag)
    return root


@parses(Tagging, "Tagging")
def _parse_tagging(root: Element) -> Tagging:
    sets = _children(root, "TagSet")
    if len(sets) != 1:
        raise _malformed()
    return Tagging(tuple(parse_tag(el) for el in _children(sets[0], "Tag")))


# -- Object Lock: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLockConfiguration.html


def parse_integer(text: str | None) -> int | None:
    if text is None:
        return None
    value = text.strip()
    digits = value[1:] if value.startswith("-") else value
    if not digits.isdigit() or len(digits) > 10:
        raise _malformed()
    return int(value)


@renders(ObjectLockConfiguration)
def _render_lock_configuration(model: ObjectLockConfiguration) -> Element:
    root = _root("ObjectLockConfiguration")
    if model.enabled:
        _add(root, "ObjectLockEnabled", "Enabled")
    rule = model.default_retention
    if rule is not None:
        el = _add(_add(root, "Rule"), "DefaultRetention")
        _add(el, "Mode", rule.mode)
        if rule.days is not None:
            _add(el, "Days", str(rule.days))
        if rule.years is not None:
            _add(el, "Years", str(rule.years))
    return root


@parses(ObjectLockConfiguration, "ObjectLockConfiguration")
def _parse_lock_configuration(root: Element) -> ObjectLockConfiguration:
    enabled = _text(root, "ObjectLockEnabled")
    if enabled not in (None, "Enabled"):
        raise _malformed()
    rules = _children(root, "Rule")
    if len(rules) > 1:
        raise _malformed()
    default = None
    if rules:
        found = _children(rules[0], "DefaultRetention")
        if len(found) != 1:
            raise _malformed()
        el = found[0]
        mode = _text(el, "Mode", required=True)
        default = DefaultRetention(
            mode=mode or "",
            days=parse_integer(_text(el, "Days")),
            years=parse_integer(_text(el, "Years")),
        )
    return ObjectLockConfiguration(enabled == "Enabled", default)


# https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html


@renders(Retention)
def _render_retention(model: Retention) -> Element:
    root = _root("Retention")
    if model.mode is not None:
        _add(root, "Mode", model.mode)
    if model.retain_until is not None:
        _add(root, "RetainUntilDate", iso8601(model.retain_until))
    return root


@parses(Retention, "Retention")
def _parse_retention(root: Element) -> Retention:
    mode = _text(root, "Mode")
    until_text = _text(root, "RetainUntilDate")
    if (mode is None) != (until_text is None):
        raise _malformed()
    if mode is None or until_text is None:
        return Retention()
    until = parse_timestamp(until_text)
    if mode not in MODES or until is None:
        raise _malformed()
    return Retention(mode, until)


# https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLegalHold.html


@renders(LegalHold)
def _render_legal_hold(model: LegalHold) -> Element:
    root = _root("LegalHold")
    _add(root, "Status", "ON" if model.on else "OFF")
    return root


@parses(LegalHold, "LegalHold")
def _parse_legal_hold(root: Element) -> LegalHold:
    status = _text(root, "Status", required=True)
    if status not in ("ON", "OFF"):
        raise S3Error(S3ErrorCode.MALFORMED_XML)
    return LegalHold(status == "ON")
