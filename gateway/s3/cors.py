"""CORS rules of a bucket: the model, its validation and the matcher. Pure.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html and
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html: at most 100 rules;
each allows origins (one `*` wildcard each), methods from GET/PUT/POST/DELETE/HEAD,
request headers (one `*` each) for preflights, and names the response headers a browser
may read (ExposeHeader) and how long it may cache a preflight (MaxAgeSeconds). The first
rule that matches answers.

A preflight (OPTIONS with Origin and Access-Control-Request-Method) matches a rule when
its origin, the requested method and every requested header are allowed; an actual request
with an Origin matches on origin and its own method. The answer echoes the origin (a rule
allowing "*" answers "*" and no credentials, as S3 does) and always varies on the request
headers that decided it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.errors import S3Error, S3ErrorCode

MAX_RULES = 100
MAX_CONFIGURATION_BYTES = 64 * 1024
METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"


@dataclass(frozen=True)
class CORSRule:
    allowed_methods: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None
    id: str | None = None


@dataclass(frozen=True)
class CORSConfiguration:
    rules: tuple[CORSRule, ...]


def validate(config: CORSConfiguration) -> None:
    """S3's checks of PutBucketCors (MalformedXML, InvalidRequest)."""
    if not config.rules or len(config.rules) > MAX_RULES:
        raise S3Error(
            S3ErrorCode.MALFORMED_XML,
            f"The CORS configuration must have between 1 and {MAX_RULES} rules",
        )
    for rule in config.rules:
        if not rule.allowed_methods or not rule.allowed_origins:
            raise S3Error(S3ErrorCode.MALFORMED_XML)
        for method in rule.allowed_methods:
            if method not in METHODS:
                raise S3Error(
                    S3ErrorCode.INVALID_REQUEST,
                    f"Found unsupported HTTP method in CORS config. Unsupported method is {method}",
                )
        for origin in rule.allowed_origins:
            if origin.count("*") > 1:
                raise S3Error(
                    S3ErrorCode.INVALID_REQUEST,
                    f'AllowedOrigin "{origin}" can not have more than one wildcard.',
                )
        for header in rule.allowed_headers:
            if header.count("*") > 1:
                raise S3Error(
                    S3ErrorCode.INVALID_REQUEST,
                    f'AllowedHeader "{header}" can not have more than one wildcard.',
                )
        if rule.max_age_seconds is not None and rule.max_age_seconds < 0:
            raise S3Error(S3ErrorCode.MALFORMED_XML)
        if rule.id is not None and len(rule.id) > 255:
            raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "ID length should not exceed 255")


def wildcard_match(pattern: str, value: str) -> bool:
    """`pattern` with at most one `*` (any run of characters, empty included)."""
    head, star, tail = pattern.partition("*")
    if not star:
        return pattern == value
    return len(value) >= len(head) + len(tail) and value.startswith(head) and value.endswith(tail)


def _origin_allowed(rule: CORSRule, origin: str) -> bool:
    return any(wildcard_match(pattern, origin) for pattern in rule.allowed_origins)


def _header_allowed(rule: CORSRule, header: str) -> bool:
    return any(wildcard_match(p.lower(), header) for p in rule.allowed_headers)


def request_header_names(value: str | None) -> tuple[str, ...]:
    """Access-Control-Request-Headers as lower-case names."""
    if not value:
        return ()
    return tuple(name.strip().lower() for name in value.split(",") if name.strip())


def match_preflight(
    config: CORSConfiguration, origin: str, method: str, headers: Iterable[str]
) -> CORSRule | None:
    names = tuple(headers)
    for rule in config.rules:
        if (
            method in rule.allowed_methods
            and _origin_allowed(rule, origin)
            and all(_header_allowed(rule, name) for name in names)
        ):
            return rule
    return None


def match_request(config: CORSConfiguration, origin: str, method: str) -> CORSRule | None:
    for rule in config.rules:
        if method in rule.allowed_methods and _origin_allowed(rule, origin):
            return rule
    return None


def _origin_headers(rule: CORSRule, origin: str) -> dict[str, str]:
    if "*" in rule.allowed_origins:
        return {"Access-Control-Allow-Origin": "*"}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true"}


def preflight_headers(rule: CORSRule, origin: str, headers: Iterable[str]) -> dict[str, str]:
    """The answer to a preflight `rule` allowed."""
    out = _origin_headers(rule, origin)
    out["Access-Control-Allow-Methods"] = ", ".join(rule.allowed_methods)
    names = tuple(headers)
    if names:
        out["Access-Control-Allow-Headers"] = ", ".join(names)
    if rule.expose_headers:
        out["Access-Control-Expose-Headers"] = ", ".join(rule.expose_headers)
    if rule.max_age_seconds is not None:
        out["Access-Control-Max-Age"] = str(rule.max_age_seconds)
    out["Vary"] = VARY
    return out


def response_headers(rule: CORSRule, origin: str) -> dict[str, str]:
    """The headers an actual request `rule` allowed carries."""
    out = _origin_headers(rule, origin)
    out["Access-Control-Allow-Methods"] = ", ".join(rule.allowed_methods)
    if rule.expose_headers:
        out["Access-Control-Expose-Headers"] = ", ".join(rule.expose_headers)
    if rule.max_age_seconds is not None:
        out["Access-Control-Max-Age"] = str(rule.max_age_seconds)
    out["Vary"] = VARY
    return out
