"""gateway/s3/cors.py (rules, validation, matching) and gateway/xml/cors.py (the codec)."""

from __future__ import annotations

import pytest

import gateway.xml.cors  # noqa: F401
from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.cors import (
    VARY,
    CORSConfiguration,
    CORSRule,
    match_preflight,
    match_request,
    preflight_headers,
    request_header_names,
    response_headers,
    validate,
    wildcard_match,
)
from gateway.xml.codec import parse, render

APP = "https://app.example.com"
CONFIG = CORSConfiguration(
    (
        CORSRule(("PUT", "POST"), (APP,), ("content-type", "x-amz-*"), ("ETag",), 600, "app"),
        CORSRule(("GET", "HEAD"), ("https://*.example.org",)),
        CORSRule(("GET",), ("*",)),
    )
)


@pytest.mark.parametrize(
    ("pattern", "value", "want"),
    [
        ("*", "", True),
        ("*", "https://x", True),
        ("https://*.example.org", "https://a.b.example.org", True),
        ("https://*.example.org", "https://.example.org", True),
        ("https://*.example.org", "http://a.example.org", False),
        ("https://*.example.org", "https://example.org", False),
        ("http://a", "http://a", True),
        ("http://a", "http://A", False),
        ("x-amz-*", "x-amz-date", True),
        ("ab*ba", "aba", False),
    ],
)
def test_wildcard_match(pattern: str, value: str, want: bool) -> None:
    assert wildcard_match(pattern, value) is want


def test_preflight_matches_origin_method_and_headers() -> None:
    rule = match_preflight(CONFIG, APP, "PUT", ("content-type", "x-amz-meta-a"))
    assert rule is CONFIG.rules[0]
    assert preflight_headers(rule, APP, ("content-type",)) == {
        "Access-Control-Allow-Origin": APP,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "PUT, POST",
        "Access-Control-Allow-Headers": "content-type",
        "Access-Control-Expose-Headers": "ETag",
        "Access-Control-Max-Age": "600",
        "Vary": VARY,
    }


def test_preflight_refused() -> None:
    assert match_preflight(CONFIG, APP, "DELETE", ()) is None
    assert match_preflight(CONFIG, APP, "PUT", ("authorization",)) is None
    assert match_preflight(CONFIG, "https://evil.example", "PUT", ()) is None


def test_first_matching_rule_wins_and_star_origin_answers_star() -> None:
    assert match_preflight(CONFIG, "https://a.example.org", "GET", ()) is CONFIG.rules[1]
    rule = match_request(CONFIG, "https://anyone.example", "GET")
    assert rule is CONFIG.rules[2]
    headers = response_headers(rule, "https://anyone.example")
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in headers
    assert match_request(CONFIG, "https://anyone.example", "PUT") is None


def test_request_header_names() -> None:
    assert request_header_names(" Content-Type , X-Amz-Date,,") == ("content-type", "x-amz-date")
    assert request_header_names(None) == ()


@pytest.mark.parametrize(
    ("config", "code", "message"),
    [
        (CORSConfiguration(()), S3ErrorCode.MALFORMED_XML, "between 1 and 100"),
        (
            CORSConfiguration((CORSRule(("GET",), ("*",)),) * 101),
            S3ErrorCode.MALFORMED_XML,
            "between 1 and 100",
        ),
        (
            CORSConfiguration((CORSRule(("PATCH",), ("*",)),)),
            S3ErrorCode.INVALID_REQUEST,
            "Unsupported method is PATCH",
        ),
        (
            CORSConfiguration((CORSRule(("GET",), ("https://*.*.com",)),)),
            S3ErrorCode.INVALID_REQUEST,
            "can not have more than one wildcard",
        ),
        (
            CORSConfiguration((CORSRule(("GET",), ("*",), ("x-*-*",)),)),
            S3ErrorCode.INVALID_REQUEST,
            "can not have more than one wildcard",
        ),
        (
            CORSConfiguration((CORSRule(("GET",), ("*",), max_age_seconds=-1),)),
            S3ErrorCode.MALFORMED_XML,
            "",
        ),
    ],
)
def test_validate_refuses(config: CORSConfiguration, code: S3ErrorCode, message: str) -> None:
    with pytest.raises(S3Error) as info:
        validate(config)
    assert info.value.code is code and message in info.value.message


def test_validate_accepts_100_rules() -> None:
    validate(CORSConfiguration((CORSRule(("GET",), ("*",)),) * 100))


NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
CASES = [
    (
        CONFIG,
        f"<CORSConfiguration {NS}>"
        "<CORSRule><ID>app</ID><AllowedHeader>content-type</AllowedHeader>"
        "<AllowedHeader>x-amz-*</AllowedHeader><AllowedMethod>PUT</AllowedMethod>"
        f"<AllowedMethod>POST</AllowedMethod><AllowedOrigin>{APP}</AllowedOrigin>"
        "<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule>"
        "<CORSRule><AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>"
        "<AllowedOrigin>https://*.example.org</AllowedOrigin></CORSRule>"
        "<CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin>"
        "</CORSRule></CORSConfiguration>",
    ),
]


@pytest.mark.parametrize(("model", "xml"), CASES)
def test_codec_round_trip(model: CORSConfiguration, xml: str) -> None:
    assert render(model).decode().split("\n", 1)[1] == xml
    assert parse(CORSConfiguration, xml.encode()) == model


@pytest.mark.parametrize(
    "xml",
    [
        "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>",
        "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
        "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*"
        "</AllowedOrigin><MaxAgeSeconds>soon</MaxAgeSeconds></CORSRule></CORSConfiguration>",
        "<Other/>",
    ],
)
def test_codec_refuses(xml: str) -> None:
    with pytest.raises(S3Error) as info:
        parse(CORSConfiguration, xml.encode())
    assert info.value.code is S3ErrorCode.MALFORMED_XML
