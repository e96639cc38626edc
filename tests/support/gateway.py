"""Run a real `python -m gateway serve` process for integration tests.

A GatewayProcess owns one working directory: the data dir, the server's stdout/stderr logs,
and whatever client configuration the helpers in tests/support/clients.py write. It listens
on a free loopback port that it keeps across restarts, so a test can kill -9 the server,
start it again on the same data dir, and keep using the same endpoint and clients.

Extra CLI arguments and environment pass straight through (`extra_args`, `extra_env`), so
the same tests can later be parametrized over backends, e.g.
`extra_args=("--backend", "s3", "--backend-endpoint", ...)`.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import ssl
import string
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from tests.support.tls import TLSFiles

REPO_ROOT = Path(__file__).resolve().parents[2]
HEALTH_PATH = "/minio/health/live"
DEFAULT_REGION = "us-east-1"

# Environment variables that would configure the server under test behind our back.
# Test-only switches (services policy, service locations, tool paths) pass through.
_PASSTHROUGH_KLOUDVAULT = ("KLOUDVAULT_TEST_", "KLOUDVAULT_REQUIRE_SERVICES", "KLOUDVAULT_AZURITE")


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (tests/support/ports.py's helper when it exists)."""
    try:
        from tests.support.ports import free_port as shared_free_port
    except ImportError:  # the shared module belongs to another change; stand alone without it
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
            return port
    return shared_free_port()


def random_access_key() -> str:
    return "KV" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(18))


def random_secret_key() -> str:
    # Alphanumeric only: '/' and '+' are legal in real secrets but make shell and config
    # quoting bugs in a test harness indistinguishable from signing bugs in the server.
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(40))


class GatewayStartError(RuntimeError):
    pass


