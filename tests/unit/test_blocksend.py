"""gateway.blocksend: a BlockSender's steps write what the socket takes, make the next block
ahead when it is full, and leave the rest to the pump; on socket pairs."""

from __future__ import annotations

import asyncio
import os
import socket
import threading

import pytest

from gateway.blocksend import STEP_BLOCKS, BlockSender
from gateway.sendfile import SendfilePump

BLOCK = 256 * 1024


class ListReader:
    """Blocks from a list; counts the read_into calls."""

    def __init__(self, blocks: list[bytes]) -> None:
        self.blocks = list(blocks)
        self.reads = 0
        self.block_size = BLOCK

    def read_into(self, out: memoryview) -> int:
        self.reads += 1
        if not self.blocks:
            return 0
        block = self.blocks.pop(0)
        out[: len(block)] = block
        return len(block)

    def close(self) -> None:
        pass


def _buffers() -> tuple[memoryview, memoryview]:
    return memoryview(bytearray(BLOCK)), memoryview(bytearray(BLOCK))


def _sender(reader: ListReader, sock: socket.socket) -> BlockSender:
    first = reader.blocks[0]
    buffers = _buffers()
    buffers[0][: len(first)] = first
    reader.blocks.pop(0)
    return BlockSender(reader, sock.fileno(), buffers, len(first))


def _read_all(sock: socket.socket, into: bytearray) -> None:
    while chunk := sock.recv(1 << 20):
        into += chunk


def test_steps_send_every_block_in_order() -> None:
    blocks = [os.urandom(BLOCK - n) for n in range(3 * STEP_BLOCKS)]
    a, b = socket.socketpair()
    a.setblocking(False)
    got = bytearray()
    reading = threading.Thread(target=_read_all, args=(b, got))
    reading.start()
    sender = _sender(ListReader(blocks), a)
    pump = SendfilePump()
    steps = 0

    async def send() -> None:
        nonlocal steps
        while not sender.done:
            sender.step()
            steps += 1
            if sender.pending:
                await pump.send_buffer(sender.fd, sender.pending)
                sender.pending_sent()

    try:
        asyncio.run(send())
    finally:
        sender.close()
        a.close()
        reading.join()
        b.close()
    assert bytes(got) == b"".join(blocks)
    assert sender.sent == len(got)
    assert steps >= len(blocks) // (STEP_BLOCKS + 1)  # a step makes at most STEP_BLOCKS


def test_a_full_socket_leaves_the_rest_and_makes_one_block_ahead() -> None:
    blocks = [bytes([n]) * BLOCK for n in range(40)]  # more than the socket buffer holds
    a, b = socket.socketpair()
    a.setblocking(False)
    reader = ListReader(blocks)
    with a, b:
        sender = _sender(reader, a)
        try:
            sender.step()  # nobody reads b: the socket fills up
            assert sender.pending and not sender.done
            reads = reader.reads
            assert reads <= STEP_BLOCKS + 1  # the blocks written, and one made ahead
            sender.step()  # still full: nothing is made
            assert reader.reads == reads and sender.pending
        finally:
            sender.close()


def test_a_peer_gone_raises() -> None:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.close()
    with a:
        sender = _sender(ListReader([b"x" * BLOCK, b"y" * BLOCK]), a)
        try:
            with pytest.raises(OSError):
                sender.step()
        finally:
            sender.close()
