"""gateway/audit_writer.py: requests only queue lines; a task writes them, in order, whole."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from gateway.audit_writer import AuditWriter


def test_lines_wait_for_the_flush_and_close_writes_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"

    async def scenario() -> None:
        writer = AuditWriter(str(path), flush_interval=3600, flush_lines=1000)
        await writer.start()
        for n in range(10):
            writer.write(json.dumps({"n": n}))
        await asyncio.sleep(0.05)
        assert path.read_text() == ""  # queued, not written by the request
        await writer.close()

    asyncio.run(scenario())
    assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == list(range(10))


def test_a_full_batch_is_written_without_waiting_for_the_interval(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"

    async def scenario() -> None:
        writer = AuditWriter(str(path), flush_interval=3600, flush_lines=5)
        await writer.start()
        for n in range(5):
            writer.write(str(n))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if path.read_text():
                break
        assert path.read_text() == "0\n1\n2\n3\n4\n"
        await writer.close()

    asyncio.run(scenario())


def test_the_interval_flushes(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"

    async def scenario() -> None:
        writer = AuditWriter(str(path), flush_interval=0.05)
        await writer.start()
        writer.write("one")
        await asyncio.sleep(0.5)
        assert path.read_text() == "one\n"
        await writer.close()

    asyncio.run(scenario())


def test_writers_sharing_a_file_append_whole_lines(tmp_path: Path) -> None:
    """As the worker processes of one gateway do (each has its own writer)."""
    path = tmp_path / "audit.jsonl"
    path.write_text('{"earlier": true}\n')
    padding = "p" * 5000  # lines longer than a pipe buffer, batches far longer

    async def scenario() -> None:
        writers = [AuditWriter(str(path), flush_lines=7) for _ in range(3)]
        for writer in writers:
            await writer.start()
        for n in range(300):
            for w, writer in enumerate(writers):
                writer.write(json.dumps({"w": w, "n": n, "pad": padding}))
            if n % 50 == 0:
                await asyncio.sleep(0)
        for writer in writers:
            await writer.close()

    asyncio.run(scenario())
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0] == {"earlier": True}
    for w in range(3):
        assert [line["n"] for line in lines[1:] if line["w"] == w] == list(range(300))


def test_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> None:
        writer = AuditWriter("-")
        await writer.start()
        writer.write('{"a":1}')
        await writer.close()

    asyncio.run(scenario())
    assert capfd.readouterr().out == '{"a":1}\n'
