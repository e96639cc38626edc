"""CachedMetaStore's pass-through methods (gateway/meta/cached.py)."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from gateway.meta.base import MetaStore
from gateway.meta.cached import CachedMetaStore, passthrough

FORWARD = passthrough(MetaStore.get_user).__code__


class Recorder:
    """An inner store whose every method answers with its own name and arguments."""

    def __getattr__(self, name: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
            return name, args, kwargs

        return call


def passthroughs() -> dict[str, Any]:
    return {
        name: attr
        for name, attr in vars(CachedMetaStore).items()
        if inspect.isfunction(attr) and attr.__code__ is FORWARD
    }


def test_passthroughs_are_protocol_methods():
    found = passthroughs()
    assert "get_user" in found and "get_access_key" not in found
    for name in found:
        assert inspect.iscoroutinefunction(getattr(MetaStore, name)), name


def test_passthrough_calls_the_inner_method_of_its_own_name():
    store = CachedMetaStore.__new__(CachedMetaStore)
    store.inner = Recorder()
    for name, method in passthroughs().items():
        assert method.__name__ == name
        assert inspect.iscoroutinefunction(method), name  # tracing wraps coroutine functions
        answer = asyncio.run(getattr(store, name)(1, "two", now=3.0))
        assert answer == (name, (1, "two"), {"now": 3.0}), name
