"""The backends the contract suite runs against: one registry entry per backend.

A factory is called outside the event loop with a FactoryContext: that is where it may
start or look up a service (`ctx.request.getfixturevalue(...)` for a session-scoped
server) and call tests/conftest.py's `require_service()` to skip when the service is
unavailable. It returns an async context manager, entered inside the test's event loop,
that yields a ready Backend and cleans up on exit.

Adding a backend is one function and one line in BACKEND_FACTORIES.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from backends.base import Backend
from backends.local import LocalBackend
from backends.memory import MemoryBackend
from tests.support import remote_backends
from tests.support.azurite import session_azurite
from tests.support.seaweedfs import session_seaweedfs


@dataclass(frozen=True)
class FactoryContext:
    tmp_path: Path  # a fresh directory for this test, not yet created
    request: pytest.FixtureRequest


BackendFactory = Callable[[FactoryContext], AbstractAsyncContextManager[Backend]]


@asynccontextmanager
async def _open(backend: Backend) -> AsyncIterator[Backend]:
    try:
        yield backend
    finally:
        await backend.close()


def memory_backend(ctx: FactoryContext) -> AbstractAsyncContextManager[Backend]:
    return _open(MemoryBackend())


def local_backend(ctx: FactoryContext) -> AbstractAsyncContextManager[Backend]:
    return _open(LocalBackend(ctx.tmp_path))


def s3_backend(ctx: FactoryContext) -> AbstractAsyncContextManager[Backend]:
    """A fresh key prefix in a bucket of the session's SeaweedFS (tests/support/seaweedfs.py)."""
    server = session_seaweedfs(ctx.request.config)
    return remote_backends.opened(remote_backends.s3_backend_on(server))


def azure_backend(ctx: FactoryContext) -> AbstractAsyncContextManager[Backend]:
    """A fresh container in the session's Azurite (tests/support/azurite.py)."""
    server = session_azurite(ctx.request.config)
    return remote_backends.opened(remote_backends.azure_backend_on(server))


BACKEND_FACTORIES: dict[str, BackendFactory] = {
    "memory": memory_backend,
    "local": local_backend,
    "s3": s3_backend,
    "azure": azure_backend,
}