class GatewayProcess:
    """One gateway server process on 127.0.0.1, http or https, with its own data dir."""

    def __init__(
        self,
        workdir: Path,
        scheme: str = "http",
        *,
        tls: TLSFiles | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str = DEFAULT_REGION,
        extra_args: Sequence[str] = (),
        extra_env: Mapping[str, str] | None = None,
        startup_timeout: float = 30.0,
        port: int | None = None,
    ) -> None:
        if scheme not in ("http", "https"):
            raise ValueError(f"scheme must be http or https, not {scheme!r}")
        if scheme == "https" and tls is None:
            raise ValueError("https needs TLS files (tests.support.tls.make_test_tls)")
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.scheme = scheme
        self.tls = tls if scheme == "https" else None
        self.access_key = access_key or random_access_key()
        self.secret_key = secret_key or random_secret_key()
        self.region = region
        self.extra_args = tuple(extra_args)
        self.extra_env = dict(extra_env or {})
        self.startup_timeout = startup_timeout
        self.port = port or free_port()
        self.data_dir = self.workdir / "data"
        self.stdout_path = self.workdir / "gateway.stdout.log"
        self.stderr_path = self.workdir / "gateway.stderr.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._starts = 0

    # -- addressing ---------------------------------------------------------------------

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://{self.netloc}"

    @property
    def ca_bundle(self) -> Path | None:
        return self.tls.ca_bundle if self.tls else None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        """A verifying client context trusting only the test CA (None for http)."""
        if self.tls is None:
            return None
        return ssl.create_default_context(cafile=str(self.tls.ca_bundle))

    # -- process control ------------------------------------------------------------------

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "gateway",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--listen",
            self.netloc,
            "--region",
            self.region,
        ]
        if self.tls is not None:
            cmd += ["--tls-cert", str(self.tls.cert), "--tls-key", str(self.tls.key)]
        # One process unless a test asks for more (a later --workers in extra_args wins):
        # tests that watch the server's pid (RSS, signals) must see the process that serves.
        cmd += ["--workers", "1"]
        cmd += self.extra_args
        return cmd

    def environment(self) -> dict[str, str]:
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("AWS_")
            and (not name.startswith("KLOUDVAULT_") or name.startswith(_PASSTHROUGH_KLOUDVAULT))
        }
        env["KLOUDVAULT_ROOT_ACCESS_KEY"] = self.access_key
        env["KLOUDVAULT_ROOT_SECRET_KEY"] = self.secret_key
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.extra_env)
        return env

    def start(self) -> GatewayProcess:
        if self.running:
            raise RuntimeError("gateway already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._starts += 1
        banner = f"\n===== start #{self._starts}: {' '.join(self.command())}\n".encode()
        with self.stdout_path.open("ab") as out, self.stderr_path.open("ab") as err:
            out.write(banner)
            err.write(banner)
            out.flush()
            err.flush()
            # A session of its own: kill9()/stop() signal the whole group, workers included.
            self._proc = subprocess.Popen(
                self.command(),
                cwd=REPO_ROOT,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        self.wait_ready()
        return self

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait_ready(self) -> None:
        """Poll GET /minio/health/live until it answers 200; fail with the server's logs."""
        deadline = time.monotonic() + self.startup_timeout
        last_error = "no attempt"
        while time.monotonic() < deadline:
            assert self._proc is not None
            code = self._proc.poll()
            if code is not None:
                raise GatewayStartError(
                    f"gateway exited with status {code} during start-up\n{self.describe()}"
                )
            try:
                status = self._health_status(timeout=2.0)
            except (OSError, http.client.HTTPException) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                if status == 200:
                    return
                last_error = f"GET {HEALTH_PATH} -> {status}"
            time.sleep(0.1)
        self._signal(signal.SIGKILL)
        raise GatewayStartError(
            f"gateway not ready after {self.startup_timeout:.0f}s ({last_error})\n{self.describe()}"
        )

    def _health_status(self, timeout: float) -> int:
        conn: http.client.HTTPConnection
        if self.tls is not None:
            conn = http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout, context=self.ssl_context
            )
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request("GET", HEALTH_PATH)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    def _signal(self, sig: signal.Signals) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        try:
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill9(self) -> None:
        """SIGKILL the server and its workers, as a power cut would; no clean-up runs."""
        if self._proc is None:
            return
        self._signal(signal.SIGKILL)
        self._proc.wait(timeout=30)
        # Workers in the group may outlive the parent for a moment; the group is gone
        # once killpg finds nobody.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                break
            time.sleep(0.05)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit status."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        return self._proc.returncode

    def restart(self) -> GatewayProcess:
        """Stop (if running) and start again on the same data dir, port and keys."""
        if self.running:
            self.stop()
        return self.start()

    def __enter__(self) -> GatewayProcess:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- admin CLI ------------------------------------------------------------------------

    def admin(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run `python -m gateway admin --data-dir DIR ARGS...`; raise with output on error."""
        cmd = [sys.executable, "-m", "gateway", "admin", "--data-dir", str(self.data_dir), *args]
        result = subprocess.run(
            cmd,
            cwd=REPO_ROOT,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} exited {result.returncode}\n"
                f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
            )
        return result

    def create_user(self, name: str) -> tuple[str, str]:
        """`admin user create NAME`; returns (access key, secret key) parsed from its output."""
        out = self.admin("user", "create", name).stdout
        return parse_user_keys(out)

    # -- logs -----------------------------------------------------------------------------

    def log_mark(self) -> tuple[int, int]:
        return (_size(self.stdout_path), _size(self.stderr_path))

    def logs_since(self, mark: tuple[int, int] = (0, 0), limit: int = 20_000) -> str:
        parts = []
        for label, path, offset in (
            ("stdout", self.stdout_path, mark[0]),
            ("stderr", self.stderr_path, mark[1]),
        ):
            text = _read_from(path, offset)
            if len(text) > limit:
                text = f"[... {len(text) - limit} chars cut ...]\n" + text[-limit:]
            parts.append(f"--- gateway {label} ({path})\n{text}")
        return "\n".join(parts)

    def describe(self) -> str:
        return f"command: {' '.join(self.command())}\n{self.logs_since()}"

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<GatewayProcess {self.endpoint} {state} data={self.data_dir}>"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


_KEY_PATTERNS = (
    re.compile(r"access[ _-]?key(?:[ _-]?id)?\W+([A-Za-z0-9]{8,})", re.IGNORECASE),
    # Lazy separator: a secret may itself start with "/" or "+" (non-word characters).
    re.compile(r"secret(?:[ _-]?access)?[ _-]?key\W+?([A-Za-z0-9/+=]{16,})", re.IGNORECASE),
)


def parse_user_keys(output: str) -> tuple[str, str]:
    """Find the access and secret key in `admin user create` output.

    Accepts "Access key: X / Secret key: Y" lines (any spelling of the labels, JSON too),
    or bare output that is exactly two tokens.
    """
    access = _KEY_PATTERNS[0].search(output)
    secret = _KEY_PATTERNS[1].search(output)
    if access and secret:
        return access.group(1), secret.group(1)
    tokens = output.split()
    if len(tokens) == 2:
        return tokens[0], tokens[1]
    raise AssertionError(f"cannot find access and secret key in admin output:\n{output}")


def start_gateway(
    workdir: Path,
    scheme: str = "http",
    *,
    tls: TLSFiles | None = None,
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
    **kwargs: object,
) -> GatewayProcess:
    """Create and start a GatewayProcess; the factory fixtures and backend params use this."""
    gw = GatewayProcess(
        workdir,
        scheme,
        tls=tls,
        extra_args=extra_args,
        extra_env=extra_env,
        **kwargs,  # type: ignore[arg-type]
    )
    return gw.start()
