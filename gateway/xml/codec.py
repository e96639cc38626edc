"""Render models to S3 XML and parse request bodies into models, through one registry.

    render(model) -> bytes        the renderer registered for type(model)
    parse(cls, data) -> cls       the parser registered for cls, over safe.parse_document

A new document is one model in gateway.xml.models plus a `@renders(Model)` function
(and a `@parses(Model, "RootElement")` one for request bodies). Result documents carry
the S3 namespace on their root; the Error document has none. Parsers match elements by
local name, so bodies with or without the S3 namespace are accepted; unknown elements
are ignored, missing required ones and bad values are MalformedXML.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar, cast

from lxml import etree

from gateway.codec.checksums import ALGORITHMS
from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.headers import iso8601, quote_etag
from gateway.xml import listing
from gateway.xml.listing import DECLARATION as DECLARATION
from gateway.xml.listing import NON_XML
from gateway.xml.listing import S3_NS as S3_NS
from gateway.xml.listing import url_encode as url_encode
from gateway.xml.models import (
    MAX_DELETE_OBJECTS,
    CompletedPart,
    CompleteMultipartUpload,
    CompleteMultipartUploadResult,
    CopyObjectResult,
    CopyPartResult,
    CreateBucketConfiguration,
    Delete,
    DeleteResult,
    ErrorDocument,
    GetObjectAttributesResponse,
    InitiateMultipartUploadResult,
    ListAllMyBucketsResult,
    ListBucketResult,
    ListBucketV2Result,
    ListMultipartUploadsResult,
    ListPartsResult,
    LocationConstraint,
    ObjectIdentifier,
    Owner,
)
from gateway.xml.safe import DEFAULT_MAX_SIZE, local_name, parse_document

XSI_NS: Final = "http://www.w3.org/2001/XMLSchema-instance"

M = TypeVar("M")
Element = etree._Element

_RENDERERS: dict[type[Any], Callable[[Any], Element]] = {}
_WRITERS: dict[type[Any], Callable[[Any], bytes]] = {
    ListBucketResult: listing.list_bucket_result,
    ListBucketV2Result: listing.list_bucket_v2_result,
}
_PARSERS: dict[type[Any], tuple[str, Callable[[Element], Any]]] = {}


def renders(cls: type[M]) -> Callable[[Callable[[M], Element]], Callable[[M], Element]]:
    """Register the function that builds the root element of `cls` documents."""

    def register(function: Callable[[M], Element]) -> Callable[[M], Element]:
        _RENDERERS[cls] = function
        return function

    return register


def writes(cls: type[M]) -> Callable[[Callable[[M], bytes]], Callable[[M], bytes]]:
    """Register the function that writes whole `cls` documents as bytes (the listings:
    see gateway/xml/listing.py), declaration included."""

    def register(function: Callable[[M], bytes]) -> Callable[[M], bytes]:
        _WRITERS[cls] = function
        return function

    return register


def parses(cls: type[M], root: str) -> Callable[[Callable[[Element], M]], Callable[[Element], M]]:
    """Register the function that reads a `root` element into a `cls`."""

    def register(function: Callable[[Element], M]) -> Callable[[Element], M]:
        _PARSERS[cls] = (root, function)
        return function

    return register


def parsed_models() -> list[type[Any]]:
    """Every model with a registered parser (those of the modules imported so far)."""
    return list(_PARSERS)


def render(model: object) -> bytes:
    """The XML document of a model, with the XML declaration."""
    writer = _WRITERS.get(type(model))
    if writer is not None:
        return writer(model)
    renderer = _RENDERERS.get(type(model))
    if renderer is None:
        raise TypeError(f"no XML renderer for {type(model).__name__}")
    return DECLARATION + etree.tostring(renderer(model), encoding="UTF-8")


def parse(cls: type[M], data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> M:
    """A request body as a `cls`; S3Error(MALFORMED_XML) for anything that does not fit."""
    entry = _PARSERS.get(cls)
    if entry is None:
        raise TypeError(f"no XML parser for {cls.__name__}")
    root_name, reader = entry
    root = parse_document(data, max_size=max_size)
    if local_name(root) != root_name:
        raise _malformed()
    return cast(M, reader(root))


# -- building -------------------------------------------------------------------------------


def _root(name: str, *, ns: str | None = S3_NS) -> Element:
    if ns is None:
        return etree.Element(name)
    # The default namespace's prefix is None; lxml-stubs only allow str prefixes.
    return etree.Element(f"{{{ns}}}{name}", nsmap={None: ns})  # type: ignore[dict-item]


def _add(parent: Element, name: str, text: str | None = None) -> Element:
    """A child in the parent's namespace."""
    tag = parent.tag
    assert isinstance(tag, str)
    prefix = tag[: tag.index("}") + 1] if tag.startswith("{") else ""
    child = etree.SubElement(parent, prefix + name)
    if text is not None:
        try:
            child.text = text
        except ValueError:
            # A key or message holding a control character XML 1.0 cannot express
            # (clients that need such keys list with encoding-type=url).
            child.text = NON_XML.sub("\ufffd", text)
    return child


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _owner(parent: Element, owner: Owner, name: str = "Owner") -> None:
    el = _add(parent, name)
    _add(el, "ID", owner.id)
    _add(el, "DisplayName", owner.display_name)


