"""IAM string patterns: `*` / `?` wildcards and `${...}` policy variables. Pure.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
(wildcards match across `/`) and
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
(`${aws:username}`, the literal escapes `${*}`, `${?}`, `${$}`, and default values
`${aws:username, 'guest'}`). A substituted value is always literal text: a user named
`a*` does not widen `home/${aws:username}/*`.

How matching works: a pattern compiles to segments split at each `*`; a segment is its
text and the positions where `?` stands for any one character. The first segment must
match at the start, the last at the end, the middle ones greedily leftmost in between.
That never backtracks, unlike a regex of `.*`: a policy such as `*a*a*a*a*b` must not
let a long key or Referer header burn the CPU.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

Lookup = Callable[[str], str | None]
Segment = tuple[str, tuple[int, ...]]  # text, positions of `?`

# ${name} or ${name, 'default'}; the name may itself be *, ? or $ (literal escapes).
_VARIABLE = re.compile(r"\$\{\s*([^}',\s]+)\s*(?:,\s*'([^']*)'\s*)?\}")
_ESCAPES = frozenset({"*", "?", "$"})


def _segments(pieces: list[tuple[bool, str]], ignore_case: bool) -> list[Segment]:
    """Segments of (is_pattern, text) pieces; literal pieces keep `*` and `?` as text."""
    segments: list[Segment] = []
    text: list[str] = []
    anys: list[int] = []
    for is_pattern, piece in pieces:
        for char in piece.lower() if ignore_case else piece:
            if is_pattern and char == "*":
                segments.append(("".join(text), tuple(anys)))
                text, anys = [], []
            elif is_pattern and char == "?":
                anys.append(len(text))
                text.append("?")
            else:
                text.append(char)
    segments.append(("".join(text), tuple(anys)))
    return segments


def _at(segment: Segment, value: str, position: int) -> bool:
    text, anys = segment
    if position < 0 or position + len(text) > len(value):
        return False
    if not anys:
        return value.startswith(text, position)
    return all(i in anys or value[position + i] == char for i, char in enumerate(text))


def _find(segment: Segment, value: str, start: int, end: int) -> int:
    text, anys = segment
    if not anys:
        return value.find(text, start, end)
    for position in range(start, end - len(text) + 1):
        if _at(segment, value, position):
            return position
    return -1


def _match(segments: list[Segment], value: str) -> bool:
    if len(segments) == 1:
        return len(segments[0][0]) == len(value) and _at(segments[0], value, 0)
    first, *middle, last = segments
    end = len(value) - len(last[0])
    if end < len(first[0]) or not _at(first, value, 0) or not _at(last, value, end):
        return False
    position = len(first[0])
    for segment in middle:
        found = _find(segment, value, position, end)
        if found < 0:
            return False
        position = found + len(segment[0])
    return True


@lru_cache(maxsize=4096)
def _compiled(pattern: str, ignore_case: bool) -> list[Segment]:
    return _segments([(True, pattern)], ignore_case)


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """True if `value` matches `pattern`, where `*` is any run and `?` any one character."""
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _match(_compiled(pattern, ignore_case), value.lower() if ignore_case else value)


def has_variable(text: str) -> bool:
    return _VARIABLE.search(text) is not None


def variable_names(text: str) -> list[str]:
    return [m.group(1) for m in _VARIABLE.finditer(text) if m.group(1) not in _ESCAPES]


def _pieces(text: str, lookup: Lookup) -> list[tuple[bool, str]] | None:
    """(is_pattern, text) pieces: literal policy text, or a substituted (literal) value."""
    pieces: list[tuple[bool, str]] = []
    last = 0
    for match in _VARIABLE.finditer(text):
        pieces.append((True, text[last : match.start()]))
        name, default = match.group(1), match.group(2)
        value = name if name in _ESCAPES else lookup(name)
        if value is None:
            value = default
        if value is None:
            return None
        pieces.append((False, value))
        last = match.end()
    pieces.append((True, text[last:]))
    return pieces


def substitute(text: str, lookup: Lookup) -> str | None:
    """`text` with each `${key}` replaced by `lookup(key)`; None if one has no value."""
    pieces = _pieces(text, lookup)
    return None if pieces is None else "".join(piece for _, piece in pieces)


def pattern_match(
    pattern: str, value: str, lookup: Lookup | None, *, ignore_case: bool = False
) -> bool:
    """glob_match after substituting variables (when `lookup` is given) as literal text.

    An unresolvable variable matches nothing (IAM: the element does not match).
    """
    if lookup is None or "${" not in pattern:
        return glob_match(pattern, value, ignore_case=ignore_case)
    pieces = _pieces(pattern, lookup)
    if pieces is None:
        return False
    return _match(_segments(pieces, ignore_case), value.lower() if ignore_case else value)
