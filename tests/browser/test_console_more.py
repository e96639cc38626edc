"""The console's later views in Debian's Chromium, against the real application in this
process: an object's versions (download one, delete one, delete all), new folder, rename
and multi-select delete, bucket settings (errors from the server shown in words, a public
prefix), and a 50 MB upload whose connection drops mid-way and that Uppy retries to the
end. Screenshots at 1280 px and 390 px go to test-artifacts/console/ (gitignored)."""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from auth.credentials import ROOT_USER
from tests.app.server import AppServer
from tests.browser.console_support import (
    SERIOUS_VIOLATIONS,
    axe_core_js,
    chromium,
    console_server,
)
from tests.support.clients import boto3_client
from tests.support.gateway import REPO_ROOT

__all__ = ["chromium", "console_server"]  # fixtures, imported for pytest

TIMEOUT_MS = 15_000
ARTIFACTS = REPO_ROOT / "test-artifacts" / "console"
BIG_BYTES = 50 * 1024 * 1024  # ten of Uppy's 5 MiB parts


def _page(server: AppServer, browser: Any, hash_: str, *, axe: bool = False) -> tuple[Any, Any]:
    # (axe-core is injected as a script: only a context that bypasses the CSP may.)
    context = browser.new_context(accept_downloads=True, bypass_csp=axe)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{server.endpoint}/console/")
    page.get_by_label("Access key").fill(server.access_key)
    page.get_by_label("Secret key").fill(server.secret_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#app-view", state="visible")
    page.goto(f"{server.endpoint}/console/{hash_}")
    return context, page


def _accept_next(page: Any, answer: str | None = None) -> None:
    page.once("dialog", lambda dialog: dialog.accept(*([answer] if answer is not None else [])))


def _anonymous_get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_versions_folders_rename_and_multi_select(console_server: AppServer, chromium: Any) -> None:
    server = console_server
    s3 = boto3_client(server)
    bucket = f"more-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two"):
        s3.put_object(Bucket=bucket, Key="doc.txt", Body=body)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    s3.put_object(Bucket=bucket, Key="b.txt", Body=b"b")
    context, page = _page(server, chromium, f"#/b/{bucket}/")

    page.get_by_role("button", name="Details of doc.txt").click()
    versions = page.locator("#versions tbody tr")
    versions.nth(1).wait_for()
    assert versions.count() == 2
    oldest = versions.nth(1).get_attribute("data-version")
    with page.expect_download() as downloading:
        page.get_by_role("button", name=f"Download version {oldest}").click()
    assert Path(downloading.value.path()).read_bytes() == b"one"
    _accept_next(page)
    page.get_by_role("button", name=f"Delete version {oldest}").click()
    page.locator("#versions h4", has_text="Versions (1)").wait_for()
    _accept_next(page)
    page.get_by_role("button", name="Delete all versions").click()
    page.locator("#notice", has_text="Deleted all 1 versions of doc.txt.").wait_for()
    page.wait_for_selector("#details", state="hidden")
    listed = s3.list_object_versions(Bucket=bucket, Prefix="doc.txt")
    assert "Versions" not in listed and "DeleteMarkers" not in listed

    page.get_by_label("New folder name").fill("docs")
    page.get_by_role("button", name="Create folder").click()
    page.get_by_role("link", name="docs/").wait_for()
    assert s3.head_object(Bucket=bucket, Key="docs/")["ContentLength"] == 0

    _accept_next(page, "docs/a2.txt")
    page.get_by_role("button", name="Rename or move a.txt").click()
    page.locator("#notice", has_text="Renamed a.txt to docs/a2.txt.").wait_for()
    assert s3.get_object(Bucket=bucket, Key="docs/a2.txt")["Body"].read() == b"a"

    page.get_by_label("Select b.txt").check()
    page.get_by_label("Select docs/").check()
    assert page.locator("#selection-count").inner_text() == "2 selected"
    _accept_next(page)
    page.get_by_role("button", name="Delete selected").click()
    page.locator("#notice", has_text="Deleted 3 object(s).").wait_for()
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    context.close()


