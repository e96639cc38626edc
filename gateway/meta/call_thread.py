"""One thread that runs blocking calls, one at a time, for coroutines (SQLite's readers).

A small GET's one metadata read went through ThreadPoolExecutor.submit and
asyncio.wrap_future: a concurrent Future with its Condition, a work item, the executor's
thread-count check, an asyncio future chained to the concurrent one by two callbacks, and
the state copied across on the way back, about a tenth of the request's main-thread CPU
(bench/RESULTS.md, "Request path CPU, third pass"). Here a call is a tuple put on a
SimpleQueue (C, no lock object per call) with the asyncio future it completes; the thread
hands the outcome back with one call_soon_threadsafe.

A call whose future was cancelled before the thread took it is dropped unrun (as an
executor drops a cancelled work item); one cancelled while it runs finishes, and its
outcome is dropped.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_Call = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


class CallThread:
    """A thread of its own running `call`s in order, until `close`."""

    def __init__(self, name: str) -> None:
        self._queue: SimpleQueue[_Call | None] = SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def call(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """fn(*args) on the thread; the future (of the running loop) gets its outcome."""
        if self._closed:
            raise RuntimeError("the thread was closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((loop, future, fn, args))
        return future

    def close(self) -> None:
        """No more calls; those queued before still run, then the thread ends."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            _run(*item)
            del item  # hold nothing of a finished call while waiting for the next


class LoopOutcome(Generic[T]):
    """A future of the running loop that another thread completes (group commit's bodies,
    gateway/meta/group_commit.py): the outcome goes back with one call_soon_threadsafe."""

    __slots__ = ("loop", "future")

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future[T] = self.loop.create_future()

    def set_running_or_notify_cancel(self) -> bool:
        """False if the caller gave up already (the body is then not run)."""
        return not self.future.cancelled()

    def set_result(self, result: T) -> None:
        _hand_back(self.loop, _set_result, self.future, result)

    def set_exception(self, exception: BaseException) -> None:
        _hand_back(self.loop, _set_exception, self.future, exception)


def _run(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    fn: Callable[..., Any],
    args: tuple[Any, ...],
) -> None:
    if future.cancelled():
        return
    try:
        result = fn(*args)
    except BaseException as exc:
        _hand_back(loop, _set_exception, future, exc)
    else:
        _hand_back(loop, _set_result, future, result)


def _hand_back(
    loop: asyncio.AbstractEventLoop,
    setter: Callable[[asyncio.Future[Any], Any], None],
    future: asyncio.Future[Any],
    outcome: Any,
) -> None:
    try:
        loop.call_soon_threadsafe(setter, future, outcome)
    except RuntimeError:  # the loop is closed: nobody waits any more
        pass


def _set_result(future: asyncio.Future[Any], result: Any) -> None:
    if not future.cancelled():
        future.set_result(result)


def _set_exception(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(exc)
