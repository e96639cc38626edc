"""The web console's server side on the real application: its pages, sign-in sessions
(cookie, CSRF token, idle and absolute expiry with the injectable clock, sign-out), and
presigned S3 requests that dispatch authorizes as the session's key."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.app.conftest import AppFactory
from tests.app.server import AppServer, MovableClock
from tests.browser.console_support import read_only_user
from tests.support.clients import boto3_client
from tests.support.tls import TLSFiles

IDLE, LIFETIME = 300, 1000


@dataclass
class Answer:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def code(self) -> str:
        return str(self.json()["error"]["code"])


def send(
    server: AppServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    request = urllib.request.Request(
        server.endpoint + path, data=body, method=method, headers=headers or {}
    )
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=server.ssl_context),
        _NoRedirect(),
    )
    try:
        with opener.open(request, timeout=10) as answer:
            return Answer(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Console:
    """A browser's view of the API: its cookie, and the CSRF token its page keeps."""

    server: AppServer
    cookie: str = ""
    csrf: str = ""
    who: dict[str, Any] = field(default_factory=dict)

    def call(
        self, method: str, path: str, payload: Any = None, *, csrf: bool = True, **headers: str
    ) -> Answer:
        out = {"Cookie": self.cookie, **headers} if self.cookie else dict(headers)
        if csrf and self.csrf:
            out["X-KV-CSRF"] = self.csrf
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            out["Content-Type"] = "application/json"
        return send(self.server, method, "/_kv/console" + path, body, out)

    def sign_in(self, access: str, secret: str) -> Answer:
        answer = self.call("POST", "/session", {"accessKey": access, "secretKey": secret})
        if answer.status == 201:
            self.cookie = answer.headers["Set-Cookie"].split(";")[0]
            self.who = answer.json()
            self.csrf = self.who["csrfToken"]
        return answer

    def presigned(self, operation: str, **fields: Any) -> tuple[str, str]:
        answer = self.call("POST", "/presign", {"operation": operation, **fields})
        assert answer.status == 200, answer.body
        return answer.json()["method"], answer.json()["url"]

    def s3(self, operation: str, data: bytes | None = None, **fields: Any) -> Answer:
        method, url = self.presigned(operation, **fields)
        return send(self.server, method, url, data)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def server(app_factory: AppFactory, clock: MovableClock) -> Iterator[AppServer]:
    started = app_factory(clock=clock, console_idle_timeout=IDLE, console_session_lifetime=LIFETIME)
    yield started
    started.stop()


def signed_in(server: AppServer) -> Console:
    console = Console(server)
    assert console.sign_in(server.access_key, server.secret_key).status == 201
    return console


# -- pages --------------------------------------------------------------------------------------


def test_console_pages_are_served_with_a_strict_csp(server: AppServer) -> None:
    page = send(server, "GET", "/console/")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert b'src="js/app.js"' in page.body
    assert send(server, "GET", "/console").headers["Location"] == "/console/"
    script = send(server, "GET", "/console/vendor/uppy.min.mjs")
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert send(server, "GET", "/console/../settings.py").status != 200


def test_a_bucket_named_console_stays_s3s(server: AppServer) -> None:
    s3 = boto3_client(server)
    s3.create_bucket(Bucket="console")
    s3.put_object(Bucket="console", Key="index.html", Body=b"mine")
    s3.put_object(Bucket="console", Key="other", Body=b"other")
    assert s3.get_object(Bucket="console", Key="index.html")["Body"].read() == b"mine"
    # Unsigned requests for keys that are not console files are S3's too.
    assert send(server, "GET", "/console/other").status == 403


# -- sessions -----------------------------------------------------------------------------------


def test_sign_in_with_wrong_keys_is_refused_in_words(server: AppServer) -> None:
    for access, secret in ((server.access_key, "wrong"), ("KVNOSUCHKEY0000000000", "x")):
        answer = Console(server).sign_in(access, secret)
        assert (answer.status, answer.code) == (403, "AccessDenied")
        assert answer.json()["error"]["message"] == "The access key or the secret key is wrong."
        assert "Set-Cookie" not in answer.headers
    answer = Console(server).call("POST", "/session", {"accessKey": 1})
    assert (answer.status, answer.code) == (400, "InvalidArgument")


def test_sign_in_sets_a_strict_http_only_cookie(server: AppServer) -> None:
    answer = Console(server).sign_in(server.access_key, server.secret_key)
    assert answer.status == 201
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/_kv/console" in cookie
    assert "Secure" not in cookie  # http
    assert server.secret_key not in answer.body.decode()
    console = signed_in(server)
    who = console.call("GET", "/session")
    assert who.status == 200
    assert who.json()["account"] == "root" and who.json()["csrfToken"] == console.csrf
    assert Console(server).call("GET", "/session").code == "ConsoleSignInRequired"


def test_sign_in_over_https_sets_a_secure_cookie(
    app_factory: AppFactory, tls_files: TLSFiles
) -> None:
    server = app_factory(tls=tls_files)
    answer = Console(server).sign_in(server.access_key, server.secret_key)
    assert answer.status == 201 and "Secure" in answer.headers["Set-Cookie"]


