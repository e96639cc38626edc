"""The web console in Debian's Chromium, against the real application in this process:
sign in, create a bucket, upload through Uppy (S3 multipart, every request presigned by
the gateway), download, share and revoke, a read-only user refused, sign out."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from tests.app.server import AppServer
from tests.browser.console_support import chromium, console_server, read_only_user
from tests.support.clients import boto3_client

__all__ = ["chromium", "console_server"]  # fixtures, imported for pytest

UPLOAD_BYTES = 6 * 1024 * 1024 + 12345  # two parts of Uppy's 5 MiB
TIMEOUT_MS = 15_000


def _get(url: str, cookie: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _sign_in(page: Any, server: AppServer, keys: tuple[str, str]) -> None:
    page.goto(f"{server.endpoint}/console/")
    page.get_by_label("Access key").fill(keys[0])
    page.get_by_label("Secret key").fill(keys[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#app-view", state="visible", timeout=TIMEOUT_MS)


def _upload(page: Any, name: str, data: bytes) -> None:
    page.locator(".uppy-Dashboard-input").first.set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}]
    )


def test_console_upload_download_share_sign_out(console_server: AppServer, chromium: Any) -> None:
    server = console_server
    context = chromium.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    _sign_in(page, server, (server.access_key, server.secret_key))
    assert "account root" in page.locator("#who").inner_text()

    bucket = f"console-{uuid.uuid4().hex[:8]}"
    page.get_by_label("New bucket name").fill(bucket)
    page.get_by_role("button", name="Create bucket").click()
    page.get_by_role("link", name=bucket).click()
    page.wait_for_selector("#objects-view", state="visible")

    data = os.urandom(UPLOAD_BYTES)
    _upload(page, "big.bin", data)
    # (Locators, not wait_for_function: the page's CSP forbids evaluating strings.)
    page.locator("#upload-status", has_text="Upload complete: big.bin").wait_for()
    assert int(page.locator("#upload-progress").get_attribute("data-events") or 0) > 1
    page.get_by_role("button", name="Download big.bin").wait_for()
    stored = boto3_client(server).get_object(Bucket=bucket, Key="big.bin")["Body"].read()
    assert stored == data

    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download big.bin").click()
    with open(downloading.value.path(), "rb") as downloaded:
        assert downloaded.read() == data

    page.get_by_role("button", name="Details of big.bin").click()
    page.locator("#details-list", has_text=f"{UPLOAD_BYTES} bytes").wait_for()
    page.get_by_role("button", name="Create share link").click()
    page.wait_for_selector("#share-result", state="visible")
    url = page.locator("#share-url").input_value()
    assert _get(url) == (200, data)  # anonymous: no cookie, no signature

    page.get_by_role("link", name="Share links").click()
    page.get_by_role("button", name=f"Revoke the link to {bucket}/big.bin").click()
    page.wait_for_selector("#share-rows tr:has-text('revoked')")
    assert _get(url)[0] == 410

    cookie = next(c for c in context.cookies() if c["name"] == "kv_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/_kv/console"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("#sign-in-view", state="visible")
    status, _ = _get(f"{server.endpoint}/_kv/console/session", f"kv_console={cookie['value']}")
    assert status == 401
    context.close()


def test_read_only_user_sees_upload_refused(console_server: AppServer, chromium: Any) -> None:
    server = console_server
    bucket = f"readonly-{uuid.uuid4().hex[:8]}"
    boto3_client(server).create_bucket(Bucket=bucket)
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    _sign_in(page, server, read_only_user(server, bucket))
    page.goto(f"{server.endpoint}/console/#/b/{bucket}/")
    page.wait_for_selector("#objects-view", state="visible")
    _upload(page, "nope.txt", b"not allowed")
    page.wait_for_selector("#message:has-text('Upload of nope.txt refused')")
    assert "Access Denied" in page.locator("#message").inner_text()
    context.close()


pytestmark = pytest.mark.timeout(60)
