"""Real S3 clients, each pointed at one endpoint with an isolated environment and config.

Shared by the conformance runner (any endpoint) and the integration tests (which import it
through tests/support/clients.py), so this module depends on nothing under tests/.

Nothing from the developer's or CI's machine may leak into a client: no ~/.aws, ~/.s3cfg or
rclone.conf, no AWS_* variables, no proxy, no system CA bundle override. Each subprocess
client gets HOME set to a private directory and its configuration passed explicitly; the
in-process clients (boto3, s3fs) get a botocore session whose config and credentials files
are empty files and whose settings are all passed as arguments.

For https, every client trusts exactly the given CA (AWS_CA_BUNDLE for aws-cli, --ca-cert
for rclone, ca_certs_file for s3cmd, verify= for boto3/s3fs); for http, AWS_CA_BUNDLE is
removed. Everything that runs a subprocess has a timeout and, on failure, raises with the
command line, exit status, stdout and stderr.

The helpers accept any object with the `S3Endpoint` attributes (a test GatewayProcess, a
SeaweedFS server, or `Endpoint` below for an arbitrary URL).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import s3fs  # type: ignore[import-untyped]

RCLONE_REMOTE = "kv"
DEFAULT_TIMEOUT = 180.0

# Variables that steer TLS trust, proxies or client configuration from outside the test.
_LEAKY_PREFIXES = ("AWS_", "RCLONE_", "S3CMD_", "BOTO_", "FSSPEC_", "S3FS_")
_LEAKY_NAMES = {
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "HTTPLIB2_CA_CERTS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_DIRS",
}


class S3Endpoint(Protocol):
    """What the helpers need to know about a server (GatewayProcess satisfies it)."""

    @property
    def workdir(self) -> Path: ...

    @property
    def scheme(self) -> str: ...

    @property
    def access_key(self) -> str: ...

    @property
    def secret_key(self) -> str: ...

    @property
    def region(self) -> str: ...

    @property
    def netloc(self) -> str: ...

    @property
    def endpoint(self) -> str: ...

    @property
    def ca_bundle(self) -> Path | None: ...


@dataclass(frozen=True)
class Endpoint:
    """Any S3 endpoint by URL; `workdir` holds the clients' private HOME and configs."""

    url: str
    access_key: str
    secret_key: str
    workdir: Path
    region: str = "us-east-1"
    ca_bundle: Path | None = None

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def netloc(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://{self.netloc}"


class ClientError(AssertionError):
    """A client subprocess failed (or did not fail when it should have)."""


# -- shared plumbing --------------------------------------------------------------------------


def client_home(ep: S3Endpoint) -> Path:
    """The private HOME of every client talking to `ep` (under the server's workdir)."""
    home = ep.workdir / "client-home"
    (home / ".config").mkdir(parents=True, exist_ok=True)
    (home / ".cache").mkdir(parents=True, exist_ok=True)
    return home


def _write_config(ep: S3Endpoint, folder: str, stem: str, text: str) -> Path:
    """Write `text` to a file named after its own hash, so variants never overwrite."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    directory = client_home(ep) / folder
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}-{digest}"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
        path.chmod(0o600)
    return path


def empty_file(ep: S3Endpoint) -> Path:
    return _write_config(ep, "empty", "empty", "")


def base_env(ep: S3Endpoint) -> dict[str, str]:
    """os.environ without anything that configures clients, TLS trust or proxies."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in _LEAKY_NAMES and not name.startswith(_LEAKY_PREFIXES)
    }
    home = client_home(ep)
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env["LC_ALL"] = "C.UTF-8"
    env["LANG"] = "C.UTF-8"
    return env