def test_state_changes_need_the_csrf_token(server: AppServer) -> None:
    console = signed_in(server)
    payload = {"operation": "ListBuckets"}
    missing = console.call("POST", "/presign", payload, csrf=False)
    assert (missing.status, missing.code) == (403, "AccessDenied")
    assert "CSRF" in missing.json()["error"]["message"]
    wrong = console.call("POST", "/presign", payload, csrf=False, **{"X-KV-CSRF": "0" * 64})
    assert wrong.status == 403
    assert console.call("DELETE", "/session", csrf=False).status == 403
    assert console.call("GET", "/session").status == 200  # still signed in
    other_site = console.call("POST", "/presign", payload, Origin="https://evil.example")
    assert other_site.status == 403
    assert console.call("POST", "/presign", payload).status == 200


def test_a_session_ends_when_idle(server: AppServer, clock: MovableClock) -> None:
    console = signed_in(server)
    clock.offset = IDLE - 1
    assert console.call("GET", "/session").status == 200  # used: the idle timeout restarts
    clock.offset = 2 * IDLE - 2
    assert console.call("GET", "/session").status == 200
    clock.offset = 3 * IDLE
    ended = console.call("GET", "/session")
    assert (ended.status, ended.code) == (401, "ConsoleSignInRequired")
    assert "Max-Age=0" in ended.headers["Set-Cookie"]


def test_a_session_ends_at_its_lifetime_however_used(
    server: AppServer, clock: MovableClock
) -> None:
    console = signed_in(server)
    for offset in range(0, LIFETIME, IDLE - 10):
        clock.offset = offset
        assert console.call("GET", "/session").status == 200, offset
    clock.offset = LIFETIME
    assert console.call("GET", "/session").status == 401
    clock.offset = 0
    assert console.call("GET", "/session").status == 401  # deleted, not just refused


def test_sign_out_ends_the_session(server: AppServer) -> None:
    console = signed_in(server)
    answer = console.call("DELETE", "/session")
    assert answer.status == 200 and "Max-Age=0" in answer.headers["Set-Cookie"]
    assert console.call("GET", "/session").status == 401
    assert console.call("POST", "/presign", {"operation": "ListBuckets"}).status == 401


# -- acting as the session's key ----------------------------------------------------------------


def test_presigned_requests_act_as_the_session_key(server: AppServer) -> None:
    bucket = f"console-{uuid.uuid4().hex[:8]}"
    root = signed_in(server)
    assert root.s3("CreateBucket", bucket=bucket).status == 200
    assert root.s3("PutObject", b"hello", bucket=bucket, key="a b/c.txt").status == 200
    listing = root.s3("ListObjectsV2", bucket=bucket, params={"prefix": "a b/"})
    assert b"<Key>a b/c.txt</Key>" in listing.body

    reader = Console(server)
    assert reader.sign_in(*read_only_user(server, bucket)).status == 201
    assert reader.s3("GetObject", bucket=bucket, key="a b/c.txt").body == b"hello"
    refused = reader.s3("PutObject", b"no", bucket=bucket, key="x")
    assert refused.status == 403 and b"<Code>AccessDenied</Code>" in refused.body
    assert reader.s3("CreateBucket", bucket=f"{bucket}-2").status == 403


def test_presign_takes_only_console_operations(server: AppServer) -> None:
    console = signed_in(server)
    for payload in (
        {"operation": "PutBucketAcl", "bucket": "b"},
        {"operation": "GetObject", "bucket": "b"},
        {"operation": "UploadPart", "bucket": "b", "key": "k", "params": {"partNumber": "1"}},
        {"operation": "GetObject", "bucket": "b", "key": "k", "params": {"acl": ""}},
    ):
        answer = console.call("POST", "/presign", payload)
        assert (answer.status, answer.code) == (400, "InvalidArgument"), payload


def test_a_deleted_key_ends_its_sessions(server: AppServer) -> None:
    bucket = f"console-{uuid.uuid4().hex[:8]}"
    boto3_client(server).create_bucket(Bucket=bucket)
    access, secret = read_only_user(server, bucket)
    reader = Console(server)
    assert reader.sign_in(access, secret).status == 201
    assert server.call(server.services.meta.delete_access_key(access))
    # Refused once the credential cache's entry (half a second) has gone.
    deadline = time.monotonic() + 5
    while reader.call("GET", "/session").status == 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reader.call("GET", "/session").status == 401


def test_share_links_through_the_console(server: AppServer) -> None:
    bucket = f"console-{uuid.uuid4().hex[:8]}"
    console = signed_in(server)
    console.s3("CreateBucket", bucket=bucket)
    console.s3("PutObject", b"shared", bucket=bucket, key="k")
    created = console.call("POST", "/shares", {"bucket": bucket, "key": "k", "expires": "1h"})
    assert created.status == 201, created.body
    link = created.json()
    assert send(server, "GET", link["path"]).body == b"shared"
    assert console.call("POST", "/shares", {"bucket": bucket, "key": "k"}, csrf=False).status == 403
    listed = console.call("GET", "/shares").json()["shares"]
    assert [s["id"] for s in listed] == [link["id"]]
    assert console.call("DELETE", f"/shares/{link['id']}").json()["state"] == "revoked"
    assert send(server, "GET", link["path"]).status == 410
