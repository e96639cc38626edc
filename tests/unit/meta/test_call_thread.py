"""gateway/meta/call_thread.py: calls run in order on one thread; outcomes come back."""

from __future__ import annotations

import asyncio
import threading

import pytest

from gateway.meta.call_thread import CallThread


def test_results_and_errors_come_back_from_one_thread() -> None:
    thread = CallThread("kv-test")

    def fail() -> None:
        raise ValueError("no")

    async def body() -> None:
        names = await asyncio.gather(
            *(thread.call(lambda: threading.current_thread().name) for _ in range(20))
        )
        assert set(names) == {"kv-test"}
        assert await thread.call(pow, 2, 10) == 1024
        with pytest.raises(ValueError, match="no"):
            await thread.call(fail)

    try:
        asyncio.run(body())
    finally:
        thread.close()


def test_calls_run_in_order() -> None:
    thread = CallThread("kv-test")
    seen: list[int] = []

    async def body() -> None:
        await asyncio.gather(*(thread.call(seen.append, i) for i in range(100)))

    try:
        asyncio.run(body())
    finally:
        thread.close()
    assert seen == list(range(100))


def test_cancelled_call_is_dropped_unless_running() -> None:
    thread = CallThread("kv-test")
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def blocking() -> str:
        started.set()
        release.wait(10)
        ran.append("blocking")
        return "done"

    async def body() -> None:
        running = thread.call(blocking)
        queued = thread.call(ran.append, "queued")
        await asyncio.to_thread(started.wait, 10)
        running.cancel()
        queued.cancel()
        release.set()
        await thread.call(ran.append, "after")

    try:
        asyncio.run(body())
    finally:
        thread.close()
    assert ran == ["blocking", "after"]


def test_close_runs_what_was_queued_then_refuses() -> None:
    thread = CallThread("kv-test")
    seen: list[int] = []

    async def body() -> None:
        calls = [thread.call(seen.append, i) for i in range(5)]
        thread.close()
        await asyncio.gather(*calls)
        with pytest.raises(RuntimeError, match="closed"):
            _ = thread.call(seen.append, 99)

    asyncio.run(body())
    assert seen == list(range(5))


def test_a_closed_loop_does_not_stop_the_thread() -> None:
    thread = CallThread("kv-test")
    release = threading.Event()

    async def leave_a_call_running() -> None:
        _ = thread.call(release.wait, 10)  # never awaited: its loop closes first

    async def later() -> int:
        release.set()
        return await thread.call(len, "abc")

    try:
        asyncio.run(leave_a_call_running())
        assert asyncio.run(later()) == 3
    finally:
        thread.close()
