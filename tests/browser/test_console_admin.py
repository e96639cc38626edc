"""The console's administration pages in Debian's Chromium, against the real application
in this process: IAM users, access keys (shown once, deactivated, deleted), groups and
the policy editor (IAM's validation errors shown in words); accounts, the usage overview
and quotas; a bucket's quota and event notifications; a non-administrator who is shown
none of it and refused when they try; and an upload that resumes after a page reload.
axe-core finds no serious violation on the new pages at 1280 and 390 px; screenshots go
to test-artifacts/console/ (gitignored)."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from gateway.meta.outbox import outbox_of
from tests.app.server import AppServer
from tests.browser.console_support import (
    SERIOUS_VIOLATIONS,
    axe_core_js,
    chromium,
    console_server,
    read_only_user,
)
from tests.support.clients import boto3_client
from tests.support.gateway import REPO_ROOT

__all__ = ["chromium", "console_server"]  # fixtures, imported for pytest

TIMEOUT_MS = 15_000
ARTIFACTS = REPO_ROOT / "test-artifacts" / "console"
MIB = 1024 * 1024


def _page(
    browser: Any, server: AppServer, hash_: str, keys: tuple[str, str] | None = None
) -> tuple[Any, Any]:
    # (axe-core is injected as a script: only a context that bypasses the CSP may.)
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{server.endpoint}/console/")
    access, secret = keys or (server.access_key, server.secret_key)
    page.get_by_label("Access key").fill(access)
    page.get_by_label("Secret key").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#app-view", state="visible")
    page.goto(f"{server.endpoint}/console/{hash_}")
    return context, page


def _accept_next(page: Any) -> None:
    page.once("dialog", lambda dialog: dialog.accept())


def _error(page: Any, text: str) -> None:
    page.locator("#message", has_text=text).wait_for()


def _check_axe(page: Any, name: str) -> None:
    """No serious violation at 1280 and 390 px, with a screenshot at each."""
    page.add_script_tag(content=axe_core_js())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        assert page.evaluate(SERIOUS_VIOLATIONS) == [], (name, width)
        page.screenshot(path=str(ARTIFACTS / f"console-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_iam_users_keys_groups_and_the_policy_editor(
    console_server: AppServer, chromium: Any
) -> None:
    server = console_server
    user = f"ann{uuid.uuid4().hex[:6]}"
    context, page = _page(chromium, server, "#/iam/users")
    page.get_by_label("New user name").fill(user)
    page.get_by_role("button", name="Create user").click()
    page.get_by_role("link", name=user).click()
    page.get_by_role("heading", name=f"IAM user {user}").wait_for()

    # An access key: its secret shown once, then deactivated (IAM says so), then deleted.
    page.get_by_role("button", name=f"Create access key for {user}").click()
    secret = page.get_by_label("Secret key (shown once)").input_value()
    assert len(secret) >= 30
    key_id = page.locator("#new-key-shown p").inner_text().split()[2]
    row = page.locator(f'tr[data-key="{key_id}"]')
    assert "Active" in row.inner_text()
    page.get_by_role("button", name=f"Deactivate key {key_id}").click()
    page.locator(f'tr[data-key="{key_id}"]', has_text="Inactive").wait_for()
    stored = server.call(server.services.meta.list_user_access_keys("root", user))
    assert [(k.access_key, k.active) for k in stored] == [(key_id, False)]

    # The policy editor: not JSON, then refused by IAM in its words, then saved.
    page.get_by_label("Policy name").fill("read-logs")
    editor = page.get_by_label("Policy document (JSON)")
    editor.fill("{not json")
    page.get_by_role("button", name="Save policy").click()
    _error(page, "The policy document is not a JSON object")
    editor.fill(json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Perhaps"}]}))
    page.get_by_role("button", name="Save policy").click()
    _error(page, "MalformedPolicyDocument")
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    editor.fill(json.dumps(document))
    page.get_by_role("button", name="Save policy").click()
    page.get_by_role("button", name="Edit inline policy read-logs").wait_for()
    saved = server.call(server.services.meta.get_inline_policy("root", "user", user, "read-logs"))
    assert json.loads(saved) == document

    # A managed policy, made on its page and attached to the user, then detached.
    policy = f"managed-{user}"
    page.goto(f"{server.endpoint}/console/#/iam/policies")
    page.get_by_role("heading", name="Managed policies", level=2).wait_for()
    page.get_by_label("Policy name").fill(policy)
    page.get_by_label("Policy document (JSON)").fill(json.dumps(document))
    page.get_by_role("button", name="Save policy").click()
    page.get_by_role("button", name=f"Delete policy {policy}").wait_for()
    _check_axe(page, "iam-policies")

    # A group with the user as member.
    group = f"team-{user}"
    page.goto(f"{server.endpoint}/console/#/iam/groups")
    page.get_by_label("New group name").fill(group)
    page.get_by_role("button", name="Create group").click()
    page.get_by_role("link", name=group).click()
    page.get_by_label("User", exact=True).select_option(user)
    page.get_by_role("button", name="Add member").click()
    page.get_by_role("button", name=f"Remove {user} from {group}").wait_for()

    page.goto(f"{server.endpoint}/console/#/iam/users/{user}")
    page.get_by_role("heading", name=f"IAM user {user}").wait_for()
    page.get_by_role("link", name=group).wait_for()
    page.get_by_label("Managed policy").select_option(label=policy)
    page.get_by_role("button", name="Attach policy").click()
    page.get_by_role("button", name=f"Detach policy {policy}").wait_for()
    identity = server.call(server.services.meta.get_identity("root", user))
    assert identity is not None and len(identity.policies) == 2  # inline + managed
    _check_axe(page, "iam-user")
    page.get_by_role("button", name=f"Detach policy {policy}").click()
    page.locator("td", has_text="No managed policies attached.").wait_for()
    _accept_next(page)
    page.get_by_role("button", name=f"Delete key {key_id}").click()
    page.locator("td", has_text="No access keys.").wait_for()
    assert server.call(server.services.meta.list_user_access_keys("root", user)) == []
    context.close()


def test_accounts_usage_quotas_and_notifications(console_server: AppServer, chromium: Any) -> None:
    server = console_server
    s3 = boto3_client(server)
    bucket = f"use-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"x" * 3000)
    context, page = _page(chromium, server, "#/admin/accounts")

    # An account: its first key shown once, and it works.
    account = f"tenant{uuid.uuid4().hex[:6]}"
    page.get_by_label("New account name").fill(account)
    page.get_by_role("button", name="Create account").click()
    secret = page.get_by_label("Secret key (shown once)").input_value()
    row = page.locator(f'tr[data-account="{account}"]')
    access = row.locator("ul.keys li").first.inner_text().split()[0]
    tenant = boto3_client(server, access_key=access, secret_key=secret)
    assert tenant.list_buckets()["Buckets"] == []
    page.get_by_role("button", name=f"Deactivate key {access} of {account}").click()
    page.locator(f'li[data-key="{access}"]', has_text="(inactive)").wait_for()
    try:
        tenant.list_buckets()
        raise AssertionError("a deactivated key was let in")
    except tenant.exceptions.ClientError as err:
        assert err.response["Error"]["Code"] == "InvalidAccessKeyId"
    _check_axe(page, "admin-accounts")
    _accept_next(page)
    page.get_by_role("button", name=f"Delete account {account}").click()
    page.locator(f'tr[data-account="{account}"]').wait_for(state="detached")
    assert server.call(server.services.meta.get_user(account)) is None

    # The usage overview, and an account's quota set from it.
    page.goto(f"{server.endpoint}/console/#/admin/usage")
    page.locator(f'tr[data-bucket="{bucket}"]', has_text="2.9 KiB").wait_for()
    page.get_by_label("Set the quota of account").select_option("root")
    page.locator("#account-quota-form").get_by_label("Maximum objects").fill("100000")
    page.locator("#account-quota-form").get_by_role("button", name="Save quota").click()
    page.locator("#account-quota-state", has_text="of 100000").wait_for()
    _check_axe(page, "admin-usage")
    page.locator("#account-quota-form").get_by_role("button", name="Remove quota").click()
    page.locator("#account-quota-state", has_text="(no limit)").wait_for()

    # A bucket's quota from its settings, enforced on the next write.
    page.goto(f"{server.endpoint}/console/#/settings/{bucket}")
    quota = page.locator("#bucket-quota-form")
    page.locator("#bucket-quota-state", has_text="Stored: 2.9 KiB").wait_for()  # loaded
    quota.get_by_label("Maximum size in MiB", exact=False).fill("1")
    quota.get_by_role("button", name="Save quota").click()
    page.locator("#bucket-quota-state", has_text="of 1.0 MiB").wait_for()
    try:
        s3.put_object(Bucket=bucket, Key="big", Body=b"y" * (2 * MIB))
        raise AssertionError("the quota let a 2 MiB object into a 1 MiB bucket")
    except s3.exceptions.ClientError as err:
        assert err.response["Error"]["Code"] == "QuotaExceeded"

    # Notifications to a target the operator configured; an overlapping rule is refused.
    target = f"hook{uuid.uuid4().hex[:6]}"
    outbox = outbox_of(server.services.meta)
    server.call(outbox.put_event_target(target, "http://127.0.0.1:9/", "{}", time.time()))
    page.reload()
    page.get_by_label("Send to target").select_option(target)
    page.get_by_label("Objects created", exact=False).check()
    page.get_by_label("Only keys starting with", exact=False).fill("in/")
    page.get_by_role("button", name="Add rule and save").click()
    page.get_by_role("button", name=f"Remove the rule sending to {target}").wait_for()
    configured = s3.get_bucket_notification_configuration(Bucket=bucket)
    rule = configured["QueueConfigurations"][0]
    assert rule["QueueArn"].endswith(f":{target}") and rule["Events"] == ["s3:ObjectCreated:*"]
    filters = rule["Filter"]["Key"]["FilterRules"]
    assert [(f["Name"].lower(), f["Value"]) for f in filters] == [("prefix", "in/")]
    page.get_by_label("Send to target").select_option(target)
    page.get_by_label("Objects created", exact=False).check()
    page.get_by_label("Only keys starting with", exact=False).fill("in/deeper/")
    page.get_by_role("button", name="Add rule and save").click()
    _error(page, "InvalidArgument")
    _check_axe(page, "bucket-settings-admin")
    page.get_by_role("button", name=f"Remove the rule sending to {target}").click()
    page.locator("#notification-state", has_text="No notifications").wait_for()
    assert "QueueConfigurations" not in s3.get_bucket_notification_configuration(Bucket=bucket)
    context.close()


def test_non_administrators_see_no_admin_pages_and_are_refused(
    console_server: AppServer, chromium: Any
) -> None:
    server = console_server
    reader = read_only_user(server, "any-bucket")
    context, page = _page(chromium, server, "#/admin/accounts", reader)
    # Not offered: no links, and the address falls back to the buckets.
    page.get_by_role("heading", name="Buckets").wait_for()
    for name in ("IAM users", "Groups", "Policies", "Accounts", "Usage"):
        assert page.get_by_role("link", name=name).count() == 0
    # Refused when tried anyway, by the admin API and by the IAM endpoint.
    status = page.evaluate("async () => (await fetch('/_kv/console/admin/accounts')).status")
    assert status == 403
    refused = page.evaluate(
        """async () => {
            const api = await import('/console/js/api.js');
            try { await api.iam('CreateUser', { UserName: 'sneaky' }); return 'allowed'; }
            catch (err) { return err.message; }
        }"""
    )
    assert "AccessDenied" in refused and "not authorized" in refused
    assert server.call(server.services.meta.get_iam_user("root", "sneaky")) is None
    context.close()

    # Another account's own key: its IAM pages, never the administrator's.
    name = f"other{uuid.uuid4().hex[:6]}"

    async def make_account() -> tuple[str, str]:
        meta = server.services.meta
        await meta.create_user(name, now=time.time())
        access, secret = f"KV{uuid.uuid4().hex[:18].upper()}", uuid.uuid4().hex
        await meta.create_access_key(
            name, access, server.services.credentials.sealer.seal(access, secret), now=time.time()
        )
        return access, secret

    context, page = _page(chromium, server, "#/admin/usage", server.call(make_account()))
    page.get_by_role("heading", name="Buckets").wait_for()
    assert page.get_by_role("link", name="IAM users").is_visible()
    assert page.get_by_role("link", name="Accounts").count() == 0
    status = page.evaluate("async () => (await fetch('/_kv/console/admin/usage')).status")
    assert status == 403
    page.get_by_role("link", name="IAM users").click()
    page.get_by_role("heading", name="IAM users").wait_for()
    _check_axe(page, "iam-users")
    context.close()


def test_an_upload_resumes_after_a_page_reload(
    console_server: AppServer, chromium: Any, tmp_path: Path
) -> None:
    server = console_server
    s3 = boto3_client(server)
    bucket = f"reload-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    context, page = _page(chromium, server, f"#/b/{bucket}/")
    page.wait_for_selector("#objects-view", state="visible")
    sent: list[str] = []
    context.on("request", lambda request: sent.append(request.url))

    # Part 3 of 3 hangs (its route is never answered) while parts 1 and 2 arrive; the
    # reload drops it with the page, and the reloaded page's part 3 goes through.
    held: list[Any] = []
    reloaded = False

    def hold(route: Any) -> None:
        if reloaded:
            route.continue_()
        else:
            held.append(route)

    page.route(lambda url: "partNumber=3&" in url, hold)
    data = os.urandom(14 * MIB)
    path = tmp_path / "reload.bin"
    path.write_bytes(data)
    page.locator(".uppy-Dashboard-input").first.set_input_files(path)

    def parts_stored() -> int:
        uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        if not uploads:
            return 0
        listed = s3.list_parts(Bucket=bucket, Key="reload.bin", UploadId=uploads[0]["UploadId"])
        return len(listed.get("Parts", []))

    for _ in range(300):
        if held and parts_stored() == 2:
            break
        page.wait_for_timeout(50)
    assert held and parts_stored() == 2
    page.wait_for_timeout(1500)  # GoldenRetriever saves its state (throttled)

    before = len(sent)
    reloaded = True
    page.reload()
    page.locator("#upload-status", has_text="Upload complete: reload.bin").wait_for(timeout=60_000)
    stored = s3.get_object(Bucket=bucket, Key="reload.bin")["Body"].read()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()
    # The same multipart upload carried on: created once; after the reload only the
    # missing part was sent.
    assert sum("uploads=" in url for url in sent) == 1, sent
    resent = [
        url.split("partNumber=")[1].split("&")[0] for url in sent[before:] if "partNumber=" in url
    ]
    assert resent == ["3"], resent
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    page.unroute_all(behavior="ignoreErrors")

    # Signing out forgets what was kept for a resume.
    databases = "async () => (await indexedDB.databases()).map((d) => d.name)"
    assert "uppy-blobs" in page.evaluate(databases)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    page.wait_for_function(f"async () => !(await ({databases})()).includes('uppy-blobs')")
    assert "uppy-blobs" not in page.evaluate(databases)
    context.close()
