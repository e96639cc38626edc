"""backends/azure/signed.py: which credential signs a blob URL, how a blob's name becomes its
URL, the headers a bearer token goes in, the MD5 of a Put Blob answer, and errors.py's
reading of an error answer (what Azurite makes of those requests:
tests/contract/test_azure_signed.py, tests/contract/test_azure_token.py)."""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from azure.core import exceptions as az
from azure.core.credentials import AccessToken, AzureNamedKeyCredential, AzureSasCredential
from azure.storage.blob import StorageErrorCode

from backends.azure.errors import error_code, status_error, translate
from backends.azure.signed import EXPIRES, BlobUrls, body, content_md5, open_blob
from backends.azure.tokens import STORAGE_SCOPE, BearerTokens
from backends.base import BackendError, BackendUnavailable, BlobNotFound

CONTAINER_URL = "http://127.0.0.1:10000/devstoreaccount1/kv"
KEY = "a2V5IG9mIHRoZSB0ZXN0IGFjY291bnQ="  # base64, as account keys are
NOW = datetime.datetime(2026, 12, 6, 4, 0, 0, tzinfo=datetime.UTC)


class _PolicyLike:
    """What the SDK makes of a key (SharedKeyCredentialPolicy): name and key attributes."""

    account_name = "devstoreaccount1"
    account_key = KEY


class _Token:
    def __init__(self) -> None:
        self.asked: list[tuple[str, ...]] = []

    async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.asked.append(scopes)
        return AccessToken("t", 2**40)

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> _Token:
        return self

    async def __aexit__(self, *args: object) -> None:
        pass


HTTPS_URL = "https://acct.blob.core.windows.net/kv"
API_VERSION = "2026-02-06"


def test_a_key_signs_a_read_only_sas_for_that_blob() -> None:
    urls = BlobUrls.of(CONTAINER_URL, "kv", _PolicyLike())
    assert urls is not None and urls.plain_http
    url = urlsplit(urls.url("pre/fix/blob1", now=NOW))
    writes = parse_qs(urlsplit(urls.url("pre/fix/blob1", "cw", now=NOW)).query)
    assert writes["sp"] == ["cw"]
    assert url.path == "/devstoreaccount1/kv/pre/fix/blob1"
    query = parse_qs(url.query)
    assert query["sp"] == ["r"]  # read, nothing else
    assert query["sr"] == ["b"]  # this blob, not the container
    assert query["se"] == [
        (NOW + datetime.timedelta(seconds=EXPIRES)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ]
    assert "sig" in query
    other = parse_qs(urlsplit(urls.url("pre/fix/blob2", now=NOW)).query)
    assert other["sig"] != query["sig"]  # each blob its own signature


def test_a_named_key_credential_signs_the_same_way() -> None:
    named = BlobUrls.of(CONTAINER_URL, "kv", AzureNamedKeyCredential("devstoreaccount1", KEY))
    policy = BlobUrls.of(CONTAINER_URL, "kv", _PolicyLike())
    assert named is not None and policy is not None
    assert named.url("b", now=NOW) == policy.url("b", now=NOW)


@pytest.mark.parametrize(
    ("container_url", "credential"),
    [
        (CONTAINER_URL + "?sv=2025-01-05&sig=abc%2B", None),  # in the URL (connection string)
        (CONTAINER_URL, AzureSasCredential("?sv=2025-01-05&sig=abc%2B")),
        (CONTAINER_URL, AzureSasCredential("sv=2025-01-05&sig=abc%2B")),
    ],
)
def test_a_sas_is_sent_as_it_is(container_url: str, credential: object) -> None:
    urls = BlobUrls.of(container_url, "kv", credential)
    assert urls is not None
    assert urls.url("b1") == f"{CONTAINER_URL}/b1?sv=2025-01-05&sig=abc%2B"


def test_a_token_credential_has_no_url_form() -> None:
    # Over http (bearer tokens go over https only), without the API version, or nothing.
    assert BlobUrls.of(CONTAINER_URL, "kv", _Token(), api_version=API_VERSION) is None
    assert BlobUrls.of(HTTPS_URL, "kv", _Token()) is None
    assert BlobUrls.of(CONTAINER_URL, "kv", None) is None


def test_a_token_goes_in_headers_on_the_bare_blob_url() -> None:
    credential = _Token()
    urls = BlobUrls.of(HTTPS_URL, "kv", credential, api_version=API_VERSION)
    assert urls is not None and not urls.plain_http

    async def scenario() -> list[tuple[str, dict[str, str]]]:
        return [await urls.request("p/ x/b1", permission, now=NOW) for permission in ("r", "cw")]

    read, write = asyncio.run(scenario())
    expected = {
        "Authorization": "Bearer t",
        "x-ms-version": API_VERSION,
        "x-ms-date": "Sun, 06 Dec 2026 04:00:00 GMT",  # RFC 1123, as Azure wants it
    }
    assert read == (f"{HTTPS_URL}/p/%20x/b1", expected)
    assert write == read  # the token says what may be done, not the URL
    assert credential.asked == [(STORAGE_SCOPE,)]  # fetched once (tokens.py caches it)
    with pytest.raises(ValueError):
        urls.url("b1")  # no URL carries a bearer token (the relay cannot use one)


def test_the_token_cache_the_sdk_was_given_is_shared() -> None:
    tokens = BearerTokens(_Token())
    urls = BlobUrls.of(HTTPS_URL, "kv", tokens, api_version=API_VERSION)
    assert urls is not None and urls._tokens is tokens


def test_a_key_or_sas_request_is_its_signed_url_without_headers() -> None:
    urls = BlobUrls.of(CONTAINER_URL, "kv", _PolicyLike())
    sas = BlobUrls(HTTPS_URL, "kv", sas="sig=x")
    assert urls is not None

    async def scenario() -> list[tuple[str, dict[str, str]]]:
        return [await urls.request("b", "cw", now=NOW), await sas.request("b")]

    assert asyncio.run(scenario()) == [(urls.url("b", "cw", now=NOW), {}), (sas.url("b"), {})]


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("p/ x+é/blob 1", "/devstoreaccount1/kv/p/%20x%2B%C3%A9/blob%201"),
        ("a~b/c?d#e%f", "/devstoreaccount1/kv/a~b/c%3Fd%23e%25f"),
    ],
)
def test_names_are_quoted_as_the_sdk_quotes_them(name: str, path: str) -> None:
    urls = BlobUrls(CONTAINER_URL + "/", "kv", sas="sig=x")
    assert urls.url(name) == f"http://127.0.0.1:10000{path}?sig=x"