def _checksums(parent: Element, checksums: Mapping[str, str]) -> None:
    for algorithm, value in checksums.items():
        _add(parent, f"Checksum{algorithm.upper()}", value)


# -- reading --------------------------------------------------------------------------------


def _malformed() -> S3Error:
    return S3Error(S3ErrorCode.MALFORMED_XML)


def _children(parent: Element, name: str) -> list[Element]:
    return [child for child in parent if local_name(child) == name]


def _text(parent: Element, name: str, *, required: bool = False) -> str | None:
    """The text of the one `name` child ("" when empty); None when absent."""
    found = _children(parent, name)
    if len(found) > 1 or (required and not found):
        raise _malformed()
    return (found[0].text or "") if found else None


def parse_integer(text: str | None) -> int | None:
    """An XML integer element's text (at most 10 digits); MalformedXML otherwise."""
    if text is None:
        return None
    value = text.strip()
    digits = value[1:] if value.startswith("-") else value
    # str.isdigit() is also true of "²" or "٣", which int() refuses: ASCII digits only.
    if not _is_ascii_digits(digits) or len(digits) > 10:
        raise _malformed()
    return int(value)


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise _malformed()
    return lowered == "true"


# -- ListBuckets: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html ------


@renders(ListAllMyBucketsResult)
def _render_list_buckets(model: ListAllMyBucketsResult) -> Element:
    root = _root("ListAllMyBucketsResult")
    _owner(root, model.owner)
    buckets = _add(root, "Buckets")
    for bucket in model.buckets:
        el = _add(buckets, "Bucket")
        _add(el, "Name", bucket.name)
        _add(el, "CreationDate", iso8601(bucket.created))
        _add(el, "BucketRegion", bucket.region)
    if model.continuation_token is not None:
        _add(root, "ContinuationToken", model.continuation_token)
    if model.prefix is not None:
        _add(root, "Prefix", model.prefix)
    return root


# -- CreateBucket: https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html ----


@renders(CreateBucketConfiguration)
def _render_create_bucket_configuration(model: CreateBucketConfiguration) -> Element:
    root = _root("CreateBucketConfiguration")
    if model.location_constraint is not None:
        _add(root, "LocationConstraint", model.location_constraint)
    return root


@parses(CreateBucketConfiguration, "CreateBucketConfiguration")
def _parse_create_bucket_configuration(root: Element) -> CreateBucketConfiguration:
    location = (_text(root, "LocationConstraint") or "").strip()
    return CreateBucketConfiguration(location or None)


# -- GetBucketLocation: https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html


@renders(LocationConstraint)
def _render_location_constraint(model: LocationConstraint) -> Element:
    root = _root("LocationConstraint")
    if model.region != "us-east-1":  # us-east-1 is the empty (null) constraint
        root.text = model.region
    return root


# -- DeleteObjects: https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html --


@renders(Delete)
def _render_delete(model: Delete) -> Element:
    root = _root("Delete")
    for identifier in model.objects:
        el = _add(root, "Object")
        _add(el, "Key", identifier.key)
        if identifier.version_id is not None:
            _add(el, "VersionId", identifier.version_id)
        for name, text in (
            ("ETag", identifier.etag),
            ("LastModifiedTime", identifier.last_modified_time),
            ("Size", identifier.size),
        ):
            if text is not None:
                _add(el, name, text)
    if model.quiet:
        _add(root, "Quiet", "true")
    return root


@parses(Delete, "Delete")
def _parse_delete(root: Element) -> Delete:
    objects: list[ObjectIdentifier] = []
    for el in _children(root, "Object"):
        if len(objects) == MAX_DELETE_OBJECTS:
            # Refused before the rest is read: 35,000 tiny elements fit in the 1 MB a body
            # may have, and reading each in Python holds the GIL from the event loop.
            raise _malformed()
        key = _text(el, "Key", required=True)
        assert key is not None
        objects.append(
            ObjectIdentifier(
                key,
                _text(el, "VersionId") or None,
                etag=_text(el, "ETag"),
                last_modified_time=_text(el, "LastModifiedTime"),
                size=_text(el, "Size"),
            )
        )
    if not objects:
        raise _malformed()
    quiet = _text(root, "Quiet")
    return Delete(tuple(objects), quiet=_parse_bool(quiet) if quiet is not None else False)


