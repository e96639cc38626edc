"""PostObject: an upload from an HTML form (multipart/form-data), streamed.

https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html. How this works:
  1. The body is read until the `file` part begins (auth/postform.py): the fields before
     it are all the form says (at most 20 KB).
  2. The form names who asks (auth/postpolicy.py): a V4 or V2 signature over the policy,
     which must then hold for every field; or no signature (anonymous). Dispatch let the
     request through unauthorized (gateway.access.FORM_AUTHORIZED): the upload of the key
     is authorized here, as that principal, with the form's fields as its headers.
  3. The rest of the file streams through the write path PutObject uses
     (gateway/writepath.py: ETag, checksums), content-length-range checked as it flows;
     the rest of the body must close its boundary before the version is committed.
  4. The answer: a 303 to success_action_redirect, or success_action_status (200, 201
     with a PostResponse document, 204 by default).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

import gateway.xml.tagging  # noqa: F401  (registers Tagging's parser)
from auth.credentials import ANONYMOUS
from auth.postform import FormReader, boundary_of
from auth.postpolicy import (
    PostPolicy,
    check_length,
    check_policy,
    form_signature,
    parse_post_policy,
    verify_signature,
)
from events.scan.inline import store_scanned
from gateway.codec.checksums import requested_checksum
from gateway.compression import compression_for
from gateway.context import RequestContext
from gateway.errors import S3Error, S3ErrorCode
from gateway.limits.admission import admit_write, quota_capped
from gateway.meta.base import Bucket, ObjectVersion
from gateway.ops.common import (
    commit_upload,
    default_retention,
    single_put_limit,
    upload_verifier,
)
from gateway.request_acl import object_write_acl
from gateway.responses import S3Response
from gateway.routing import MAX_KEY_BYTES, is_host_style
from gateway.s3.headers import CONTENT_HEADERS, META_PREFIX, object_fields, refuse_unsupported
from gateway.s3.object_headers import checksum_headers, written_version_headers
from gateway.s3.object_lock import write_retention
from gateway.s3.tagging import tagging_header, validate_tags
from gateway.xml.codec import parse, render
from gateway.xml.post_object import PostResponse
from gateway.xml.tagging import Tagging
from lifecycle.expiry import expiration_headers

_FILENAME = "${filename}"
# Form fields that say something about the object, as the same-named headers of PutObject.
_OBJECT_FIELDS = frozenset({*CONTENT_HEADERS, "content-type", "content-md5"})
_OBJECT_PREFIXES = (META_PREFIX, "x-amz-checksum-", "x-amz-object-lock-", "x-amz-storage-class")
_OBJECT_AMZ = frozenset({"x-amz-server-side-encryption", "x-amz-sdk-checksum-algorithm"})


@dataclass(frozen=True)
class _Form:
    fields: Mapping[str, str]  # lower-case names
    first: list[bytes]  # the file's bytes read with the fields
    filename: str | None


async def post_object(ctx: RequestContext) -> S3Response:
    bucket = ctx.target_bucket
    reader = FormReader(boundary_of(ctx.headers.get("content-type")))
    chunks = aiter(ctx.body)
    form = await _read_fields(reader, chunks)
    key = _object_key(form)
    signer = await _authorize(ctx, bucket, key, form.fields)
    headers = _object_headers(form.fields)
    refuse_unsupported(headers)
    fields = object_fields(headers)
    checksum = requested_checksum(headers)
    tags = _tags(form.fields.get("tagging"))
    acl_field = form.fields.get("acl")
    access = await object_write_acl(
        ctx.services.meta,
        {} if acl_field is None else {"x-amz-acl": acl_field},
        bucket,
        signer.writer,
        ctx.access.acl_settings(bucket.name),
    )
    now = ctx.services.clock()
    retention = write_retention(
        bucket, tags, headers, await default_retention(ctx.services.meta, bucket), now=now
    )
    # The file's size is known only once the form ends: capped as it streams.
    allowance = await admit_write(ctx, bucket, key, None)
    stored = await store_scanned(
        ctx.services,
        quota_capped(
            _file_bytes(reader, form.first, chunks, signer.policy, single_put_limit(ctx)), allowance
        ),
        checksum_algorithm=checksum.algorithm,
        verify=upload_verifier(headers, ctx.body, checksum),
        compression=await compression_for(ctx.services, bucket.name, fields.content_type),
        subject=f"{bucket.name}/{key}",
    )
    saved = await commit_upload(ctx, bucket, key, stored, fields, access, retention)
    return await _answer(ctx, bucket, saved, form.fields)


# -- 1. the fields ------------------------------------------------------------------------------


async def _read_fields(reader: FormReader, chunks: AsyncIterator[bytes]) -> _Form:
    first: list[bytes] = []
    while reader.file is None:
        chunk = await anext(chunks, None)
        if chunk is None:
            reader.finish()  # raises: the body ended before any file
            raise S3Error(S3ErrorCode.INCORRECT_NUMBER_OF_FILES_IN_POST_REQUEST)
        first = reader.feed(chunk)
    return _Form(dict(reader.fields), first, reader.file.filename)


def _object_key(form: _Form) -> str:
    key = form.fields.get("key")
    if key is None:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "Bucket POST must contain a field named 'key'.  If it is specified, please check "
            "the order of the fields.",
            ArgumentName="key",
            ArgumentValue="",
        )
    if _FILENAME in key:
        # Browsers send the file's name, some with the client's path: its last segment.
        name = (form.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        key = key.replace(_FILENAME, name)
    if not key:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "User key must have a length greater than 0.",
            ArgumentName="key",
            ArgumentValue="",
        )
    if len(key.encode()) > MAX_KEY_BYTES:
        raise S3Error(
            S3ErrorCode.KEY_TOO_LONG,
            Size=str(len(key.encode())),
            MaxSizeAllowed=str(MAX_KEY_BYTES),
        )
    return key


# -- 2. who asks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Signer:
    policy: PostPolicy | None  # None for an anonymous form
    writer: str  # the account that writes (the bucket's owner for anonymous forms)


async def _authorize(
    ctx: RequestContext, bucket: Bucket, key: str, fields: Mapping[str, str]
) -> _Signer:
    """Who uploads, once the form's signature, its policy's conditions and the
    principal's permission to write `key` all hold."""
    signed = form_signature(fields)
    policy = None
    principal, identity = ANONYMOUS, None
    if signed is not None:
        # Temporary credentials bring their session token as a form field.
        access_key, principal, identity = await ctx.services.credentials.signer(
            signed.access_key, token=fields.get("x-amz-security-token"), now=ctx.now
        )
        verify_signature(signed, fields["policy"], access_key.secret_key)
        policy = parse_post_policy(fields["policy"])
        check_policy(policy, fields, bucket=bucket.name, now=ctx.now)
    access = ctx.access.for_form(
        principal,
        identity,
        key=key,
        fields=_authorization_headers(fields),
        signature_version=None if signed is None else signed.version.value,
    )
    await access.check_form(bucket)
    return _Signer(policy, principal.user or bucket.owner)