def test_https_is_not_plain() -> None:
    urls = BlobUrls("https://acct.blob.core.windows.net/kv", "kv", sas="sig=x")
    assert not urls.plain_http
    assert urls.url("b") == "https://acct.blob.core.windows.net/kv/b?sig=x"


def test_one_credential_exactly() -> None:
    with pytest.raises(ValueError):
        BlobUrls(CONTAINER_URL, "kv")
    with pytest.raises(ValueError):
        BlobUrls(CONTAINER_URL, "kv", account_key=KEY, sas="sig=x")
    tokens = BearerTokens(_Token())
    with pytest.raises(ValueError):
        BlobUrls(HTTPS_URL, "kv", sas="sig=x", tokens=tokens, api_version=API_VERSION)
    with pytest.raises(ValueError):  # bearer tokens over http
        BlobUrls(CONTAINER_URL, "kv", tokens=tokens, api_version=API_VERSION)
    with pytest.raises(ValueError):  # a bearer request without x-ms-version is refused
        BlobUrls(HTTPS_URL, "kv", tokens=tokens)


@pytest.mark.parametrize(
    ("header", "digest"),
    [
        (base64.b64encode(hashlib.md5(b"x").digest()).decode(), hashlib.md5(b"x").digest()),
        (None, None),
        ("", None),
        ("not base64!", None),
        (base64.b64encode(b"short").decode(), None),  # not 16 bytes
        (base64.b64encode(hashlib.sha256(b"x").digest()).decode(), None),
    ],
)
def test_content_md5(header: str | None, digest: bytes | None) -> None:
    assert content_md5(header) == digest


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (404, "BlobNotFound", BlobNotFound),
        (404, "ContainerNotFound", BackendError),
        (403, "AuthorizationPermissionMismatch", BackendError),
        (413, "RequestBodyTooLarge", BackendError),
        (503, "ServerBusy", BackendUnavailable),
        (500, "OperationTimedOut", BackendUnavailable),
        (500, "", BackendUnavailable),
        (429, "", BackendUnavailable),
    ],
)
def test_error_answers_without_the_sdk(status: int, code: str, kind: type) -> None:
    error = status_error("Put Blob", "b1", status, code)
    assert type(error) is kind
    assert str(error) == f"azure Put Blob b1: {code or 'no error code'} (HTTP {status})"


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (StorageErrorCode.AUTHENTICATION_FAILED, BackendError),
        (StorageErrorCode.BLOB_NOT_FOUND, BlobNotFound),
        (StorageErrorCode.CONTAINER_NOT_FOUND, BackendError),
        (StorageErrorCode.SERVER_BUSY, BackendUnavailable),
    ],
)
def test_the_sdks_error_codes_are_read_as_the_service_sent_them(
    code: StorageErrorCode, kind: type
) -> None:
    """The SDK's error_code is a str Enum whose str() is not the code."""
    status = {"BlobNotFound": 404, "ContainerNotFound": 404, "ServerBusy": 503}.get(code.value, 403)
    cls = az.ResourceNotFoundError if status == 404 else az.HttpResponseError
    exc = cls(message="m")
    exc.status_code, exc.error_code = status, code  # type: ignore[attr-defined]
    assert error_code(exc) == code.value
    error = translate(exc, "Get Blob", "b1")
    assert type(error) is kind
    assert str(error) == f"azure Get Blob b1: {code.value} (HTTP {status})"


