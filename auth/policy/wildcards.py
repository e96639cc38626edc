"""IAM string patterns: `*` / `?` wildcards and `${...}` policy variables. Pure.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
(wildcards match across `/`) and
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
(`${aws:username}`, the literal escapes `${*}`, `${?}`, `${$}`, and default values
`${aws:username, 'guest'}`). A substituted value is always literal text: a user named
`a*` does not widen `home/${aws:username}/*`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

Lookup = Callable[[str], str | None]

# ${name} or ${name, 'default'}; the name may itself be *, ? or $ (literal escapes).
_VARIABLE = re.compile(r"\$\{\s*([^}',\s]+)\s*(?:,\s*'([^']*)'\s*)?\}")
_ESCAPES = frozenset({"*", "?", "$"})


def _glob_regex(text: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)


@lru_cache(maxsize=4096)
def _compile(regex: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """True if `value` matches `pattern`, where `*` is any run and `?` any one character."""
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _compile(_glob_regex(pattern), ignore_case).fullmatch(value) is not None


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
    regex = "".join(_glob_regex(p) if is_glob else re.escape(p) for is_glob, p in pieces)
    return _compile(regex, ignore_case).fullmatch(value) is not None
