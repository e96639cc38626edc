"""The services policy (DESIGN.md, "Tests and services").

A test that needs an outside service (PostgreSQL, Redis, ...) calls
`require_service(name, reason)` when the service cannot be reached: the test is skipped
with that reason, unless KLOUDVAULT_REQUIRE_SERVICES=1 (CI sets it), where it fails.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

from tests.support.tls import TLSFiles, make_test_tls

REQUIRE_SERVICES_ENV = "KLOUDVAULT_REQUIRE_SERVICES"


def services_required() -> bool:
    return os.environ.get(REQUIRE_SERVICES_ENV, "") == "1"


def require_service(name: str, reason: str) -> NoReturn:
    """Skip (or, under KLOUDVAULT_REQUIRE_SERVICES=1, fail) because `name` is unavailable."""
    message = f"{name} unavailable: {reason}"
    if services_required():
        pytest.fail(f"{message} ({REQUIRE_SERVICES_ENV}=1)", pytrace=False)
    pytest.skip(message)


def pytest_report_header(config: pytest.Config) -> str:
    policy = "fail" if services_required() else "skip"
    return f"kloudvault: tests whose services are unreachable will {policy}"


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A test CA and a server certificate for 127.0.0.1 (https gateways, in or out of process)."""
    return make_test_tls(tmp_path_factory.mktemp("tls"))
