"""The services policy (DESIGN.md, "Tests and services"), and the order of a parallel run.

A test that needs an outside service (PostgreSQL, Redis, ...) calls
`require_service(name, reason)` when the service cannot be reached: the test is skipped
with that reason, unless KLOUDVAULT_REQUIRE_SERVICES=1 (CI sets it), where it fails.

The suite runs on pytest-xdist workers (addopts in pyproject.toml; `-n 0` runs it in one
process). Each worker has its own session servers (SeaweedFS, Azurite, gateways), PostgreSQL
schemas, Redis namespaces and temporary directories, and ports are claimed machine-wide
(tests/support/ports.py), so workers share nothing but the PostgreSQL and Redis servers,
and no test may count on another having run before it (or on the same worker).
Most of a worker's time is spent waiting for a client or server process, hence more
workers than cores. Tests are handed out one at a time (`--maxschedchunk 1`), in the
order the workers collected them: here the slow layers come first, so that no worker
starts a minute-long integration test while the others are running out of work.
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


# Slowest first: an integration test can take a minute, a unit test a millisecond.
LAYER_ORDER = ("integration", "browser", "contract", "app", "unit")


def _layer_rank(item: pytest.Item) -> int:
    parts = item.nodeid.split("/")
    layer = parts[1] if len(parts) > 2 and parts[0] == "tests" else ""
    return LAYER_ORDER.index(layer) if layer in LAYER_ORDER else len(LAYER_ORDER)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker, put the slow layers first; within a layer keep pytest's order
    (it groups the tests of each session-scoped gateway variant)."""
    if hasattr(config, "workerinput"):
        items.sort(key=_layer_rank)  # stable
