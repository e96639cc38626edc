"""Request ids (gateway/responses.py): 16 upper-case hex digits, random, never repeated,
and not shared with a forked worker."""

from __future__ import annotations

import os
import re

from gateway.responses import new_request_id


def test_request_ids_are_random_upper_case_hex() -> None:
    ids = [new_request_id() for _ in range(5000)]  # crosses several pool refills
    assert all(re.fullmatch(r"[0-9A-F]{16}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_forked_child_does_not_repeat_the_parents_ids() -> None:
    new_request_id()  # the pool is filled: a child copying it would repeat what follows
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, "".join(new_request_id() for _ in range(8)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 1024).decode()
    os.close(read)
    parent = "".join(new_request_id() for _ in range(8))
    assert len(child) == len(parent) == 128
    assert {child[i : i + 16] for i in range(0, 128, 16)}.isdisjoint(
        parent[i : i + 16] for i in range(0, 128, 16)
    )
