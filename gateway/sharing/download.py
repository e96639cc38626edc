"""GET and HEAD /s/TOKEN: a share link's object, to whoever holds the token.

Answers, in the order they are decided (S3 error documents, like every other answer):

    404 NoSuchShareLink   no link has this token (or it was never one: wrong shape)
    410 ShareLinkGone     the link was revoked, has expired or reached its download limit
                          (410, not 404: the holder learns the link existed but is over,
                          and that asking again will not help)
    403 AccessDenied      its creator may no longer read the object (checked every time)
    404 NoSuchKey / NoSuchVersion (403 to a creator who may not list the bucket)
    304 / 412 / 416       the request's conditional headers and Range, as GetObject has them

A GET that is answered with the object (200, or 206 for a Range) counts one download,
claimed atomically just before the body is sent (gateway/meta/shares.py): of concurrent
requests to a link with one download left, one gets the object and the others 410. A HEAD
or an answer without a body (304, 412, 416) counts nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

from auth.authenticate import anonymous_result
from auth.credentials import ANONYMOUS
from events.scan.quarantine import is_quarantined
from gateway import responses
from gateway.audit import AUDIT_PRINCIPAL, AUDIT_TARGET, AuditTarget
from gateway.body import RequestBody
from gateway.context import RequestContext, Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import ShareLink
from gateway.middlewares.request_id import request_id_of
from gateway.ops import object_read
from gateway.responses import S3Response, StreamBody
from gateway.routing import ROUTES
from gateway.sharing.links import Caller, load_creator, read_access
from gateway.sharing.tokens import is_token, token_hash

DOWNLOAD_OPERATION = "GetShareLink"  # the audit log's name for a download
_ROUTES = {r.operation: r for r in ROUTES if r.operation in ("GetObject", "HeadObject")}
_GONE = {
    "revoked": "This share link has been revoked.",
    "expired": "This share link has expired.",
    "exhausted": "This share link has reached its download limit.",
}


def gone(state: str) -> S3Error:
    return S3Error(S3ErrorCode.SHARE_LINK_GONE, _GONE.get(state))


def content_disposition(key: str) -> str:
    """`attachment` named after the key's last segment: an ASCII `filename` for old
    clients and the exact name as RFC 8187 `filename*` (RFC 6266 §4.3)."""
    name = key.rsplit("/", 1)[-1] or "download"
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


async def serve_download(
    request: web.Request, services: Services, token: str, headers: Mapping[str, str]
) -> web.StreamResponse:
    request[AUDIT_PRINCIPAL] = ANONYMOUS
    if request.method not in ("GET", "HEAD"):
        raise S3Error(S3ErrorCode.METHOD_NOT_ALLOWED, Method=request.method, ResourceType="share")
    if not is_token(token):
        raise S3Error(S3ErrorCode.NO_SUCH_SHARE_LINK)
    meta = services.meta
    now = services.clock()
    link = await meta.get_share_link(token_hash(token))
    if link is None:
        raise S3Error(S3ErrorCode.NO_SUCH_SHARE_LINK)
    request[AUDIT_TARGET] = AuditTarget(DOWNLOAD_OPERATION, link.bucket, link.key, link.version_id)
    if (state := link.state(now)) != "active":
        raise gone(state)
    result = await _read(request, services, link, headers, now)
    if request.method == "GET" and result.status in (200, 206):
        _, counted = await meta.claim_share_download(link.token_hash, services.clock())
        if not counted:
            await _discard(result)
            latest = await meta.get_share_link(link.token_hash)
            raise gone("revoked" if latest is None else latest.state(services.clock()))
    out = dict(result.headers)
    out["Content-Disposition"] = content_disposition(link.key)
    # A bearer link: no shared cache keeps the object, no Referer carries the token on.
    out["Cache-Control"] = "private, no-store"
    out["Referrer-Policy"] = "no-referrer"
    value = S3Response(result.status, out, result.body)
    return await responses.write(request, value, request_id_of(request))


async def _read(
    request: web.Request,
    services: Services,
    link: ShareLink,
    headers: Mapping[str, str],
    now: float,
) -> S3Response:
    """GetObject (HeadObject) as the link's creator, after asking whether they may."""
    meta = services.meta
    # The IAM user's policies read afresh (not through the credential cache): a grant
    # taken away ends the link's downloads with the next request.
    creator = await load_creator(meta, link.account, link.iam_user, meta.get_identity)
    if creator is None:
        raise S3Error(S3ErrorCode.ACCESS_DENIED)
    head = request.method == "HEAD"
    caller = Caller(headers, request.remote or "", request.secure, now)
    access = read_access(
        meta,
        services.access_cache,
        creator,
        link.bucket,
        link.key,
        link.version_id,
        caller,
        head=head,
        trusted=services.trusted_proxies,
    )
    bucket = await meta.get_bucket(link.bucket)
    if bucket is None:  # deleted with its links a moment ago
        raise S3Error(S3ErrorCode.NO_SUCH_SHARE_LINK)
    await access.check(bucket)
    if services.access_cache.quarantine:
        # A link hands the object to anyone: the quarantine's owner-only reads exclude it.
        found = await meta.get_object(link.bucket, link.key, link.version_id)
        if found is not None and not found.is_delete_marker and is_quarantined(found):
            raise S3Error(S3ErrorCode.ACCESS_DENIED)
    query = {} if link.version_id is None else {"versionId": link.version_id}
    ctx = RequestContext(
        request_id=request_id_of(request),
        route=_ROUTES["HeadObject" if head else "GetObject"],
        bucket=link.bucket,
        key=link.key,
        bucket_record=bucket,
        method=request.method,
        query=MultiDictProxy(MultiDict(query)),
        headers=CIMultiDictProxy(CIMultiDict(request.headers)),
        principal=creator.principal,
        access=access,
        body=RequestBody(None, anonymous_result(), headers),
        services=services,
        now=now,
    )
    try:
        return await (object_read.head_object if head else object_read.get_object)(ctx)
    except S3Error as error:
        raise await access.hide_missing(error) from error.__cause__


async def _discard(result: S3Response) -> None:
    """Close a body that will not be sent (a stream holds a backend read open)."""
    if isinstance(result.body, StreamBody):
        aclose = getattr(result.body.stream, "aclose", None)
        if aclose is not None:
            await aclose()
