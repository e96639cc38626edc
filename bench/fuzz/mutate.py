"""A small, deterministic, dependency-free mutator: the engine of the CI smoke run.

Not coverage-guided (that is the atheris run's job): it checks that every target still
holds its contract on its seeds and on a bounded number of their mutations, the kinds of
damage that found the bugs so far (truncation, stray bytes, CR/LF, %, non-UTF-8, huge
numbers, nesting).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

TOKENS = (
    b"\r\n",
    b"\n",
    b"\r",
    b"\x00",
    b"\xff",
    b"\xed\xa0\x80",  # a UTF-8-encoded surrogate
    "é€\U0001f600".encode(),
    b"%",
    b"%ff",
    b"%00",
    b"-",
    b"=",
    b";",
    b",",
    b":",
    b"/",
    b"?",
    b'"',
    b"*",
    b"9" * 25,
    b"-1",
    b"\xb2",  # superscript two in Latin-1
    "\u00b2\u0663".encode(),  # a superscript and an Arabic-Indic digit: isdigit() but not int()
    b"[" * 50,
    b"<a>" * 30,
    b"&amp;",
    b"&#0;",
    b"&#x10FFFF;",
)


def mutate(
    data: bytes, rng: random.Random, others: list[bytes], tokens: tuple[bytes, ...] = TOKENS
) -> bytes:
    """One to four random edits of `data`."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        at = rng.randint(0, len(out))
        if op == 0 and out:  # flip a byte
            i = rng.randrange(len(out))
            out[i] = rng.randrange(256)
        elif op == 1:  # insert a token
            out[at:at] = rng.choice(tokens)
        elif op == 2 and out:  # delete a range
            out[at : at + rng.randint(1, 16)] = b""
        elif op == 3:  # truncate
            del out[at:]
        elif op == 4 and out:  # duplicate a range
            end = min(len(out), at + rng.randint(1, 32))
            out[at:at] = out[at:end]
        elif op == 5 and others:  # splice in part of another seed
            other = rng.choice(others)
            start = rng.randint(0, len(other))
            out[at:at] = other[start : start + rng.randint(1, 64)]
        else:  # replace a byte with a token
            out[at : at + 1] = rng.choice(tokens)
    return bytes(out)


def inputs(
    seeds: list[bytes], count: int, *, seed: int = 0, tokens: tuple[bytes, ...] = ()
) -> Iterator[bytes]:
    """The seeds themselves, then mutations of them up to `count` inputs in all;
    `tokens` (a target's keywords) join the generic ones."""
    rng = random.Random(seed)
    pool = seeds or [b""]
    words = TOKENS + tokens
    yield from pool[:count]
    for _ in range(count - min(count, len(pool))):
        yield mutate(rng.choice(pool), rng, pool, words)
