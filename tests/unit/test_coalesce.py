"""gateway/coalesce.py: concurrent lookups of one key share one call."""

from __future__ import annotations

import asyncio

import pytest

from gateway.coalesce import Coalescer


class Lookups:
    """A lookup that counts its calls and finishes when told to."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    async def __call__(self) -> int:
        self.calls += 1
        await self.release.wait()
        return self.calls


def test_concurrent_callers_share_one_lookup() -> None:
    async def body() -> None:
        coalescer: Coalescer[str, int] = Coalescer()
        lookup = Lookups()
        waiters = [asyncio.create_task(coalescer.run("k", lookup)) for _ in range(20)]
        other = asyncio.create_task(coalescer.run("other", lookup))
        await asyncio.sleep(0)
        lookup.release.set()
        assert await asyncio.gather(*waiters) == [1] * 20
        assert await other == 2
        assert lookup.calls == 2
        assert await coalescer.run("k", lookup) == 3  # finished: the next call looks up again

    asyncio.run(body())


def test_a_failed_lookup_fails_every_waiter_and_is_not_kept() -> None:
    async def body() -> None:
        coalescer: Coalescer[str, int] = Coalescer()
        calls = 0

        async def failing() -> int:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0)
            raise LookupError("store down")

        results = await asyncio.gather(
            *(coalescer.run("k", failing) for _ in range(3)), return_exceptions=True
        )
        assert calls == 1 and all(isinstance(r, LookupError) for r in results)
        with pytest.raises(LookupError):
            await coalescer.run("k", failing)
        assert calls == 2

    asyncio.run(body())


def test_a_cancelled_waiter_does_not_cancel_the_others_lookup() -> None:
    async def body() -> None:
        coalescer: Coalescer[str, int] = Coalescer()
        lookup = Lookups()
        gone = asyncio.create_task(coalescer.run("k", lookup))
        stays = asyncio.create_task(coalescer.run("k", lookup))
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
        lookup.release.set()
        assert await stays == 1
        assert gone.cancelled()

    asyncio.run(body())


def test_forget_makes_the_next_caller_look_up_afresh() -> None:
    async def body() -> None:
        coalescer: Coalescer[str, int] = Coalescer()
        lookup = Lookups()
        before = asyncio.create_task(coalescer.run("k", lookup))
        await asyncio.sleep(0)
        coalescer.forget("k")  # e.g. the key was deleted through this process
        after = asyncio.create_task(coalescer.run("k", lookup))
        await asyncio.sleep(0)
        lookup.release.set()
        assert (await before, await after) == (2, 2)  # both see the count after two calls
        assert lookup.calls == 2

    asyncio.run(body())
