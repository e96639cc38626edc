"""Fixtures for the console's browser test (tests/browser/test_console.py), kept out of a
conftest.py so that they never meet the other browser tests' fixtures.

`console_server` is one in-process gateway (tests/app/server.py: the real application on
a loopback port, memory backend, SQLite) per module, with its clock movable;
`chromium` is Debian's /usr/bin/chromium under Playwright (never a downloaded build), one
per module. Missing Chromium or Playwright skips, or fails under
KLOUDVAULT_REQUIRE_SERVICES=1 (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auth.credentials import new_iam_id
from tests.app.server import AppServer, MovableClock
from tests.conftest import require_service
from tests.support.gateway import REPO_ROOT

CHROMIUM = "/usr/bin/chromium"
NODE_PREFIX_ENV = "KLOUDVAULT_CONSOLE_NODE_PREFIX"

# axe-core's serious and critical violations on the page, run once axe_core_js() is in it.
SERIOUS_VIOLATIONS = """async () => (await axe.run()).violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)"""


def axe_core_js() -> str:
    """axe-core's browser build, which .ci/run installs from npm into .venv/node/console."""
    prefix = Path(os.environ.get(NODE_PREFIX_ENV, REPO_ROOT / ".venv" / "node" / "console"))
    script = prefix / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        require_service("axe-core", f"{script} is missing (.ci/run installs it from npm)")
    return script.read_text()


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    server = AppServer(tmp_path_factory.mktemp("console"), clock=MovableClock()).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        require_service("chromium", f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_service("playwright", "the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def read_only_user(server: AppServer, bucket: str) -> tuple[str, str]:
    """An IAM user of root that may list `bucket` and read its objects, nothing else;
    (access key, secret key)."""
    name = f"reader{uuid.uuid4().hex[:6]}"
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket", "s3:GetObject"],
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                },
            ],
        }
    )

    async def make() -> tuple[str, str]:
        meta = server.services.meta
        now = time.time()
        await meta.create_iam_user("root", name, path="/", user_id=new_iam_id("AIDA"), now=now)
        await meta.put_inline_policy("root", "user", name, "read", document)
        access, secret = f"KV{uuid.uuid4().hex[:18].upper()}", uuid.uuid4().hex
        await meta.create_user_access_key("root", name, access, secret, now=now)
        return access, secret

    return server.call(make())
