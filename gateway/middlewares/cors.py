"""CORS: answer browsers' preflights, and mark actual responses a bucket's rules allow.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html. An OPTIONS request is a
preflight, answered here from the addressed bucket's rules (gateway/s3/cors.py) without
authentication, as S3 does: 200 with the Access-Control-* headers, or 403 (S3's
"CORSResponse" AccessForbidden) when the bucket has no rules or none matches. Any other
request carrying an Origin is served as usual; when a rule allows its origin and method,
the Access-Control-* headers are added as the response is prepared (the
`on_response_prepare` hook), so streamed answers and error documents carry them alike.

Placed inside the error middleware: a refused preflight is an S3 error document.
"""

from __future__ import annotations

from functools import lru_cache

from aiohttp import web
from aiohttp.typedefs import Handler

import gateway.xml.cors  # noqa: F401  (registers CORSConfiguration's parser)
from gateway.dispatch import APP_SERVICES
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import CORS_CONFIG
from gateway.middlewares.request_id import request_id_of
from gateway.responses import common_headers
from gateway.routing import is_host_style, split_target
from gateway.s3.cors import (
    CORSConfiguration,
    match_preflight,
    match_request,
    preflight_headers,
    request_header_names,
    response_headers,
)
from gateway.tus.paths import is_tus_path
from gateway.xml.codec import parse

CORS_HEADERS = web.RequestKey("cors_headers", dict[str, str])
_NOT_ENABLED = "CORSResponse: CORS is not enabled for this bucket."


@lru_cache(maxsize=1024)
def _rules(document: str) -> CORSConfiguration:
    return parse(CORSConfiguration, document.encode())


def _target(request: web.Request) -> tuple[str | None, str | None]:
    settings = request.app[APP_SERVICES].settings
    # A website host (--website-domain) names its bucket as the website endpoint reads it.
    website = is_host_style(request.host, settings.website_domain)
    domain = settings.website_domain if website else settings.domain
    try:
        return split_target(request.host, request.raw_path, domain)
    except UnicodeDecodeError:
        return None, None


async def _configuration(request: web.Request, bucket: str | None) -> CORSConfiguration | None:
    if bucket is None:
        return None
    documents = await request.app[APP_SERVICES].access_cache.documents(bucket)
    document = documents.get(CORS_CONFIG)
    return None if document is None else _rules(document)


def _is_tus(request: web.Request) -> bool:
    domain = request.app[APP_SERVICES].settings.domain
    return is_tus_path(request.host, request.raw_path, domain)


async def preflight(request: web.Request) -> web.Response:
    origin = request.headers.get("Origin")
    if not origin:
        raise S3Error(
            S3ErrorCode.BAD_REQUEST, "Insufficient information. Origin request header needed."
        )
    method = request.headers.get("Access-Control-Request-Method")
    if not method:
        raise S3Error(S3ErrorCode.BAD_REQUEST, "Invalid Access-Control-Request-Method: null")
    bucket, key = _target(request)
    resource_type = "OBJECT" if key is not None else "BUCKET"
    config = await _configuration(request, bucket)
    if config is None:
        raise S3Error(
            S3ErrorCode.CORS_FORBIDDEN, _NOT_ENABLED, Method=method, ResourceType=resource_type
        )
    names = request_header_names(request.headers.get("Access-Control-Request-Headers"))
    rule = match_preflight(config, origin, method, names)
    if rule is None:
        raise S3Error(S3ErrorCode.CORS_FORBIDDEN, Method=method, ResourceType=resource_type)
    headers = {**common_headers(request_id_of(request)), **preflight_headers(rule, origin, names)}
    return web.Response(status=200, headers=headers)


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if _is_tus(request):  # tus answers its own preflights (gateway/tus/protocol.py)
        return await handler(request)
    if request.method == "OPTIONS":
        return await preflight(request)
    origin = request.headers.get("Origin")
    if origin:
        bucket, _ = _target(request)
        config = await _configuration(request, bucket)
        rule = None if config is None else match_request(config, origin, request.method)
        if rule is not None:
            request[CORS_HEADERS] = response_headers(rule, origin)
    return await handler(request)


async def add_cors_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """on_response_prepare: the headers cors_middleware decided on, errors included."""
    # Only a request with an Origin has them (cors_middleware): the headers answer for the
    # others, without the KeyError an absent key costs the request's mapping.
    if "Origin" not in request.headers or not isinstance(request, web.Request):
        return
    headers = request.get(CORS_HEADERS)
    if headers:
        response.headers.update(headers)
