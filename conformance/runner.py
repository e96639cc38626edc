"""Run the selected scenarios against one endpoint and collect one Result per scenario.

The run creates one shared bucket (scenarios work under their own key prefixes in it) and
whatever buckets scenarios ask for; at the end every one of them is emptied — versions,
delete markers, multipart uploads, legal holds and governance retention included — and
deleted. Scenarios run on a small thread pool: most of their time is spent waiting for a
client subprocess or the server, and aws-cli alone takes ~0.6 s of CPU to start.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from conformance.clients import ClientError, Endpoint
from conformance.context import Context, Failed, RunState, error_code
from conformance.registry import NotSupported, Scenario, select

PASS, FAIL, NOT_SUPPORTED = "pass", "fail", "n/s"
DETAIL_LIMIT = 1500


class RunError(Exception):
    """The run could not start (endpoint unreachable, credentials refused, ...)."""


@dataclass(frozen=True)
class Result:
    feature: str
    client: str
    scenario: str
    status: str  # PASS | FAIL | NOT_SUPPORTED
    seconds: float
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunInfo:
    endpoint: str
    started: str
    seconds: float
    quick: bool
    results: tuple[Result, ...]


def _detail(exc: BaseException) -> str:
    if isinstance(exc, Failed | ClientError):
        text = str(exc)
    elif error_code(exc) is not None:
        text = f"{type(exc).__name__}: {exc}"
    else:
        frames = traceback.format_exception(exc)
        text = "".join(frames[-3:])
    text = text.strip()
    return text if len(text) <= DETAIL_LIMIT else text[:DETAIL_LIMIT] + " [...]"


def run_one(state: RunState, sc: Scenario, tmp_root: Path) -> Result:
    if sc.fn is None:
        return Result(sc.feature, sc.client, sc.name, NOT_SUPPORTED, 0.0, sc.reason)
    tmp = Path(tempfile.mkdtemp(prefix="sc-", dir=tmp_root))
    ctx = Context(state, sc.id, tmp)
    started = time.monotonic()
    try:
        sc.fn(ctx)
    except NotSupported as exc:
        status, detail = NOT_SUPPORTED, str(exc)
    except Exception as exc:
        status, detail = FAIL, _detail(exc)
    else:
        status, detail = PASS, ""
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Result(sc.feature, sc.client, sc.name, status, time.monotonic() - started, detail)


def purge_bucket(s3: Any, name: str) -> None:
    """Delete everything in `name` and the bucket itself; report problems, never raise."""
    problems: list[str] = []

    def attempt(what: str, fn: Callable[[], object]) -> bool:
        try:
            fn()
        except Exception as exc:
            problems.append(f"{what}: {error_code(exc) or exc!r}")
            return False
        return True

    def delete_version(key: str, version_id: str | None) -> None:
        args: dict[str, Any] = {"Bucket": name, "Key": key}
        if version_id is not None:
            args["VersionId"] = version_id
        try:
            s3.delete_object(BypassGovernanceRetention=True, **args)
        except Exception:
            # A legal hold blocks even a bypass; lift it and try once more.
            attempt(
                f"legal hold {key}",
                lambda: s3.put_object_legal_hold(LegalHold={"Status": "OFF"}, **args),
            )
            attempt(
                f"delete {key}", lambda: s3.delete_object(BypassGovernanceRetention=True, **args)
            )

    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                delete_version(item["Key"], item.get("VersionId"))
    except Exception:
        pass  # ListObjectVersions may not exist: the plain listing below still empties it
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for item in page.get("Contents", []):
                delete_version(item["Key"], None)
    except Exception as exc:
        if error_code(exc) == "NoSuchBucket":
            return
        problems.append(f"list: {error_code(exc) or exc!r}")
    try:
        for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
            abort = partial(
                s3.abort_multipart_upload,
                Bucket=name,
                Key=upload["Key"],
                UploadId=upload["UploadId"],
            )
            attempt("abort upload", abort)
    except Exception:
        pass
    if not attempt("delete bucket", lambda: s3.delete_bucket(Bucket=name)):
        print(f"conformance: clean-up of {name}: {'; '.join(problems)}", file=sys.stderr)


def run(
    ep: Endpoint,
    *,
    features: Iterable[str] | None = None,
    clients: Iterable[str] | None = None,
    quick: bool = False,
    jobs: int = 4,
    progress: Callable[[Result], None] | None = None,
) -> RunInfo:
    """Run the selected scenarios against `ep` and return every result."""
    chosen = select(
        set(features) if features is not None else None,
        set(clients) if clients is not None else None,
        quick=quick,
    )
    run_id = uuid.uuid4().hex[:6]
    state = RunState(ep=ep, bucket=f"kvc-{run_id}-shared", run_id=run_id, quick=quick)
    started_wall = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    started = time.monotonic()
    tmp_root = Path(tempfile.mkdtemp(prefix="kv-conformance-"))
    results: list[Result] = []
    try:
        try:
            state.admin().create_bucket(Bucket=state.bucket)
        except Exception as exc:
            raise RunError(f"cannot create the run's bucket on {ep.endpoint}: {exc}") from exc
        state.buckets.append(state.bucket)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(run_one, state, sc, tmp_root) for sc in chosen]
            for fut in futures:
                result = fut.result()
                results.append(result)
                if progress is not None:
                    progress(result)
    finally:
        for name in reversed(state.buckets):
            purge_bucket(state.admin(), name)
        shutil.rmtree(tmp_root, ignore_errors=True)
    return RunInfo(
        endpoint=ep.endpoint,
        started=started_wall,
        seconds=time.monotonic() - started,
        quick=quick,
        results=tuple(results),
    )
