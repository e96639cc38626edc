"""The scenario registry: which feature, which client, how to run it.

A scenario is a plain function `fn(ctx) -> None` that drives one real client through one
S3 feature against whatever endpoint the context points at; it fails by raising. Each is
registered with `@scenario(FEATURE, CLIENT)`. A client that cannot express a feature at all
(s3cmd has no byte ranges) is declared with `unsupported(FEATURE, CLIENT, why)`, so the
matrix tells "the client cannot" (n/s) apart from "nobody wrote a scenario" (blank).
`quick=True` marks the scenarios that `--quick` runs: at least one per cell that has any.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.context import Context

# Matrix columns, in order. "http-sigv4"/"http-sigv2": presigned URLs sent by a plain HTTP
# client (a browser, curl); "http": unsigned requests (public objects, CORS, POST forms).
CLIENTS: tuple[str, ...] = (
    "aws-s3",
    "aws-s3api",
    "boto3",
    "s3fs",
    "rclone",
    "s3cmd",
    "http-sigv4",
    "http-sigv2",
    "http",
)

# Matrix rows, in order: one per S3 feature family (AWS's own grouping, roughly).
FEATURES: tuple[str, ...] = (
    "buckets",
    "objects",
    "metadata",
    "ranges",
    "conditionals",
    "copy",
    "listing",
    "batch-delete",
    "sync",
    "multipart",
    "checksums",
    "presign",
    "post-object",
    "acl",
    "policy",
    "cors",
    "website",
    "encryption",
    "versioning",
    "lifecycle",
    "tagging",
    "object-lock",
)


class NotSupported(Exception):
    """Raised by a scenario when the client (not the server) cannot do what it tests."""


@dataclass(frozen=True)
class Scenario:
    feature: str
    client: str
    name: str
    fn: Callable[[Context], None] | None
    quick: bool = False
    reason: str = ""  # for unsupported cells

    @property
    def id(self) -> str:
        return f"{self.feature}/{self.client}/{self.name}"


REGISTRY: list[Scenario] = []


def _check(feature: str, client: str) -> None:
    if feature not in FEATURES:
        raise ValueError(f"unknown feature {feature!r}")
    if client not in CLIENTS:
        raise ValueError(f"unknown client {client!r}")


def scenario(
    feature: str, client: str, *, quick: bool = False
) -> Callable[[Callable[[Context], None]], Callable[[Context], None]]:
    """Register `fn` as a scenario of (feature, client); its name is the function's name."""
    _check(feature, client)

    def register(fn: Callable[[Context], None]) -> Callable[[Context], None]:
        name = fn.__name__
        if any(s.feature == feature and s.client == client and s.name == name for s in REGISTRY):
            raise ValueError(f"duplicate scenario {feature}/{client}/{name}")
        REGISTRY.append(Scenario(feature, client, name, fn, quick=quick))
        return fn

    return register


def unsupported(feature: str, client: str, reason: str) -> None:
    """Declare that `client` has no way to exercise `feature` (an n/s cell)."""
    _check(feature, client)
    REGISTRY.append(Scenario(feature, client, "unsupported", None, quick=True, reason=reason))


def select(
    features: set[str] | None = None, clients: set[str] | None = None, *, quick: bool = False
) -> list[Scenario]:
    """Registered scenarios filtered by feature, client and quick mode, in matrix order."""
    import conformance.scenarios  # noqa: F401  (registers everything)

    chosen = [
        s
        for s in REGISTRY
        if (features is None or s.feature in features)
        and (clients is None or s.client in clients)
        and (not quick or s.quick)
    ]
    order = {f: i for i, f in enumerate(FEATURES)}
    corder = {c: i for i, c in enumerate(CLIENTS)}
    return sorted(chosen, key=lambda s: (order[s.feature], corder[s.client]))
