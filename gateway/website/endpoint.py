"""The website endpoint: a bucket's objects answered as a static web site.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/WebsiteEndpoints.html. A request
reaches it on the --website-listen port (the bucket named by the Host `BUCKET.<website
domain>`, or by the path `/BUCKET/KEY`), or on the S3 port with a Host under
--website-domain. Only GET and HEAD, always anonymous: each object read is authorized by
the same engine as an anonymous GetObject (gateway/access.py), so only what a bucket's
policy or ACLs make public is served, and a missing key is 403 to whoever may not list the
bucket. The order of the rules is gateway/s3/website.py's; objects are read as GetObject
reads them (gateway/ops/object_read.read_version: Range, conditional headers, streaming).
Every failure is an HTML page (pages.py) or the bucket's error document, never XML.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import quote

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

from auth.authenticate import anonymous_result
from auth.credentials import ANONYMOUS
from backends.base import BackendError
from gateway import responses
from gateway.access import Access, RequestFacts
from gateway.audit import AUDIT_PRINCIPAL, AUDIT_TARGET, AuditTarget
from gateway.body import RequestBody
from gateway.context import RequestContext, Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import Bucket
from gateway.middlewares.errors import translate
from gateway.middlewares.request_id import request_id_of
from gateway.ops.common import find_version
from gateway.ops.object_read import read_version
from gateway.responses import S3Response
from gateway.routing import ROUTES, Route, is_host_style, split_target
from gateway.s3.website import (
    Origin,
    WebsiteConfiguration,
    directory_index,
    folder_location,
    index_key,
    match_rule,
    object_redirect_location,
    redirect_all_location,
    rule_location,
)
from gateway.website.pages import CONTENT_TYPE, PageError, error_page

log = logging.getLogger(__name__)

REDIRECT_HEADER = "x-amz-website-redirect-location"
_READS = {r.operation: r for r in ROUTES if r.operation in ("GetObject", "HeadObject")}
# Headers of the request that are about the object it asked for, not the error document.
_NOT_FOR_ERROR_DOCUMENT = frozenset(
    {"range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since"}
)


def is_website_host(host: str, website_domain: str | None) -> bool:
    """Whether a request on the S3 port is for the website endpoint (`BUCKET.DOMAIN`)."""
    return is_host_style(host, website_domain)


def website_target(
    host: str, raw_path: str, website_domain: str | None
) -> tuple[str | None, str, str]:
    """(bucket, key, base): the bucket from the Host under `website_domain`, else from the
    path; `base` is the path before the key (`/bucket` in path style)."""
    bucket, key = split_target(host, raw_path, website_domain)
    base = "" if is_host_style(host, website_domain) else f"/{quote(bucket or '')}"
    return bucket, key or "", base


def _redirect(status: int, location: str) -> S3Response:
    return S3Response(status, {"Location": location})


def _page_error(error: S3Error) -> PageError:
    return PageError(error.code.code, error.message, dict(error.fields))


def error_response(
    error: S3Error, request_id: str, document_error: S3Error | None = None
) -> S3Response:
    """The HTML page of `error` (and of the error document's own failure)."""
    body = error_page(
        error.status,
        _page_error(error),
        request_id,
        None if document_error is None else _page_error(document_error),
    )
    headers = {
        "Content-Type": CONTENT_TYPE,
        "x-amz-error-code": error.code.code,
        "x-amz-error-message": error.message,
    }
    return S3Response(error.status, headers, body)


@dataclass(frozen=True)
class _Request:
    """One website request: what it addresses and where it came in."""

    request: web.Request
    services: Services
    request_id: str
    bucket: str | None
    key: str
    origin: Origin
    headers: CIMultiDictProxy[str]
    now: float

    def context(
        self, bucket: Bucket, key: str, headers: Mapping[str, str] | None = None
    ) -> RequestContext:
        """An anonymous GetObject (HeadObject) of `key`, as dispatch would build it."""
        request, services = self.request, self.services
        route: Route = _READS["HeadObject" if request.method == "HEAD" else "GetObject"]
        sent = self.headers if headers is None else CIMultiDictProxy(CIMultiDict(headers))
        lower = {name.lower(): value for name, value in sent.items()}
        facts = RequestFacts(
            operation=route.operation,
            bucket=bucket.name,
            key=key,
            headers=lower,
            query={},
            peer=request.remote or "",
            secure=request.secure,
            now=self.now,
        )
        access = Access(
            services.meta, services.access_cache, ANONYMOUS, None, facts, services.trusted_proxies
        )
        return RequestContext(
            request_id=self.request_id,
            route=route,
            bucket=bucket.name,
            key=key,
            bucket_record=bucket,
            method=request.method,
            # Sub-resources and parameters (versionId, response-*) mean nothing here.
            query=MultiDictProxy(MultiDict()),
            headers=sent,
            principal=ANONYMOUS,
            access=access,
            body=RequestBody(None, anonymous_result(), lower),
            services=services,
            now=self.now,
        )

    async def answer(self) -> S3Response:
        method = self.request.method
        if method not in ("GET", "HEAD"):
            raise S3Error(S3ErrorCode.METHOD_NOT_ALLOWED, Method=method, ResourceType="OBJECT")
        if self.bucket is None:
            raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName="")
        bucket = await self.services.meta.get_bucket(self.bucket)
        if bucket is None:
            raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=self.bucket)
        config = await self.services.website_configs.get(bucket)
        if config is None:
            raise S3Error(S3ErrorCode.NO_SUCH_WEBSITE_CONFIGURATION, BucketName=bucket.name)
        if config.redirect_all is not None:
            return _redirect(301, redirect_all_location(config.redirect_all, self.key, self.origin))
        rule = match_rule(config.routing_rules, self.key)
        if rule is not None:
            return _redirect(*rule_location(rule, self.key, self.origin))
        try:
            return await self._serve(bucket, config)
        except S3Error as error:
            if error.code is S3ErrorCode.NOT_MODIFIED:
                return S3Response(304, dict(error.headers))
            return await self._failed(bucket, config, error)

    async def _serve(self, bucket: Bucket, config: WebsiteConfiguration) -> S3Response:
        ctx = self.context(bucket, index_key(self.key, config.index_suffix))
        try:
            await ctx.access.check(bucket)
            version = await find_version(ctx)
        except S3Error as error:
            folder = directory_index(self.key, config.index_suffix)
            # Denied too: with ACLs alone, a key that does not exist has no grant to read.
            if (
                error.code in (S3ErrorCode.NO_SUCH_KEY, S3ErrorCode.ACCESS_DENIED)
                and folder is not None
                and await self._readable(bucket, folder)
            ):
                return _redirect(302, folder_location(self.key, self.origin))
            raise await ctx.access.hide_missing(error) from None
        location = version.headers.get(REDIRECT_HEADER)
        if location:
            return _redirect(301, object_redirect_location(location, self.origin))
        return await read_version(ctx, version)

    async def _readable(self, bucket: Bucket, key: str) -> bool:
        """Whether `key` exists and an anonymous caller may read it."""
        ctx = self.context(bucket, key, {})
        try:
            await ctx.access.check(bucket)
            await find_version(ctx)
        except S3Error:
            return False
        return True

    async def _failed(
        self, bucket: Bucket, config: WebsiteConfiguration, error: S3Error
    ) -> S3Response:
        """A routing rule's redirect for the error's status, else the error document (4XX
        only, as S3 has it) with that status, else the error page."""
        rule = match_rule(config.routing_rules, self.key, error.status)
        if rule is not None:
            return _redirect(*rule_location(rule, self.key, self.origin))
        if config.error_key is None or not 400 <= error.status < 500:
            raise error
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in _NOT_FOR_ERROR_DOCUMENT
        }
        ctx = self.context(bucket, config.error_key, headers)
        try:
            await ctx.access.check(bucket)
            document = await read_version(ctx, await find_version(ctx))
        except S3Error as failure:
            shown = await ctx.access.hide_missing(failure)
            return error_response(error, self.request_id, shown)
        return replace(document, status=error.status)


