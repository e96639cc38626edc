"""gateway/jobs/leader.py's SingletonTask over a scripted lock (the PostgreSQL lock itself is
tested in tests/contract/test_postgres_metastore.py)."""

from __future__ import annotations

import asyncio

import pytest

from gateway.jobs.leader import LocalLock, SingletonTask, leader_lock_of


class ScriptedLock:
    def __init__(self) -> None:
        self.free = True
        self.mine = False
        self.alive = True
        self.released = 0

    async def acquire(self) -> bool:
        if self.free:
            self.free, self.mine = False, True
        return self.mine

    async def held(self) -> bool:
        return self.mine and self.alive

    async def release(self) -> None:
        self.released += 1
        if self.mine:
            self.free, self.mine = True, False


def leading(task: SingletonTask) -> bool:
    return task.is_leader  # a call: mypy does not keep the narrowing of an earlier assert


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_runs_only_while_holding_the_lock() -> None:
    async def body() -> None:
        lock, clock, runs = ScriptedLock(), Clock(), []

        async def work() -> None:
            runs.append(clock.now)

        lock.free = False  # another replica leads
        task = SingletonTask("t", lock, work, interval=10, clock=clock)
        due = await task.step(0.0)
        assert runs == [] and not leading(task)
        lock.free = True  # ... and dies
        due = await task.step(due)
        assert runs == [0.0] and leading(task) and due == 10.0
        clock.now = 5.0
        due = await task.step(due)
        assert runs == [0.0]  # not due yet
        clock.now = 10.0
        due = await task.step(due)
        assert runs == [0.0, 10.0]
        lock.alive = False  # our session died: not the leader any more
        lock.mine = False
        lock.free = False
        clock.now = 30.0
        due = await task.step(due)
        assert runs == [0.0, 10.0] and not leading(task)

    asyncio.run(body())


def test_failing_work_is_logged_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    async def body() -> None:
        lock, clock, calls = ScriptedLock(), Clock(), []

        async def work() -> None:
            calls.append(clock.now)
            raise RuntimeError("boom")

        task = SingletonTask("t", lock, work, interval=1, clock=clock)
        due = await task.step(0.0)
        clock.now = 1.0
        await task.step(due)
        assert calls == [0.0, 1.0] and leading(task)

    asyncio.run(body())
    assert "t: run failed" in caplog.text


def test_start_stop_releases_the_lock() -> None:
    async def body() -> None:
        lock, runs = ScriptedLock(), []

        async def work() -> None:
            runs.append(1)

        task = SingletonTask("t", lock, work, interval=0.01, check_every=0.01)
        task.start()
        await asyncio.sleep(0.1)
        await task.stop()
        assert len(runs) >= 3 and lock.released == 1 and lock.free

    asyncio.run(body())


def test_leader_lock_of() -> None:
    class WithLock:
        def leader_lock(self, name: str) -> LocalLock:
            return LocalLock()

    assert leader_lock_of(object(), "gc") is None
    assert isinstance(leader_lock_of(WithLock(), "gc"), LocalLock)
