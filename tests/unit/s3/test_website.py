"""gateway/s3/website.py (validation and the endpoint's rules), gateway/xml/website.py (the
codec) and gateway/website/pages.py (the HTML error pages)."""

from __future__ import annotations

import pytest
from lxml import etree

import gateway.xml.website  # noqa: F401
from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.website import (
    Condition,
    Origin,
    Redirect,
    RedirectAllRequestsTo,
    RoutingRule,
    WebsiteConfiguration,
    directory_index,
    folder_location,
    index_key,
    match_rule,
    object_redirect_location,
    redirect_all_location,
    rule_location,
    valid_object_redirect,
    validate,
)
from gateway.website.pages import PageError, error_page
from gateway.xml.codec import S3_NS, parse, render
from tests.support.botocore_xml import botocore_parse

NS = f'xmlns="{S3_NS}"'
HOST = Origin("http", "site.web.test:8080")
PATH = Origin("https", "127.0.0.1:9000", "/site")

DOCS = RoutingRule(
    Redirect(replace_key_prefix_with="documents/"), Condition(key_prefix_equals="docs/")
)
MISSING = RoutingRule(
    Redirect(host_name="fallback.example", http_redirect_code="302", protocol="https"),
    Condition(http_error_code_returned_equals="404", key_prefix_equals="old/"),
)
ANY_404 = RoutingRule(
    Redirect(replace_key_with="404.html"), Condition(http_error_code_returned_equals="404")
)
SITE = WebsiteConfiguration("index.html", "error.html", None, (DOCS, MISSING, ANY_404))


# -- validation ---------------------------------------------------------------------------------


def _refused(config: WebsiteConfiguration) -> tuple[S3ErrorCode, str]:
    with pytest.raises(S3Error) as info:
        validate(config)
    return info.value.code, info.value.message


def test_validate_accepts() -> None:
    validate(SITE)
    validate(WebsiteConfiguration(redirect_all=RedirectAllRequestsTo("example.com", "https")))
    validate(WebsiteConfiguration("index.html", routing_rules=(RoutingRule(Redirect("a.b")),)))


@pytest.mark.parametrize(
    ("config", "code", "message"),
    [
        (WebsiteConfiguration(), S3ErrorCode.INVALID_ARGUMENT, "A value for IndexDocument"),
        (WebsiteConfiguration(""), S3ErrorCode.INVALID_ARGUMENT, "not well formed"),
        (WebsiteConfiguration("a/index.html"), S3ErrorCode.INVALID_ARGUMENT, "not well formed"),
        (WebsiteConfiguration("i.html", ""), S3ErrorCode.MALFORMED_XML, ""),
        (
            WebsiteConfiguration("i.html", redirect_all=RedirectAllRequestsTo("example.com")),
            S3ErrorCode.INVALID_ARGUMENT,
            "RedirectAllRequestsTo cannot be provided in conjunction",
        ),
        (
            WebsiteConfiguration(redirect_all=RedirectAllRequestsTo("")),
            S3ErrorCode.MALFORMED_XML,
            "",
        ),
        (
            WebsiteConfiguration(redirect_all=RedirectAllRequestsTo("example.com", "ftp")),
            S3ErrorCode.INVALID_REQUEST,
            "Invalid protocol",
        ),
        (
            WebsiteConfiguration("i.html", routing_rules=(RoutingRule(Redirect()),)),
            S3ErrorCode.MALFORMED_XML,
            "",
        ),
        (
            WebsiteConfiguration(
                "i.html",
                routing_rules=(
                    RoutingRule(Redirect(replace_key_with="a", replace_key_prefix_with="b")),
                ),
            ),
            S3ErrorCode.INVALID_REQUEST,
            "ReplaceKeyPrefix or ReplaceKey but not both",
        ),
        (
            WebsiteConfiguration(
                "i.html", routing_rules=(RoutingRule(Redirect("a.b"), Condition()),)
            ),
            S3ErrorCode.INVALID_REQUEST,
            "Condition cannot be empty",
        ),
        (
            WebsiteConfiguration(
                "i.html",
                routing_rules=(
                    RoutingRule(Redirect("a.b"), Condition(http_error_code_returned_equals="200")),
                ),
            ),
            S3ErrorCode.INVALID_REQUEST,
            "Valid codes are 4XX or 5XX",
        ),
        (
            WebsiteConfiguration(
                "i.html", routing_rules=(RoutingRule(Redirect("a.b", http_redirect_code="300")),)
            ),
            S3ErrorCode.INVALID_REQUEST,
            "Valid codes are 3XX except 300",
        ),
        (
            WebsiteConfiguration(
                "i.html", routing_rules=(RoutingRule(Redirect("a.b", http_redirect_code="404")),)
            ),
            S3ErrorCode.INVALID_REQUEST,
            "Valid codes are 3XX except 300",
        ),
        (
            # Accepted until fuzzing found it; serving the redirect was then a 500 (int()).
            WebsiteConfiguration(
                "i.html",
                routing_rules=(RoutingRule(Redirect("a.b", http_redirect_code="3\u00b2\u00b3")),),
            ),
            S3ErrorCode.INVALID_REQUEST,
            "Valid codes are 3XX except 300",
        ),
        (
            WebsiteConfiguration(
                "i.html",
                routing_rules=(
                    RoutingRule(
                        Redirect("a.b"), Condition(http_error_code_returned_equals="4\u0660\u0664")
                    ),
                ),
            ),
            S3ErrorCode.INVALID_REQUEST,
            "Valid codes are 4XX or 5XX",
        ),
        (
            WebsiteConfiguration(
                "i.html", routing_rules=(RoutingRule(Redirect("a.b", protocol="gopher")),)
            ),
            S3ErrorCode.INVALID_REQUEST,
            "Invalid protocol",
        ),
        (
            WebsiteConfiguration("i.html", routing_rules=(RoutingRule(Redirect("a.b")),) * 51),
            S3ErrorCode.INVALID_REQUEST,
            "limited to 50",
        ),
    ],
)
def test_validate_refuses(config: WebsiteConfiguration, code: S3ErrorCode, message: str) -> None:
    got_code, got_message = _refused(config)
    assert got_code is code
    assert message in got_message


