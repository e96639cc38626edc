"""rows.first_algorithm: the first checksum algorithm of a stored map, as json.loads sees it."""

from __future__ import annotations

import json

import pytest

from gateway.meta.rows import dump_map, first_algorithm


@pytest.mark.parametrize(
    "text",
    [
        "{}",
        dump_map({"CRC32": "a", "SHA256": "b"}),
        dump_map({"SHA1": "x"}),
        dump_map({"CRC64NVME": "q=="}),
        '{ "CRC32": "a"}',
        '{"\\u0043RC32": "a"}',
        '{"CRC32C":"a","CRC32":"b"}',
        '{"": "a"}',
    ],
)
def test_first_algorithm_is_json_first_key(text: str) -> None:
    assert first_algorithm(text) == next(iter(json.loads(text)), None)