def run_client(
    cmd: Sequence[str],
    env: Mapping[str, str],
    *,
    check: bool = True,
    expect_failure: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    cwd: Path | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one client command; raise ClientError with its output when it fails.

    With expect_failure=True the command must exit non-zero (its output is returned).
    """
    __tracebackhide__ = True
    shown = shlex.join(str(part) for part in cmd)
    try:
        result = subprocess.run(
            [str(part) for part in cmd],
            env=dict(env),
            cwd=cwd,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise ClientError(
            f"timed out after {timeout:.0f}s: {shown}\n"
            f"--- stdout\n{_text(exc.stdout)}\n--- stderr\n{_text(exc.stderr)}"
        ) from exc
    failed = result.returncode != 0
    if expect_failure and not failed:
        raise ClientError(f"expected failure, got exit 0: {shown}\n{format_output(result)}")
    if check and failed and not expect_failure:
        raise ClientError(f"exit {result.returncode}: {shown}\n{format_output(result)}")
    return result


def format_output(result: subprocess.CompletedProcess[str], limit: int = 8000) -> str:
    def cut(text: str) -> str:
        return text if len(text) <= limit else f"[... cut ...]\n{text[-limit:]}"

    return f"--- stdout\n{cut(result.stdout)}\n--- stderr\n{cut(result.stderr)}"


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data


def _venv_tool(name: str) -> str:
    """A console script installed beside the running interpreter, else on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise ClientError(f"{name} not found beside {sys.executable} nor on PATH")
    return found


# -- aws-cli ----------------------------------------------------------------------------------


def aws_config_text(
    ep: S3Endpoint,
    s3: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> str:
    lines = ["[default]", f"region = {ep.region}", "output = json"]
    lines += [f"{name} = {value}" for name, value in (extra or {}).items()]
    if s3:
        lines.append("s3 =")
        lines += [f"  {name} = {value}" for name, value in s3.items()]
    return "\n".join(lines) + "\n"


def aws_env(
    ep: S3Endpoint,
    *,
    s3: Mapping[str, str] | None = None,
    extra_config: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment for aws-cli: keys, region, a private config file, the test CA or none.

    `s3` becomes the nested `s3 =` section of the config file (e.g. multipart_threshold).
    """
    env = base_env(ep)
    env["AWS_ACCESS_KEY_ID"] = ep.access_key
    env["AWS_SECRET_ACCESS_KEY"] = ep.secret_key
    env["AWS_DEFAULT_REGION"] = ep.region
    env["AWS_CONFIG_FILE"] = str(
        _write_config(ep, "aws", "config", aws_config_text(ep, s3, extra_config))
    )
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(empty_file(ep))
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    # No retries: a 5xx or a dropped connection is a gateway bug to see, not to paper over.
    env["AWS_MAX_ATTEMPTS"] = "1"
    env["AWS_RETRY_MODE"] = "standard"
    if ep.scheme == "https":
        assert ep.ca_bundle is not None
        env["AWS_CA_BUNDLE"] = str(ep.ca_bundle)
    return env


def aws_command(ep: S3Endpoint, *args: str) -> list[str]:
    return [sys.executable, "-m", "awscli", "--endpoint-url", ep.endpoint, *args]


def run_aws(
    ep: S3Endpoint,
    *args: str,
    s3: Mapping[str, str] | None = None,
    extra_config: Mapping[str, str] | None = None,
    check: bool = True,
    expect_failure: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """`aws --endpoint-url ENDPOINT ARGS...` in the isolated environment."""
    return run_client(
        aws_command(ep, *args),
        aws_env(ep, s3=s3, extra_config=extra_config),
        check=check,
        expect_failure=expect_failure,
        timeout=timeout,
        cwd=cwd,
    )


# -- rclone -----------------------------------------------------------------------------------


def rclone_conf(ep: S3Endpoint, remote: str = RCLONE_REMOTE) -> Path:
    """An rclone.conf with one S3 remote named `remote` (provider Other, path style)."""
    text = "\n".join(
        [
            f"[{remote}]",
            "type = s3",
            "provider = Other",
            "env_auth = false",
            f"access_key_id = {ep.access_key}",
            f"secret_access_key = {ep.secret_key}",
            f"region = {ep.region}",
            f"endpoint = {ep.endpoint}",
            "force_path_style = true",
            "",
        ]
    )
    return _write_config(ep, "rclone", "rclone.conf", text)


def rclone_command(ep: S3Endpoint, *args: str) -> list[str]:
    cmd = [
        _venv_tool("rclone"),
        "--config",
        str(rclone_conf(ep)),
        # One try each: retries would hide a server error behind a second attempt.
        "--retries",
        "1",
        "--low-level-retries",
        "1",
        "--contimeout",
        "10s",
        "--timeout",
        "60s",
        "--cache-dir",
        str(client_home(ep) / ".cache" / "rclone"),
    ]
    if ep.scheme == "https":
        assert ep.ca_bundle is not None
        cmd += ["--ca-cert", str(ep.ca_bundle)]
    return cmd + list(args)


def run_rclone(
    ep: S3Endpoint,
    *args: str,
    check: bool = True,
    expect_failure: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    cwd: Path | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`rclone --config CONF [--ca-cert CA] ARGS...`; address objects as `kv:bucket/key`."""
    return run_client(
        rclone_command(ep, *args),
        base_env(ep),
        check=check,
        expect_failure=expect_failure,
        timeout=timeout,
        cwd=cwd,
        input=input,
    )


# -- s3cmd ------------------------------------------------------------------------------------


def s3cmd_conf(ep: S3Endpoint, *, signature_v2: bool = False) -> Path:
    """A .s3cfg for path-style access (host_bucket without %(bucket)s)."""
    https = ep.scheme == "https"
    lines = [
        "[default]",
        f"access_key = {ep.access_key}",
        f"secret_key = {ep.secret_key}",
        "access_token = ",
        f"host_base = {ep.netloc}",
        f"host_bucket = {ep.netloc}",
        f"bucket_location = {ep.region}",
        f"use_https = {https}",
        f"check_ssl_certificate = {https}",
        f"check_ssl_hostname = {https}",
        f"ca_certs_file = {ep.ca_bundle if https else ''}",
        f"signature_v2 = {signature_v2}",
        "proxy_host = ",
        "proxy_port = 0",
        "progress_meter = False",
        # No retries, as for aws-cli and rclone: s3cmd would resend a failed upload five
        # times, 45 s of back-off, and a retried 5xx hides a gateway bug.
        "max_retries = 0",
        "",
    ]
    name = "s3cfg-v2" if signature_v2 else "s3cfg-v4"
    return _write_config(ep, "s3cmd", name, "\n".join(lines))


def s3cmd_command(ep: S3Endpoint, *args: str, signature_v2: bool = False) -> list[str]:
    return [
        sys.executable,
        _venv_tool("s3cmd"),
        "--config",
        str(s3cmd_conf(ep, signature_v2=signature_v2)),
        *args,
    ]


def run_s3cmd(
    ep: S3Endpoint,
    *args: str,
    signature_v2: bool = False,
    check: bool = True,
    expect_failure: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """`s3cmd --config CONF ARGS...` (SigV4, or SigV2 with signature_v2=True)."""
    return run_client(
        s3cmd_command(ep, *args, signature_v2=signature_v2),
        base_env(ep),
        check=check,
        expect_failure=expect_failure,
        timeout=timeout,
        cwd=cwd,
    )


# -- boto3 and s3fs (in-process) --------------------------------------------------------------


def _isolated_session_vars(ep: S3Endpoint) -> dict[str, tuple[Any, Any, Any, Any]]:
    """botocore session variables that ignore AWS_PROFILE/AWS_CONFIG_FILE/... entirely."""
    empty = str(empty_file(ep))
    return {
        "profile": (None, None, None, None),
        "config_file": (None, None, empty, None),
        "credentials_file": (None, None, empty, None),
        "ca_bundle": (None, None, None, None),
        "region": (None, None, ep.region, None),
    }


def _verify(ep: S3Endpoint) -> str | bool:
    if ep.scheme == "https":
        assert ep.ca_bundle is not None
        return str(ep.ca_bundle)
    return True


@functools.cache
def _shared_loader() -> Any:
    """One botocore data loader for every session we make: it caches the service models
    and endpoint files it has parsed, so a client costs ~13 ms instead of ~140 ms (the
    suite makes hundreds; sessions stay separate, only the read-only model data is shared)."""
    from botocore.loaders import create_loader

    return create_loader()


def boto3_client(
    ep: S3Endpoint,
    *,
    signature_version: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    **config: Any,
) -> Any:
    """A boto3 S3 client with default checksum behaviour, path-style, no retries.

    `signature_version`: None (the SDK default, SigV4), "s3v4", or "s3" (SigV2).
    Further keyword arguments go into botocore.config.Config.
    """
    import boto3  # type: ignore[import-untyped]
    import botocore.session
    from botocore.config import Config

    core = botocore.session.Session(session_vars=_isolated_session_vars(ep))
    core.register_component("data_loader", _shared_loader())
    session = boto3.session.Session(botocore_session=core)
    settings: dict[str, Any] = {
        "s3": {"addressing_style": "path"},
        "retries": {"max_attempts": 1, "mode": "standard"},
        "connect_timeout": 10,
        "read_timeout": 120,
        "request_checksum_calculation": "when_supported",
        "response_checksum_validation": "when_supported",
    }
    if signature_version is not None:
        settings["signature_version"] = signature_version
    settings.update(config)
    return session.client(
        "s3",
        endpoint_url=ep.endpoint,
        region_name=ep.region,
        aws_access_key_id=access_key or ep.access_key,
        aws_secret_access_key=secret_key or ep.secret_key,
        verify=_verify(ep),
        config=Config(**settings),
    )


def s3fs_fs(ep: S3Endpoint, **kwargs: Any) -> s3fs.S3FileSystem:
    """An s3fs.S3FileSystem (fresh instance, no listings cache) on `ep`."""
    import aiobotocore.session
    import s3fs

    session = aiobotocore.session.AioSession(session_vars=_isolated_session_vars(ep))
    session.register_component("data_loader", _shared_loader())
    options: dict[str, Any] = {
        "key": ep.access_key,
        "secret": ep.secret_key,
        "endpoint_url": ep.endpoint,
        "client_kwargs": {"region_name": ep.region, "verify": _verify(ep)},
        "config_kwargs": {
            "s3": {"addressing_style": "path"},
            "retries": {"max_attempts": 1, "mode": "standard"},
        },
        "session": session,
        "skip_instance_cache": True,
        "use_listings_cache": False,
    }
    options.update(kwargs)
    return s3fs.S3FileSystem(**options)


# -- local file trees (what sync and copy commands move) --------------------------------------


def write_tree(root: Path, files: Mapping[str, bytes]) -> dict[str, bytes]:
    """Write {relative posix path: content} under root; returns a copy of the mapping."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return dict(files)


def read_tree(root: Path) -> dict[str, bytes]:
    """{relative posix path: content} of every file under root."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# -- buckets ----------------------------------------------------------------------------------


def unique_bucket_name(label: str) -> str:
    """A valid, unique bucket name that says which test made it."""
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:40].strip("-")
    return f"t-{slug}-{uuid.uuid4().hex[:8]}"


def empty_and_delete_bucket(s3: Any, name: str) -> None:
    """Delete every object, upload and the bucket; report, never raise."""
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=name, Key=item["Key"])
    except Exception as exc:  # best effort: the test's own result matters more
        print(f"cleanup of {name}: listing/deleting objects failed: {exc!r}", file=sys.stderr)
    try:
        uploads = s3.list_multipart_uploads(Bucket=name).get("Uploads", [])
        for upload in uploads:
            s3.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    except Exception:
        pass  # multipart may not exist yet
    try:
        s3.delete_bucket(Bucket=name)
    except Exception as exc:
        print(f"cleanup of {name}: delete_bucket failed: {exc!r}", file=sys.stderr)
