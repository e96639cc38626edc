"""Static website hosting on the real application: Put/Get/DeleteBucketWebsite and their
validation, and the website endpoint's answers (index and error documents, folders,
routing rules, RedirectAllRequestsTo, redirect objects, HTML error pages, anonymous access
through the bucket's policy), by Host on the S3 port (--website-domain) and by path on the
--website-listen application."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_website_app
from tests.app.client import Reply, SignedClient, signed_client

DOMAIN = "web.test"
NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
SITE = (
    f"<WebsiteConfiguration {NS}>"
    "<IndexDocument><Suffix>index.html</Suffix></IndexDocument>"
    "<ErrorDocument><Key>error.html</Key></ErrorDocument>"
    "<RoutingRules>"
    "<RoutingRule><Condition><KeyPrefixEquals>docs/</KeyPrefixEquals></Condition>"
    "<Redirect><ReplaceKeyPrefixWith>documents/</ReplaceKeyPrefixWith></Redirect></RoutingRule>"
    "<RoutingRule><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals>"
    "<KeyPrefixEquals>old/</KeyPrefixEquals></Condition>"
    "<Redirect><HostName>archive.example</HostName><HttpRedirectCode>302</HttpRedirectCode>"
    "<Protocol>https</Protocol></Redirect></RoutingRule>"
    "</RoutingRules></WebsiteConfiguration>"
)
OBJECTS = {
    "index.html": b"<h1>home</h1>",
    "guide/index.html": b"<h1>guide</h1>",
    "style.css": b"body { color: teal }",
    "error.html": b"<h1>custom error</h1>",
}


@dataclass
class Site:
    aio: asyncio.Runner
    client: SignedClient
    website: TestClient[Any, Any]  # the --website-listen application, on the same services

    def s3(self, method: str, path: str, body: bytes = b"", **headers: str) -> Reply:
        return self.aio.run(self.client.request(method, path, body=body, headers=headers))

    def get(self, bucket: str, path: str, method: str = "GET", **headers: str) -> Reply:
        """A website request by Host on the S3 port (anonymous, redirects not followed)."""
        sent = {"Host": f"{bucket}.{DOMAIN}", **headers}
        return self.aio.run(_send(self.client.client, method, path, sent))

    def by_path(self, path: str) -> Reply:
        """A website request on the --website-listen application."""
        return self.aio.run(_send(self.website, "GET", path, {}))

    def bucket(self, name: str, config: str | None = SITE, *, public: bool = True) -> str:
        assert self.s3("PUT", f"/{name}").status == 200
        for key, body in OBJECTS.items():
            assert (
                self.s3("PUT", f"/{name}/{key}", body, **{"Content-Type": "text/html"}).status
                == 200
            )
        if public:
            # GetObject for everyone; ListBucket too, so that a missing key is a 404.
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{name}/*",
                    },
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:ListBucket",
                        "Resource": f"arn:aws:s3:::{name}",
                    },
                ],
            }
            assert self.s3("PUT", f"/{name}?policy", json.dumps(policy).encode()).status == 204
        if config is not None:
            assert self.s3("PUT", f"/{name}?website", config.encode()).status == 200
        return name


async def _send(
    client: TestClient[Any, Any], method: str, path: str, headers: dict[str, str]
) -> Reply:
    async with client.request(method, path, headers=headers, allow_redirects=False) as response:
        return Reply(response.status, response.headers, await response.read())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with asyncio.Runner() as aio:
        manager = signed_client(tmp_path_factory.mktemp("website"), website_domain=DOMAIN)
        client = aio.run(manager.__aenter__())

        async def start() -> TestClient[Any, Any]:
            website = TestClient(TestServer(build_website_app(client.services)))
            await website.start_server()
            return website

        website = aio.run(start())
        try:
            yield Site(aio, client, website)
        finally:
            aio.run(website.close())
            aio.run(manager.__aexit__(None, None, None))


def _code(reply: Reply) -> str:
    return reply.error_code


# -- the configuration API ----------------------------------------------------------------------


def test_put_get_delete_bucket_website(site: Site) -> None:
    name = site.bucket("config-api", config=None, public=False)
    assert _code(site.s3("GET", f"/{name}?website")) == "NoSuchWebsiteConfiguration"
    assert site.s3("PUT", f"/{name}?website", SITE.encode()).status == 200
    got = site.s3("GET", f"/{name}?website")
    assert got.status == 200
    assert b"<Suffix>index.html</Suffix>" in got.body
    assert b"<HttpRedirectCode>302</HttpRedirectCode>" in got.body
    assert site.s3("DELETE", f"/{name}?website").status == 204
    assert _code(site.s3("GET", f"/{name}?website")) == "NoSuchWebsiteConfiguration"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (f"<WebsiteConfiguration {NS}/>", "InvalidArgument"),
        (
            f"<WebsiteConfiguration {NS}><IndexDocument><Suffix>a/i.html</Suffix>"
            "</IndexDocument></WebsiteConfiguration>",
            "InvalidArgument",
        ),
        (
            f"<WebsiteConfiguration {NS}><RedirectAllRequestsTo><HostName>x.example</HostName>"
            "</RedirectAllRequestsTo><IndexDocument><Suffix>i.html</Suffix></IndexDocument>"
            "</WebsiteConfiguration>",
            "InvalidArgument",
        ),
        (
            f"<WebsiteConfiguration {NS}><IndexDocument><Suffix>i.html</Suffix></IndexDocument>"
            "<RoutingRules><RoutingRule><Redirect><ReplaceKeyWith>a</ReplaceKeyWith>"
            "<ReplaceKeyPrefixWith>b</ReplaceKeyPrefixWith></Redirect></RoutingRule>"
            "</RoutingRules></WebsiteConfiguration>",
            "InvalidRequest",
        ),
        (
            f"<WebsiteConfiguration {NS}><IndexDocument><Suffix>i.html</Suffix></IndexDocument>"
            "<RoutingRules><RoutingRule><Redirect><HttpRedirectCode>200</HttpRedirectCode>"
            "</Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>",
            "InvalidRequest",
        ),
        ("<WebsiteConfiguration", "MalformedXML"),
    ],
)
def test_put_bucket_website_refuses(site: Site, body: str, code: str) -> None:
    name = "refused"
    if site.s3("HEAD", f"/{name}").status != 200:
        site.bucket(name, config=None, public=False)
    assert _code(site.s3("PUT", f"/{name}?website", body.encode())) == code


def test_put_object_refuses_bad_redirect_location(site: Site) -> None:
    name = site.bucket("bad-redirect", config=None, public=False)
    reply = site.s3(
        "PUT", f"/{name}/k", b"x", **{"x-amz-website-redirect-location": "elsewhere.html"}
    )
    assert _code(reply) == "InvalidRedirectLocation"


# -- the website endpoint -------------------------------------------------------------------------


def test_index_documents_and_folders(site: Site) -> None:
    name = site.bucket("home")
    root = site.get(name, "/")
    assert (root.status, root.body) == (200, OBJECTS["index.html"])
    assert root.headers["Content-Type"] == "text/html"
    assert site.get(name, "/guide/").body == OBJECTS["guide/index.html"]
    folder = site.get(name, "/guide")
    assert (folder.status, folder.headers["Location"]) == (302, "/guide/")
    assert site.get(name, "/style.css").body == OBJECTS["style.css"]
    head = site.get(name, "/", method="HEAD")
    assert (head.status, head.body) == (200, b"")
    assert head.headers["Content-Length"] == str(len(OBJECTS["index.html"]))


def test_range_and_conditional_requests(site: Site) -> None:
    name = site.bucket("ranges")
    part = site.get(name, "/style.css", Range="bytes=0-3")
    assert (part.status, part.body) == (206, b"body")
    etag = site.get(name, "/style.css").headers["ETag"]
    assert site.get(name, "/style.css", **{"If-None-Match": etag}).status == 304


def test_error_document_with_the_original_status(site: Site) -> None:
    name = site.bucket("errors")
    missing = site.get(name, "/nope.html", Range="bytes=0-3")
    assert (missing.status, missing.body) == (404, OBJECTS["error.html"])
    # The folder redirect needs the folder's index document, not just any key below it.
    assert site.get(name, "/documents").status == 404


def test_html_error_pages(site: Site) -> None:
    plain = site.bucket(
        "plain",
        f"<WebsiteConfiguration {NS}><IndexDocument>"
        "<Suffix>index.html</Suffix></IndexDocument></WebsiteConfiguration>",
    )
    missing = site.get(plain, "/nope.html")
    assert missing.status == 404
    assert missing.headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"<li>Code: NoSuchKey</li>" in missing.body
    assert missing.headers["x-amz-error-code"] == "NoSuchKey"
    unconfigured = site.bucket("unconfigured", config=None)
    assert b"Code: NoSuchWebsiteConfiguration" in site.get(unconfigured, "/").body
    absent = site.get("no-such-bucket", "/")
    assert (absent.status, absent.headers["x-amz-error-code"]) == (404, "NoSuchBucket")
    for method in ("PUT", "POST", "DELETE"):
        refused = site.get(plain, "/index.html", method=method)
        assert refused.status == 405
        assert b"Code: MethodNotAllowed" in refused.body
    assert site.s3("GET", f"/{plain}/index.html").body == OBJECTS["index.html"]


def test_private_bucket_is_not_served(site: Site) -> None:
    name = site.bucket("private", public=False)
    denied = site.get(name, "/")
    assert denied.status == 403
    assert b"Code: AccessDenied" in denied.body
    # The error document is private too: the page says so.
    assert b"An Error Occurred While Attempting to Retrieve a Custom Error Document" in denied.body


def test_missing_key_is_403_without_list_permission(site: Site) -> None:
    name = site.bucket("no-list", public=False)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{name}/*",
            }
        ],
    }
    assert site.s3("PUT", f"/{name}?policy", json.dumps(policy).encode()).status == 204
    assert site.get(name, "/").status == 200
    missing = site.get(name, "/nope.html")
    # AccessDenied, answered with the (public) error document.
    assert (missing.status, missing.body) == (403, OBJECTS["error.html"])


def test_routing_rules(site: Site) -> None:
    name = site.bucket("routed")
    moved = site.get(name, "/docs/a b.html")
    assert moved.status == 301
    assert moved.headers["Location"] == f"http://{name}.{DOMAIN}/documents/a%20b.html"
    gone = site.get(name, "/old/page.html")
    assert (gone.status, gone.headers["Location"]) == (302, "https://archive.example/old/page.html")


def test_redirect_all_requests(site: Site) -> None:
    config = (
        f"<WebsiteConfiguration {NS}><RedirectAllRequestsTo><HostName>www.example.com"
        "</HostName><Protocol>https</Protocol></RedirectAllRequestsTo></WebsiteConfiguration>"
    )
    name = site.bucket("everything", config)
    reply = site.get(name, "/a/b.html")
    assert (reply.status, reply.headers["Location"]) == (301, "https://www.example.com/a/b.html")


def test_redirect_object(site: Site) -> None:
    name = site.bucket("moved-object")
    header = {"x-amz-website-redirect-location": "/style.css"}
    assert site.s3("PUT", f"/{name}/old.html", b"", **header).status == 200
    reply = site.get(name, "/old.html")
    assert (reply.status, reply.headers["Location"], reply.body) == (301, "/style.css", b"")
    # The S3 API serves the object itself, with the header stored.
    got = site.s3("GET", f"/{name}/old.html")
    assert got.headers["x-amz-website-redirect-location"] == "/style.css"


def test_website_listener_by_path(site: Site) -> None:
    name = site.bucket("by-path")
    assert site.by_path(f"/{name}/").body == OBJECTS["index.html"]
    folder = site.by_path(f"/{name}/guide")
    assert (folder.status, folder.headers["Location"]) == (302, f"/{name}/guide/")
    missing = site.by_path(f"/{name}/nope")
    assert (missing.status, missing.body) == (404, OBJECTS["error.html"])
    redirected = site.by_path(f"/{name}/docs/x")
    assert redirected.headers["Location"].endswith(f"/{name}/documents/x")


def test_folder_redirect_in_a_bucket_public_by_acls(site: Site) -> None:
    name = site.bucket("acl-site", public=False)
    acl = {"x-amz-acl": "public-read"}
    assert site.s3("PUT", f"/{name}/guide/index.html", b"<h1>g</h1>", **acl).status == 200
    folder = site.get(name, "/guide")
    assert (folder.status, folder.headers["Location"]) == (302, "/guide/")
    assert site.get(name, "/guide/").body == b"<h1>g</h1>"


def test_bucket_path_without_slash_redirects(site: Site) -> None:
    name = site.bucket("slashless")
    reply = site.by_path(f"/{name}")
    assert (reply.status, reply.headers["Location"]) == (302, f"/{name}/")


def test_cors_rules_apply_to_website_hosts(site: Site) -> None:
    name = site.bucket("cors-site")
    rules = (
        "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
        "<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"
    )
    assert site.s3("PUT", f"/{name}?cors", rules.encode()).status == 200
    reply = site.get(name, "/style.css", Origin="https://app.example")
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