def test_bucket_settings_show_server_errors_in_words(
    console_server: AppServer, chromium: Any
) -> None:
    server = console_server
    s3 = boto3_client(server)
    bucket = f"set-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="pub/a.txt", Body=b"open")
    context, page = _page(server, chromium, f"#/settings/{bucket}", axe=True)
    page.locator("#versioning-state", has_text="never enabled").wait_for()
    page.locator("#policy-status", has_text="no policy").wait_for()
    page.set_viewport_size({"width": 390, "height": 844})
    page.add_script_tag(content=axe_core_js())
    assert page.evaluate(SERIOUS_VIOLATIONS) == []
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Save versioning").click()  # the form offers Enabled
    page.locator("#versioning-state", has_text="Versioning is enabled.").wait_for()
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

    cors = page.get_by_label("CORS configuration", exact=False)
    cors.fill('{"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["FETCH"]}]}')
    page.get_by_role("button", name="Save CORS rules").click()
    message = page.locator("#message")
    message.wait_for()
    assert "FETCH" in message.inner_text() and "<" not in message.inner_text()
    rules = {"CORSRules": [{"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET"]}]}
    cors.fill(json.dumps(rules))
    page.get_by_role("button", name="Save CORS rules").click()
    page.locator("#notice", has_text=f"CORS rules of {bucket} saved.").wait_for()
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]["AllowedMethods"] == ["GET"]

    page.get_by_label("Encrypt new objects with").select_option("AES256")
    page.get_by_role("button", name="Save encryption").click()
    page.locator("#notice", has_text=f"Default encryption of {bucket} saved.").wait_for()
    applied = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert applied["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    kms_key = server.call(server.services.kms.create_key(ROOT_USER, None)).key_id
    page.get_by_label("Encrypt new objects with").select_option("aws:kms")
    page.get_by_label("KMS key id").fill(kms_key)
    page.get_by_role("button", name="Save encryption").click()
    page.locator("#notice", has_text=f"Default encryption of {bucket} saved.").wait_for()
    applied = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    by_default = applied["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert (by_default["SSEAlgorithm"], by_default["KMSMasterKeyID"]) == ("aws:kms", kms_key)

    lifecycle = {
        "Rules": [
            {
                "ID": "tmp",
                "Status": "Enabled",
                "Filter": {"Prefix": "tmp/"},
                "Expiration": {"Days": 3},
            }
        ]
    }
    page.get_by_label("Lifecycle configuration", exact=False).fill(json.dumps(lifecycle))
    page.get_by_role("button", name="Save lifecycle rules").click()
    page.locator("#notice", has_text=f"Lifecycle rules of {bucket} saved.").wait_for()
    rule = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert (rule["ID"], rule["Expiration"]["Days"]) == ("tmp", 3)
    assert "not enabled" in page.locator("#lock-state").inner_text()

    # What was saved is read back into the forms (S3's XML shown as the CLI's JSON).
    page.reload()
    page.locator("#versioning-state", has_text="Versioning is enabled.").wait_for()
    page.locator("#policy-status").filter(has_text="no policy").wait_for()
    shown = json.loads(page.get_by_label("CORS configuration", exact=False).input_value())
    assert shown["CORSRules"][0]["AllowedOrigins"] == ["https://app.example"]
    shown = json.loads(page.get_by_label("Lifecycle configuration", exact=False).input_value())
    assert shown["Rules"][0]["Expiration"] == {"Days": 3}
    assert page.get_by_label("Encrypt new objects with").input_value() == "aws:kms"
    assert page.get_by_label("KMS key id").input_value() == kms_key

    assert _anonymous_get(f"{server.endpoint}/{bucket}/pub/a.txt") == 403
    page.get_by_label("Prefix to make public", exact=False).fill("pub/")
    _accept_next(page)
    page.get_by_role("button", name="Make prefix public").click()
    page.locator("#policy-status", has_text="makes it public").wait_for()
    assert _anonymous_get(f"{server.endpoint}/{bucket}/pub/a.txt") == 200

    # Object lock defaults, on a bucket made with object lock.
    locked = f"lock-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    page.goto(f"{server.endpoint}/console/#/settings/{locked}")
    page.locator("#lock-state", has_text="no default retention").wait_for()
    page.get_by_label("Default retention mode").select_option("GOVERNANCE")
    page.get_by_label("Retention days").fill("3")
    page.get_by_role("button", name="Save retention").click()
    page.locator("#lock-state", has_text="GOVERNANCE, 3 days").wait_for()
    lock = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert lock["Rule"]["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": 3}
    context.close()


def test_upload_survives_a_dropped_connection(
    console_server: AppServer, chromium: Any, tmp_path: Path
) -> None:
    server = console_server
    s3 = boto3_client(server)
    bucket = f"drop-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    context, page = _page(server, chromium, f"#/b/{bucket}/")
    page.wait_for_selector("#objects-view", state="visible")

    # The connection drops under the first attempts of parts 5 and 6, mid-upload: those
    # requests fail as a reset would, and Uppy must send them again. (Chromium's offline
    # mode does not cut requests to loopback already under way, so a route cuts them.)
    seen: dict[int, int] = {}

    def drop_some(route: Any) -> None:
        number = int(route.request.url.split("partNumber=")[1].split("&")[0])
        seen[number] = seen.get(number, 0) + 1
        if number in (5, 6) and seen[number] == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(lambda url: "partNumber=" in url, drop_some)
    path = tmp_path / "big50.bin"
    data = os.urandom(BIG_BYTES)
    path.write_bytes(data)
    page.locator(".uppy-Dashboard-input").first.set_input_files(path)
    for _ in range(2000):  # the retries seen, the rest goes unintercepted
        if seen.get(5, 0) >= 2 and seen.get(6, 0) >= 2:
            break
        page.wait_for_timeout(10)
    page.unroute_all()
    assert seen[5] >= 2 and seen[6] >= 2, seen
    page.locator("#upload-status", has_text="Upload complete: big50.bin").wait_for(timeout=60_000)
    stored = s3.get_object(Bucket=bucket, Key="big50.bin")["Body"].read()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        shot = ARTIFACTS / f"console-upload-{width}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 0
    context.close()
