"""What a scenario gets: the endpoint, a bucket and key prefix of its own, and one helper
per client that runs it against the endpoint in an isolated environment.

Scenarios share one bucket per run (each under its own key prefix) unless they need bucket
state of their own (versioning, object lock, policies...), which `new_bucket()` creates;
the runner deletes every bucket it made, with every version, upload and hold.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import ssl
import subprocess
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from conformance import clients
from conformance.clients import Endpoint

QUICK_TIMEOUT = 90.0


class Failed(AssertionError):
    """A scenario's expectation did not hold (unlike `assert`, survives python -O)."""


def expect(condition: object, message: str) -> None:
    if not condition:
        raise Failed(message)


def expect_eq(actual: object, expected: object, what: str) -> None:
    if actual != expected:
        raise Failed(f"{what}: expected {_short(expected)}, got {_short(actual)}")


def _short(value: object, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def error_code(exc: BaseException) -> str | None:
    """The S3 error code of a botocore ClientError (None for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status is not None else None
    return None


def expect_error(fn: Callable[[], object], *codes: str | int) -> BaseException:
    """Call `fn` (a botocore call); it must fail with one of `codes` (S3 code or status)."""
    try:
        fn()
    except Exception as exc:
        code, status = error_code(exc), http_status(exc)
        if code is None and status is None:
            raise
        if code in codes or status in codes:
            return exc
        raise Failed(f"expected error {codes}, got {code} (HTTP {status}): {exc}") from exc
    raise Failed(f"expected error {codes}, the call succeeded")


@dataclass
class RunState:
    """Shared by every scenario of one run: the endpoint and the buckets to clean up."""

    ep: Endpoint
    bucket: str
    run_id: str
    timeout: float = QUICK_TIMEOUT
    quick: bool = False
    buckets: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def admin(self) -> Any:
        """A boto3 client for setup, verification and clean-up (thread-safe)."""
        client = getattr(self, "_admin", None)
        if client is None:
            client = clients.boto3_client(self.ep)
            self._admin = client
        return client


class Context:
    """One scenario's view of the run. Keys are `ctx.key("name")` (under its prefix)."""

    def __init__(self, state: RunState, scenario_id: str, tmp: Path) -> None:
        self.state = state
        self.ep = state.ep
        self.bucket = state.bucket
        self.scenario_id = scenario_id
        self.prefix = f"{scenario_id.replace('/', '-')}-{uuid.uuid4().hex[:6]}/"
        self.tmp = tmp
        self.quick = state.quick
        self._boto: dict[str, Any] = {}

    # -- names, data, files ---------------------------------------------------------------
    def key(self, name: str = "obj") -> str:
        return self.prefix + name

    @staticmethod
    def data(size: int, seed: str = "") -> bytes:
        """Deterministic pseudo-random bytes (so a failure can be reproduced)."""
        out = bytearray()
        counter = 0
        while len(out) < size:
            out += hashlib.sha256(f"{seed}:{counter}".encode()).digest() * 64
            counter += 1
        return bytes(out[:size])

    def file(self, name: str, content: bytes) -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    def new_bucket(self, label: str = "b", **create: Any) -> str:
        """A bucket of this scenario's own (created with boto3; deleted by the runner)."""
        name = f"kvc-{self.state.run_id}-{label}-{uuid.uuid4().hex[:6]}"[:63]
        with self.state.lock:
            self.state.buckets.append(name)
        self.admin.create_bucket(Bucket=name, **create)
        return name

    def own_bucket_name(self, label: str = "b") -> str:
        """A fresh bucket name, registered for clean-up, for a client to create itself."""
        name = f"kvc-{self.state.run_id}-{label}-{uuid.uuid4().hex[:6]}"[:63]
        with self.state.lock:
            self.state.buckets.append(name)
        return name

    # -- boto3 / s3fs -----------------------------------------------------------------------
    @property
    def admin(self) -> Any:
        return self.state.admin()

    def boto3(self, signature_version: str | None = None, **config: Any) -> Any:
        label = f"{signature_version}:{sorted(config.items())}"
        client = self._boto.get(label)
        if client is None:
            client = self._boto[label] = clients.boto3_client(
                self.ep, signature_version=signature_version, **config
            )
        return client

    def s3fs(self, **kwargs: Any) -> Any:
        return clients.s3fs_fs(self.ep, **kwargs)

    # -- subprocess clients -----------------------------------------------------------------
    def aws(
        self, *args: str, input: str | None = None, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        kwargs.setdefault("timeout", self.state.timeout)
        if input is None:
            return clients.run_aws(self.ep, *args, **kwargs)
        env = clients.aws_env(self.ep, s3=kwargs.pop("s3", None))
        return clients.run_client(clients.aws_command(self.ep, *args), env, input=input, **kwargs)

    def aws_json(self, *args: str, **kwargs: Any) -> Any:
        out = self.aws(*args, **kwargs).stdout
        return json.loads(out) if out.strip() else {}

    def rclone(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        kwargs.setdefault("timeout", self.state.timeout)
        return clients.run_rclone(self.ep, *args, **kwargs)

    def s3cmd(
        self, *args: str, v2: bool = False, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        kwargs.setdefault("timeout", self.state.timeout)
        return clients.run_s3cmd(self.ep, *args, signature_v2=v2, **kwargs)

    def remote(self, key: str = "", bucket: str | None = None) -> str:
        """rclone's name for bucket/key."""
        return f"{clients.RCLONE_REMOTE}:{bucket or self.bucket}/{key}"

    def s3url(self, key: str = "", bucket: str | None = None) -> str:
        return f"s3://{bucket or self.bucket}/{key}"

    # -- plain HTTP -------------------------------------------------------------------------
    def presign(
        self,
        method: str,
        key: str | None,
        *,
        signature: str = "s3v4",
        bucket: str | None = None,
        expires: int = 600,
        **params: Any,
    ) -> str:
        """A presigned URL for a boto3 operation (`method` is its name, e.g. get_object)."""
        args: dict[str, Any] = {"Bucket": bucket or self.bucket, **params}
        if key is not None:
            args["Key"] = key
        client = self.boto3(signature_version=signature)
        url: str = client.generate_presigned_url(method, Params=args, ExpiresIn=expires)
        return url

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.ep.scheme != "https":
            return None
        return ssl.create_default_context(
            cafile=str(self.ep.ca_bundle) if self.ep.ca_bundle else None
        )

    def http(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Send exactly these headers (no SDK); returns status, lower-cased headers, body."""
        parts = urlsplit(url if "://" in url else self.ep.endpoint + url)
        conn: http.client.HTTPConnection
        host = parts.hostname or "127.0.0.1"
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(
                host, parts.port, timeout=60, context=self.ssl_context()
            )
        else:
            conn = http.client.HTTPConnection(host, parts.port, timeout=60)
        try:
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request(method, target, body=body, headers=dict(headers or {}))
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def object_url(self, key: str, bucket: str | None = None) -> str:
        from urllib.parse import quote

        return f"{self.ep.endpoint}/{bucket or self.bucket}/{quote(key, safe='/~')}"


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