# -- the endpoint's rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "want"),
    [("", "index.html"), ("docs/", "docs/index.html"), ("a.css", "a.css"), ("docs", "docs")],
)
def test_index_key(key: str, want: str) -> None:
    assert index_key(key, "index.html") == want


def test_directory_index() -> None:
    assert directory_index("photos", "index.html") == "photos/index.html"
    assert directory_index("photos/", "index.html") is None
    assert directory_index("", "index.html") is None
    assert directory_index("photos", None) is None


@pytest.mark.parametrize(
    ("key", "status", "want"),
    [
        ("docs/a.html", None, DOCS),
        ("docs/a.html", 404, ANY_404),  # a prefix-only rule redirects before the lookup
        ("old/x", 404, MISSING),
        ("old/x", None, None),
        ("x", 404, ANY_404),
        ("x", 403, None),
        ("documents/a.html", None, None),
    ],
)
def test_match_rule(key: str, status: int | None, want: RoutingRule | None) -> None:
    assert match_rule(SITE.routing_rules, key, status) is want


def test_rule_without_condition_matches_every_request_before_lookup() -> None:
    always = RoutingRule(Redirect("elsewhere.example"))
    assert match_rule((always,), "any/key") is always
    assert match_rule((always,), "any/key", 404) is None


@pytest.mark.parametrize(
    ("rule", "key", "origin", "want"),
    [
        (DOCS, "docs/a b.html", HOST, (301, "http://site.web.test:8080/documents/a%20b.html")),
        (DOCS, "docs/a.html", PATH, (301, "https://127.0.0.1:9000/site/documents/a.html")),
        (MISSING, "old/x", PATH, (302, "https://fallback.example/old/x")),
        (ANY_404, "nope", HOST, (301, "http://site.web.test:8080/404.html")),
        (
            RoutingRule(Redirect(replace_key_prefix_with="v2/")),
            "a",
            HOST,
            (301, "http://site.web.test:8080/v2/a"),
        ),
        (
            RoutingRule(Redirect(protocol="https", http_redirect_code="307")),
            "k",
            HOST,
            (307, "https://site.web.test:8080/k"),
        ),
    ],
)
def test_rule_location(rule: RoutingRule, key: str, origin: Origin, want: tuple[int, str]) -> None:
    assert rule_location(rule, key, origin) == want


def test_other_locations() -> None:
    target = RedirectAllRequestsTo("www.example.com")
    assert redirect_all_location(target, "a/b", HOST) == "http://www.example.com/a/b"
    assert redirect_all_location(target, "", PATH) == "https://www.example.com/"
    assert folder_location("photos", HOST) == "/photos/"
    assert folder_location("photos", PATH) == "/site/photos/"
    assert object_redirect_location("/new.html", PATH) == "/site/new.html"
    assert object_redirect_location("https://x.example/y", PATH) == "https://x.example/y"


@pytest.mark.parametrize(
    ("value", "ok"),
    [("/a", True), ("http://x", True), ("https://x/y", True), ("a", False), ("ftp://x", False)],
)
def test_valid_object_redirect(value: str, ok: bool) -> None:
    assert valid_object_redirect(value) is ok