def _authorization_headers(fields: Mapping[str, str]) -> dict[str, str]:
    """The fields as the headers authorization reads (actions, condition keys)."""
    headers = _object_headers(fields)
    if "acl" in fields:
        headers["x-amz-acl"] = fields["acl"]
    if "tagging" in fields:
        headers["x-amz-tagging"] = tagging_header(_tags(fields["tagging"]))
    return headers


# -- 3. what the fields say about the object ---------------------------------------------------


def _object_headers(fields: Mapping[str, str]) -> dict[str, str]:
    return {
        name: value
        for name, value in fields.items()
        if name in _OBJECT_FIELDS or name in _OBJECT_AMZ or name.startswith(_OBJECT_PREFIXES)
    }


def _tags(document: str | None) -> dict[str, str]:
    """The `tagging` field: a Tagging XML document, as PutObjectTagging's body."""
    if document is None:
        return {}
    return validate_tags(parse(Tagging, document.encode()).tags)


async def _file_bytes(
    reader: FormReader,
    first: list[bytes],
    chunks: AsyncIterator[bytes],
    policy: PostPolicy | None,
    limit: int,
) -> AsyncIterator[bytes]:
    """The file's bytes, size-checked as they flow (`limit`: the largest single upload);
    ends once the body closed properly."""
    size = 0
    pending = first
    while True:
        for piece in pending:
            size += len(piece)
            check_length(policy, size, complete=False)
            if size > limit:
                raise S3Error(
                    S3ErrorCode.ENTITY_TOO_LARGE, ProposedSize=str(size), MaxSizeAllowed=str(limit)
                )
            yield piece
        chunk = await anext(chunks, None)
        if chunk is None:
            break
        pending = reader.feed(chunk)
    reader.finish()
    check_length(policy, size, complete=True)


# -- 4. the answer ------------------------------------------------------------------------------


async def _answer(
    ctx: RequestContext, bucket: Bucket, saved: ObjectVersion, fields: Mapping[str, str]
) -> S3Response:
    etag = f'"{saved.etag}"'
    location = _location(ctx, saved.key)
    headers = {"ETag": etag, "Location": location, **checksum_headers(saved)}
    headers.update(written_version_headers(saved.version_id))
    services = ctx.services
    headers.update(
        await expiration_headers(services.lifecycle_rules, services.lifecycle_timing, saved)
    )
    redirect = fields.get("success_action_redirect") or fields.get("redirect")
    if redirect and urlsplit(redirect).scheme in ("http", "https"):
        query = urlencode({"bucket": bucket.name, "key": saved.key, "etag": etag})
        separator = "&" if urlsplit(redirect).query else "?"
        headers["Location"] = f"{redirect}{separator}{query}"
        return S3Response(303, headers)
    status = fields.get("success_action_status")
    if status == "201":
        document = PostResponse(location, bucket.name, saved.key, etag)
        return S3Response.xml(render(document), 201, headers)
    if status == "200":
        return S3Response(200, headers)
    return S3Response(204, headers)


def _location(ctx: RequestContext, key: str) -> str:
    scheme = "https" if ctx.access.facts.secure else "http"
    host = ctx.headers.get("host", "")
    path = quote(key, safe="/~")
    if is_host_style(host, ctx.services.settings.domain):
        return f"{scheme}://{host}/{path}"
    return f"{scheme}://{host}/{quote(ctx.target_bucket.name)}/{path}"