@renders(DeleteResult)
def _render_delete_result(model: DeleteResult) -> Element:
    root = _root("DeleteResult")
    for deleted in model.deleted:
        el = _add(root, "Deleted")
        _add(el, "Key", deleted.key)
        if deleted.version_id is not None:
            _add(el, "VersionId", deleted.version_id)
        if deleted.delete_marker:
            _add(el, "DeleteMarker", "true")
        if deleted.delete_marker_version_id is not None:
            _add(el, "DeleteMarkerVersionId", deleted.delete_marker_version_id)
    for error in model.errors:
        el = _add(root, "Error")
        _add(el, "Key", error.key)
        if error.version_id is not None:
            _add(el, "VersionId", error.version_id)
        _add(el, "Code", error.code)
        _add(el, "Message", error.message)
    return root


# -- CopyObject: https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html --------


@renders(CopyObjectResult)
def _render_copy_object_result(model: CopyObjectResult) -> Element:
    root = _root("CopyObjectResult")
    _add(root, "LastModified", iso8601(model.last_modified))
    _add(root, "ETag", quote_etag(model.etag))
    _checksums(root, model.checksums)
    return root


# -- ListObjects, ListObjectsV2: written as bytes by gateway/xml/listing.py (see there why).


def _encoder(encoding_type: str | None) -> Callable[[str], str]:
    if encoding_type == "url":
        return url_encode
    return lambda value: value


# -- Multipart uploads ----------------------------------------------------------------------
# CreateMultipartUpload: https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html


@renders(InitiateMultipartUploadResult)
def _render_initiate(model: InitiateMultipartUploadResult) -> Element:
    root = _root("InitiateMultipartUploadResult")
    _add(root, "Bucket", model.bucket)
    _add(root, "Key", model.key)
    _add(root, "UploadId", model.upload_id)
    return root


# CompleteMultipartUpload: https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
# Part ETags arrive quoted (SDKs send them as UploadPart returned them) or bare.


def _unquote_etag(value: str) -> str:
    return value.strip().strip('"').strip()


@renders(CompleteMultipartUpload)
def _render_complete(model: CompleteMultipartUpload) -> Element:
    root = _root("CompleteMultipartUpload")
    for part in model.parts:
        el = _add(root, "Part")
        _add(el, "PartNumber", str(part.part_number))
        _add(el, "ETag", quote_etag(part.etag))
        _checksums(el, part.checksums)
    return root


@parses(CompleteMultipartUpload, "CompleteMultipartUpload")
def _parse_complete(root: Element) -> CompleteMultipartUpload:
    parts = []
    for el in _children(root, "Part"):
        number = (_text(el, "PartNumber", required=True) or "").strip()
        etag = _text(el, "ETag", required=True)
        assert etag is not None
        if not _is_ascii_digits(number) or len(number) > 9:
            raise _malformed()
        checksums = {}
        for algorithm in ALGORITHMS:
            value = _text(el, f"Checksum{algorithm}")
            if value is not None:
                checksums[algorithm] = value.strip()
        parts.append(CompletedPart(int(number), _unquote_etag(etag), checksums))
    if not parts:
        raise _malformed()
    return CompleteMultipartUpload(tuple(parts))


@renders(CompleteMultipartUploadResult)
def _render_complete_result(model: CompleteMultipartUploadResult) -> Element:
    root = _root("CompleteMultipartUploadResult")
    _add(root, "Location", model.location)
    _add(root, "Bucket", model.bucket)
    _add(root, "Key", model.key)
    _add(root, "ETag", quote_etag(model.etag))
    _checksums(root, model.checksums)
    if model.checksum_type is not None:
        _add(root, "ChecksumType", model.checksum_type)
    return root


# UploadPartCopy: https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html


@renders(CopyPartResult)
def _render_copy_part_result(model: CopyPartResult) -> Element:
    root = _root("CopyPartResult")
    _add(root, "LastModified", iso8601(model.last_modified))
    _add(root, "ETag", quote_etag(model.etag))
    _checksums(root, model.checksums)
    return root


# ListParts: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html