BLOB = bytes(range(256)) * 40


async def _store(
    behaviour: str, seen: list[dict[str, str]] | None = None
) -> tuple[web.AppRunner, str]:
    """A stand-in store answering every GET with BLOB as `behaviour` says (and recording
    each request's headers in `seen`)."""

    async def get(request: web.Request) -> web.Response:
        if seen is not None:
            seen.append(dict(request.headers))
        wanted = request.headers.get("Range")
        if behaviour == "ignores-range" or wanted is None:
            return web.Response(body=BLOB)
        first, _, last = wanted.removeprefix("bytes=").partition("-")
        stop = int(last) + 1 if last else len(BLOB)
        if behaviour == "short-range":
            stop -= 1
        return web.Response(status=206, body=BLOB[int(first) : stop])

    app = web.Application()
    app.router.add_get("/{name}", get)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/b?sig=x"


@pytest.mark.parametrize(
    ("behaviour", "start", "end", "streamed"),
    [
        ("honest", 0, None, BLOB),
        ("honest", 10, 2000, BLOB[10:2000]),
        ("honest", 100, None, BLOB[100:]),
        ("ignores-range", 0, None, BLOB),  # no range asked: 200 is the answer
        ("ignores-range", 10, 2000, None),  # the whole blob for a range: not those bytes
        ("ignores-range", 100, None, None),
        ("short-range", 10, 2000, None),  # fewer bytes than asked for
    ],
)
def test_only_the_bytes_asked_for_are_streamed(
    behaviour: str, start: int, end: int | None, streamed: bytes | None
) -> None:
    async def scenario() -> bytes | None:
        runner, url = await _store(behaviour)
        try:
            async with aiohttp.ClientSession() as session:
                timeout = aiohttp.ClientTimeout(total=10)
                response = await open_blob(session, url, start, end, timeout)
                if response is None:
                    return None
                return b"".join([chunk async for chunk in body(response, "b")])
        finally:
            await runner.cleanup()

    assert asyncio.run(scenario()) == streamed


def test_the_authorizing_headers_go_with_a_get_blob() -> None:
    seen: list[dict[str, str]] = []
    auth = {"Authorization": "Bearer t", "x-ms-version": API_VERSION, "x-ms-date": "d"}

    async def scenario() -> bytes | None:
        runner, url = await _store("honest", seen)
        try:
            async with aiohttp.ClientSession() as session:
                timeout = aiohttp.ClientTimeout(total=10)
                response = await open_blob(session, url, 10, 2000, timeout, auth)
                assert response is not None
                return b"".join([chunk async for chunk in body(response, "b")])
        finally:
            await runner.cleanup()

    assert asyncio.run(scenario()) == BLOB[10:2000]
    (headers,) = seen
    assert {name: headers[name] for name in auth} == auth
    assert headers["Range"] == "bytes=10-1999"
