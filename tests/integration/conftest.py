"""Fixtures for tests against a live gateway process.

`gateway` is one server per variant for the whole session: http-local for every test that
uses it; https-local too for the tests of a module marked `https` (each real-client suite:
aws-cli, boto3, rclone, s3cmd, s3fs shows once that it works over TLS); http-s3 (the `s3`
backend on the session's SeaweedFS) and http-azure (the `azure` backend on the session's
Azurite) for the tests of a module that opts in with `pytestmark = pytest.mark.all_backends`
(pytest_generate_tests below; a test marked `local_only` stays on the local variants). A
remote variant whose server is unavailable skips, or fails under
KLOUDVAULT_REQUIRE_SERVICES=1 (tests/conftest.py). Handler behaviour is tested in-process,
in tests/app; here are what only a separate process and real clients can show.
`bucket` is a fresh bucket per test, emptied and deleted afterwards; `s3` is a boto3
client on the gateway. `gateway_factory` starts extra servers (a crash test needs its
own). When a test fails, the report gains the gateway's log lines written during that test.

KLOUDVAULT_TEST_GATEWAY_ARGS (shell words) adds CLI arguments to every gateway started
here, e.g. a backend selection, so the whole suite can run over another backend.
"""

from __future__ import annotations

import os
import secrets
import shlex
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import Any

import pytest

from tests.support.clients import boto3_client, empty_and_delete_bucket, unique_bucket_name
from tests.support.gateway import GatewayProcess, start_gateway
from tests.support.remote_backends import S3_BUCKET
from tests.support.tls import TLSFiles

# "<scheme>-<backend>": every test using `gateway` runs on http-local; modules marked https
# on https-local too, modules marked all_backends on the remote ones too (one scheme is
# enough there: TLS is the gateway's business, not the backend's).
LOCAL_VARIANTS = ("http-local",)
HTTPS_VARIANTS = ("https-local",)
REMOTE_VARIANTS = ("http-s3", "http-azure")
EXTRA_ARGS_ENV = "KLOUDVAULT_TEST_GATEWAY_ARGS"

GatewayFactory = Callable[..., GatewayProcess]

_LOG_MARKS = pytest.StashKey[tuple[GatewayProcess, tuple[int, int]]]()


@pytest.fixture(scope="session")
def gateway_factory(
    tmp_path_factory: pytest.TempPathFactory, tls_files: TLSFiles
) -> Iterator[GatewayFactory]:
    """start(scheme="http", extra_args=(), extra_env=None, **kwargs) -> a running gateway."""
    started: list[GatewayProcess] = []
    common_args = shlex.split(os.environ.get(EXTRA_ARGS_ENV, ""))

    def start(
        scheme: str = "http",
        *,
        extra_args: Sequence[str] = (),
        extra_env: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> GatewayProcess:
        workdir = tmp_path_factory.mktemp(f"gw-{scheme}")
        gw = start_gateway(
            workdir,
            scheme,
            tls=tls_files if scheme == "https" else None,
            # The access log puts every request next to a failing test's report.
            extra_args=["--access-log", *common_args, *extra_args],
            extra_env=extra_env,
            **kwargs,
        )
        started.append(gw)
        return gw

    yield start
    for gw in started:
        gw.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize `gateway` (indirect, session scope) over the variants a test runs on."""
    if "gateway" not in metafunc.fixturenames:
        return
    variants = list(LOCAL_VARIANTS)
    definition = metafunc.definition
    if definition.get_closest_marker("https"):
        variants += HTTPS_VARIANTS
    if definition.get_closest_marker("all_backends") and not definition.get_closest_marker(
        "local_only"
    ):
        variants += REMOTE_VARIANTS
    metafunc.parametrize("gateway", variants, indirect=True, scope="session", ids=variants)


def backend_args(config: pytest.Config, backend: str) -> tuple[list[str], dict[str, str]]:
    """CLI arguments and environment for a gateway on `backend`, in a namespace of its own
    on the session's server (secrets go through the environment, not the command line)."""
    if backend == "local":
        return [], {}
    namespace = f"gw-{secrets.token_hex(6)}"
    if backend == "s3":
        from tests.support.seaweedfs import session_seaweedfs

        weed = session_seaweedfs(config)
        args = ["--backend", "s3", "--s3-endpoint", weed.endpoint, "--s3-bucket", S3_BUCKET]
        args += ["--s3-prefix", f"{namespace}/", "--s3-region", weed.region]
        return args, {
            "KLOUDVAULT_S3_ACCESS_KEY": weed.access_key,
            "KLOUDVAULT_S3_SECRET_KEY": weed.secret_key,
        }
    if backend == "azure":
        from tests.support.azurite import session_azurite

        azurite = session_azurite(config)
        return ["--backend", "azure", "--azure-container", namespace], {
            "KLOUDVAULT_AZURE_CONNECTION_STRING": azurite.connection_string
        }
    raise ValueError(f"unknown backend variant {backend!r}")


@pytest.fixture(scope="session")
def gateway(request: pytest.FixtureRequest, gateway_factory: GatewayFactory) -> GatewayProcess:
    scheme, _, backend = str(request.param).partition("-")
    args, env = backend_args(request.config, backend or "local")
    return gateway_factory(scheme, extra_args=args, extra_env=env)


# By endpoint, not id(): pytest may tear a session variant down and start it again, and
# the new server object can reuse the old one's id.
_CLIENTS: dict[str, Any] = {}


@pytest.fixture
def s3(gateway: GatewayProcess) -> Any:
    """A boto3 S3 client (default checksum settings, path style) on the gateway."""
    client = _CLIENTS.get(gateway.endpoint)
    if client is None:
        client = _CLIENTS[gateway.endpoint] = boto3_client(gateway)
    return client


@pytest.fixture
def bucket(request: pytest.FixtureRequest, s3: Any) -> Iterator[str]:
    """A new, empty bucket for this test; emptied and deleted afterwards (best effort)."""
    name = unique_bucket_name(request.node.name)
    s3.create_bucket(Bucket=name)
    yield name
    empty_and_delete_bucket(s3, name)


# -- gateway logs in failure reports ----------------------------------------------------------


@pytest.fixture(autouse=True)
def _gateway_log_mark(request: pytest.FixtureRequest) -> None:
    if "gateway" in request.fixturenames:
        gw = request.getfixturevalue("gateway")
        request.node.stash[_LOG_MARKS] = (gw, gw.log_mark())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and report.when in ("call", "teardown"):
        marked = item.stash.get(_LOG_MARKS, None)
        if marked is not None:
            gw, mark = marked
            time.sleep(0.2)  # let the server flush the access-log lines of the last requests
            report.sections.append(
                (f"gateway log during test ({gw.endpoint})", gw.logs_since(mark, limit=6000))
            )
    return report