@renders(ListPartsResult)
def _render_list_parts(model: ListPartsResult) -> Element:
    root = _root("ListPartsResult")
    _add(root, "Bucket", model.bucket)
    _add(root, "Key", model.key)
    _add(root, "UploadId", model.upload_id)
    _add(root, "PartNumberMarker", str(model.part_number_marker))
    if model.next_part_number_marker is not None:
        _add(root, "NextPartNumberMarker", str(model.next_part_number_marker))
    _add(root, "MaxParts", str(model.max_parts))
    _add(root, "IsTruncated", _bool(model.is_truncated))
    for part in model.parts:
        el = _add(root, "Part")
        _add(el, "PartNumber", str(part.part_number))
        _add(el, "LastModified", iso8601(part.last_modified))
        _add(el, "ETag", quote_etag(part.etag))
        _add(el, "Size", str(part.size))
        _checksums(el, part.checksums)
    _owner(root, model.initiator, "Initiator")
    _owner(root, model.owner)
    _add(root, "StorageClass", model.storage_class)
    if model.checksum_algorithm is not None:
        _add(root, "ChecksumAlgorithm", model.checksum_algorithm)
    if model.checksum_type is not None:
        _add(root, "ChecksumType", model.checksum_type)
    return root


# ListMultipartUploads: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html
# With encoding-type=url, Key, Prefix, Delimiter, KeyMarker and NextKeyMarker are encoded.


@renders(ListMultipartUploadsResult)
def _render_list_uploads(model: ListMultipartUploadsResult) -> Element:
    encode = _encoder(model.encoding_type)
    root = _root("ListMultipartUploadsResult")
    _add(root, "Bucket", model.bucket)
    _add(root, "KeyMarker", encode(model.key_marker))
    _add(root, "UploadIdMarker", model.upload_id_marker)
    if model.next_key_marker is not None:
        _add(root, "NextKeyMarker", encode(model.next_key_marker))
    if model.next_upload_id_marker is not None:
        _add(root, "NextUploadIdMarker", model.next_upload_id_marker)
    _add(root, "Prefix", encode(model.prefix))
    if model.delimiter:
        _add(root, "Delimiter", encode(model.delimiter))
    _add(root, "MaxUploads", str(model.max_uploads))
    _add(root, "IsTruncated", _bool(model.is_truncated))
    if model.encoding_type is not None:
        _add(root, "EncodingType", model.encoding_type)
    for upload in model.uploads:
        el = _add(root, "Upload")
        _add(el, "Key", encode(upload.key))
        _add(el, "UploadId", upload.upload_id)
        _owner(el, upload.initiator, "Initiator")
        _owner(el, upload.owner)
        _add(el, "StorageClass", upload.storage_class)
        _add(el, "Initiated", iso8601(upload.initiated))
        if upload.checksum_algorithm is not None:
            _add(el, "ChecksumAlgorithm", upload.checksum_algorithm)
        if upload.checksum_type is not None:
            _add(el, "ChecksumType", upload.checksum_type)
    for prefix in model.common_prefixes:
        _add(_add(root, "CommonPrefixes"), "Prefix", encode(prefix))
    return root


# -- GetObjectAttributes: https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html
# The ETag element is not quoted here, unlike every other S3 document.


@renders(GetObjectAttributesResponse)
def _render_object_attributes(model: GetObjectAttributesResponse) -> Element:
    root = _root("GetObjectAttributesResponse")
    if model.etag is not None:
        _add(root, "ETag", model.etag)
    if model.checksums:
        el = _add(root, "Checksum")
        _checksums(el, model.checksums)
        if model.checksum_type is not None:
            _add(el, "ChecksumType", model.checksum_type)
    if model.object_parts is not None:
        parts = model.object_parts
        el = _add(root, "ObjectParts")
        _add(el, "PartsCount", str(parts.parts_count))
        _add(el, "PartNumberMarker", str(parts.part_number_marker))
        if parts.next_part_number_marker is not None:
            _add(el, "NextPartNumberMarker", str(parts.next_part_number_marker))
        _add(el, "MaxParts", str(parts.max_parts))
        _add(el, "IsTruncated", _bool(parts.is_truncated))
        for part in parts.parts:
            part_el = _add(el, "Part")
            _add(part_el, "PartNumber", str(part.part_number))
            _add(part_el, "Size", str(part.size))
            _checksums(part_el, part.checksums)
    if model.storage_class is not None:
        _add(root, "StorageClass", model.storage_class)
    if model.object_size is not None:
        _add(root, "ObjectSize", str(model.object_size))
    return root


# -- Errors: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#RESTErrorResponses


@renders(ErrorDocument)
def _render_error(model: ErrorDocument) -> Element:
    root = _root("Error", ns=None)
    _add(root, "Code", model.code)
    _add(root, "Message", model.message)
    for name, value in model.fields.items():
        _add(root, name, value)
    if model.resource is not None:
        _add(root, "Resource", model.resource)
    _add(root, "RequestId", model.request_id)
    return root
