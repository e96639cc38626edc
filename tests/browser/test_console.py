"""The web console in Debian's Chromium, against the real application in this process:
sign in, create a bucket, upload through Uppy (S3 multipart, every request presigned by
the gateway), download, share and revoke, a read-only user refused, sign out."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.app.server import AppServer
from tests.browser.console_support import (
    SERIOUS_VIOLATIONS,
    axe_core_js,
    chromium,
    console_server,
    read_only_user,
)
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


def _upload(page: Any, folder: Path, name: str, data: bytes) -> None:
    """Choose a file in Uppy's Dashboard (its "Add more" view once it lists files). From
    a path: Playwright hands a local browser the path, not megabytes of base64."""
    path = folder / name
    path.write_bytes(data)
    if page.locator(".uppy-Dashboard-input").count() == 0:
        page.locator(".uppy-DashboardContent-addMore").click()
    page.locator(".uppy-Dashboard-input").first.set_input_files(path)


def test_console_upload_download_share_sign_out(
    console_server: AppServer, chromium: Any, tmp_path: Path
) -> None:
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
    _upload(page, tmp_path, "big.bin", data)
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


def test_read_only_user_sees_upload_refused(
    console_server: AppServer, chromium: Any, tmp_path: Path
) -> None:
    server = console_server
    bucket = f"readonly-{uuid.uuid4().hex[:8]}"
    s3 = boto3_client(server)
    s3.create_bucket(Bucket=bucket)
    for n in range(101):  # one more than a page
        s3.put_object(Bucket=bucket, Key=f"k{n:03}", Body=b"")
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    _sign_in(page, server, read_only_user(server, bucket))
    page.goto(f"{server.endpoint}/console/#/b/{bucket}/")
    page.wait_for_selector("#objects-view", state="visible")
    # The user may list the bucket, a page at a time.
    page.get_by_role("cell", name="k099", exact=True).wait_for()
    assert page.get_by_role("cell", name="k100", exact=True).count() == 0
    page.get_by_role("button", name="Next page").click()
    page.get_by_role("cell", name="k100", exact=True).wait_for()
    page.get_by_role("button", name="First page").click()
    page.get_by_role("cell", name="k000", exact=True).wait_for()

    _upload(page, tmp_path, "nope.txt", b"not allowed")
    page.wait_for_selector("#message:has-text('Upload of nope.txt refused')")
    assert "Access Denied" in page.locator("#message").inner_text()
    context.close()


def _is_part(url: str) -> bool:
    return "partNumber=" in url


def _release(held: list[Any]) -> None:
    for route in held:
        try:
            route.abort()
        except Exception:  # the page may have given the request up already
            pass
    held.clear()


def _poll(page: Any, done: Any, what: str) -> None:
    """Wait for `done()` (a check outside the page), letting the page run meanwhile."""
    for _ in range(250):
        if done():
            return
        page.wait_for_timeout(20)
    raise AssertionError(f"timed out waiting for {what}")


def test_upload_pause_resume_and_cancel(
    console_server: AppServer, chromium: Any, tmp_path: Path
) -> None:
    server = console_server
    s3 = boto3_client(server)
    bucket = f"pause-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    _sign_in(page, server, (server.access_key, server.secret_key))
    page.goto(f"{server.endpoint}/console/#/b/{bucket}/")
    page.wait_for_selector("#objects-view", state="visible")

    def uploads() -> list[Any]:
        return list(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []))

    # Cancel while a part is in flight: the multipart upload is aborted on the server.
    held: list[Any] = []
    page.route(_is_part, lambda route: held.append(route))
    _upload(page, tmp_path, "cancelled.bin", os.urandom(UPLOAD_BYTES))
    _poll(page, lambda: bool(held), "a part upload")
    assert [u["Key"] for u in uploads()] == ["cancelled.bin"]
    page.locator('[data-cy="cancel"]').click()
    _release(held)
    _poll(page, lambda: uploads() == [], "the upload's abort")

    # Pause while a part is held in flight, then resume with parts flowing again.
    data = os.urandom(UPLOAD_BYTES)
    _upload(page, tmp_path, "paused.bin", data)
    _poll(page, lambda: bool(held), "a part upload")
    page.locator('[data-cy="togglePauseResume"]').click()  # pause
    page.unroute_all()
    _release(held)
    page.locator('[data-cy="togglePauseResume"]').click()  # resume
    page.locator("#upload-status", has_text="Upload complete: paused.bin").wait_for()
    assert s3.get_object(Bucket=bucket, Key="paused.bin")["Body"].read() == data
    assert uploads() == []

    page.once("dialog", lambda dialog: dialog.accept())  # "Delete paused.bin from ...?"
    page.get_by_role("button", name="Delete paused.bin").click()
    page.locator("#notice", has_text="Deleted paused.bin.").wait_for()
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    context.close()


def test_console_pages_pass_axe_at_two_widths(console_server: AppServer, chromium: Any) -> None:
    """axe-core (from npm) finds no serious or critical accessibility violation in the
    sign-in page, the bucket list and a folder with an object's details, at 1280 px and at
    a phone's 390 px. (axe is injected as a script: this one context bypasses the CSP.)"""
    axe = axe_core_js()
    server = console_server
    s3 = boto3_client(server)
    bucket = f"axe-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="docs/report.txt", Body=b"text")
    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    found: dict[str, list[str]] = {}

    def check(where: str) -> None:
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.add_script_tag(content=axe)
            found[f"{where} at {width}px"] = page.evaluate(SERIOUS_VIOLATIONS)

    page.goto(f"{server.endpoint}/console/")
    page.locator("#sign-in-view").wait_for()
    check("sign-in")
    _sign_in(page, server, (server.access_key, server.secret_key))
    page.get_by_role("link", name=bucket).wait_for()
    check("buckets")
    page.goto(f"{server.endpoint}/console/#/b/{bucket}/docs%2F")
    page.get_by_role("button", name="Details of report.txt").click()
    page.locator("#details-list", has_text="4 bytes").wait_for()
    check("folder")
    context.close()
    assert found == {name: [] for name in found}


pytestmark = pytest.mark.timeout(60)