async def serve_website(request: web.Request, services: Services) -> web.StreamResponse:
    """Answer one website request, whatever happens: an object, a redirect or a page."""
    request_id = request_id_of(request)
    request[AUDIT_PRINCIPAL] = ANONYMOUS
    try:
        value = await _answer(request, services, request_id)
    except BackendError as exc:
        log.warning("backend failure on website %s %s: %s", request.method, request.path, exc)
        value = error_response(translate(exc), request_id)
    except Exception:
        log.exception("internal error on website %s %s", request.method, request.path)
        value = error_response(S3Error(S3ErrorCode.INTERNAL_ERROR), request_id)
    try:
        return await responses.write(request, value, request_id)
    except BackendError as exc:  # the body's first chunk failed: headers are not sent yet
        log.warning("backend failure on website %s %s: %s", request.method, request.path, exc)
        failed = error_response(translate(exc), request_id)
        return await responses.write(request, failed, request_id)


async def _answer(request: web.Request, services: Services, request_id: str) -> S3Response:
    raw_path = request.raw_path.split("?", 1)[0]
    try:
        bucket, key, base = website_target(request.host, raw_path, services.settings.website_domain)
    except UnicodeDecodeError:
        return error_response(
            S3Error(S3ErrorCode.INVALID_ARGUMENT, "Key is not valid UTF-8"), request_id
        )
    if base and not key and not raw_path.endswith("/"):
        # `/bucket` to `/bucket/`, so that the index page's relative links resolve inside it.
        return _redirect(302, f"{base}/")
    operation = "WebsiteHeadObject" if request.method == "HEAD" else "WebsiteGetObject"
    request[AUDIT_TARGET] = AuditTarget(operation, bucket, key or None, None)
    site = _Request(
        request=request,
        services=services,
        request_id=request_id,
        bucket=bucket,
        key=key,
        origin=Origin("https" if request.secure else "http", request.host, base),
        headers=CIMultiDictProxy(CIMultiDict(request.headers)),
        now=services.clock(),
    )
    try:
        return await site.answer()
    except S3Error as error:
        return error_response(error, request_id)
