"""The console's vendored Uppy (gateway/console/static/vendor/) is byte for byte the npm
package's prebuilt bundle, at the version its README names: .ci/run installs that version
into .venv/node/console (KLOUDVAULT_CONSOLE_NODE_PREFIX points elsewhere)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from gateway.console.static import STATIC_DIR
from tests.conftest import require_service
from tests.support.gateway import REPO_ROOT

VENDOR = STATIC_DIR / "vendor"
# vendored name -> path inside the npm package
FILES = {
    "uppy.min.mjs": "dist/uppy.min.mjs",
    "uppy.min.css": "dist/uppy.min.css",
    "uppy-LICENSE.txt": "LICENSE",
}


def _package() -> Path:
    prefix = Path(
        os.environ.get("KLOUDVAULT_CONSOLE_NODE_PREFIX", REPO_ROOT / ".venv" / "node" / "console")
    )
    return prefix / "node_modules" / "uppy"


def _readme_version() -> str:
    versions = set(
        re.findall(r"\| uppy[^|]*\| (\d+\.\d+\.\d+) \|", (VENDOR / "README.md").read_text())
    )
    assert len(versions) == 1, versions
    return str(versions.pop())


def test_vendored_uppy_matches_the_npm_package() -> None:
    package = _package()
    if not (package / "package.json").exists():
        require_service("uppy", f"{package} is missing (.ci/run installs it from npm)")
    version = json.loads((package / "package.json").read_text())["version"]
    assert version == _readme_version(), "vendor/README.md names another version"
    for vendored, shipped in FILES.items():
        assert (VENDOR / vendored).read_bytes() == (package / shipped).read_bytes(), vendored


@pytest.mark.parametrize("name", sorted(FILES))
def test_vendored_files_are_served(name: str) -> None:
    from gateway.console.static import files

    assert f"vendor/{name}" in files()