# -- the codec --------------------------------------------------------------------------------

SITE_XML = (
    f"<WebsiteConfiguration {NS}>"
    "<IndexDocument><Suffix>index.html</Suffix></IndexDocument>"
    "<ErrorDocument><Key>error.html</Key></ErrorDocument>"
    "<RoutingRules>"
    "<RoutingRule><Condition><KeyPrefixEquals>docs/</KeyPrefixEquals></Condition>"
    "<Redirect><ReplaceKeyPrefixWith>documents/</ReplaceKeyPrefixWith></Redirect></RoutingRule>"
    "<RoutingRule><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals>"
    "<KeyPrefixEquals>old/</KeyPrefixEquals></Condition>"
    "<Redirect><HostName>fallback.example</HostName><HttpRedirectCode>302</HttpRedirectCode>"
    "<Protocol>https</Protocol></Redirect></RoutingRule>"
    "<RoutingRule><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals>"
    "</Condition><Redirect><ReplaceKeyWith>404.html</ReplaceKeyWith></Redirect></RoutingRule>"
    "</RoutingRules></WebsiteConfiguration>"
).encode()
REDIRECT_ALL = WebsiteConfiguration(redirect_all=RedirectAllRequestsTo("example.com", "https"))
REDIRECT_ALL_XML = (
    f"<WebsiteConfiguration {NS}><RedirectAllRequestsTo><HostName>example.com</HostName>"
    "<Protocol>https</Protocol></RedirectAllRequestsTo></WebsiteConfiguration>"
).encode()


def _canonical(xml: bytes) -> bytes:
    return etree.tostring(etree.fromstring(xml), method="c14n")


ROUND_TRIPS = [(SITE, SITE_XML), (REDIRECT_ALL, REDIRECT_ALL_XML)]


@pytest.mark.parametrize(("model", "xml"), ROUND_TRIPS)
def test_codec_round_trip(model: WebsiteConfiguration, xml: bytes) -> None:
    assert parse(WebsiteConfiguration, xml) == model
    assert _canonical(render(model)) == _canonical(xml)


def test_botocore_reads_what_we_render() -> None:
    parsed = botocore_parse("GetBucketWebsite", render(SITE))
    assert parsed["IndexDocument"] == {"Suffix": "index.html"}
    assert parsed["ErrorDocument"] == {"Key": "error.html"}
    assert parsed["RoutingRules"][1] == {
        "Condition": {"HttpErrorCodeReturnedEquals": "404", "KeyPrefixEquals": "old/"},
        "Redirect": {
            "HostName": "fallback.example",
            "HttpRedirectCode": "302",
            "Protocol": "https",
        },
    }


@pytest.mark.parametrize(
    "xml",
    [
        f"<WebsiteConfiguration {NS}><IndexDocument/></WebsiteConfiguration>",
        f"<WebsiteConfiguration {NS}><IndexDocument><Suffix>a</Suffix></IndexDocument>"
        "<IndexDocument><Suffix>b</Suffix></IndexDocument></WebsiteConfiguration>",
        f"<WebsiteConfiguration {NS}><IndexDocument><Suffix>a</Suffix></IndexDocument>"
        "<RoutingRules/></WebsiteConfiguration>",
        f"<WebsiteConfiguration {NS}><IndexDocument><Suffix>a</Suffix></IndexDocument>"
        "<RoutingRules><RoutingRule><Condition><KeyPrefixEquals>a</KeyPrefixEquals></Condition>"
        "</RoutingRule></RoutingRules></WebsiteConfiguration>",
        f"<CORSConfiguration {NS}/>",
    ],
)
def test_codec_malformed(xml: str) -> None:
    with pytest.raises(S3Error) as info:
        parse(WebsiteConfiguration, xml.encode())
    assert info.value.code is S3ErrorCode.MALFORMED_XML


# -- the error pages --------------------------------------------------------------------------


def test_error_page() -> None:
    page = error_page(
        404,
        PageError("NoSuchKey", "The specified key does not exist.", {"Key": "<b>.html"}),
        "REQ1",
    ).decode()
    assert "<title>404 Not Found</title>" in page
    assert "<li>Code: NoSuchKey</li>" in page
    assert "<li>Key: &lt;b&gt;.html</li>" in page
    assert "<li>RequestId: REQ1</li>" in page
    assert "Custom Error Document" not in page
    with_document = error_page(
        403, PageError("AccessDenied", "Access Denied"), "R", PageError("NoSuchKey", "gone")
    ).decode()
    assert "<h1>403 Forbidden</h1>" in with_document
    assert "Attempting to Retrieve a Custom Error Document" in with_document
    assert with_document.index("Code: AccessDenied") < with_document.index("Code: NoSuchKey")
