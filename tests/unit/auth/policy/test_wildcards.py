from __future__ import annotations

import pytest

from auth.policy.wildcards import glob_match, pattern_match, substitute, variable_names

VALUES = {"aws:username": "alice", "aws:userid": "AIDA1", "odd": "a*b"}


def lookup(key: str) -> str | None:
    return VALUES.get(key.lower()) or VALUES.get(key)


@pytest.mark.parametrize(
    ("pattern", "value", "ignore_case", "expected"),
    [
        ("*", "anything/at/all", False, True),
        ("s3:Get*", "s3:GetObject", False, True),
        ("s3:get*", "s3:GetObject", True, True),
        ("s3:get*", "s3:GetObject", False, False),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b/c", False, True),  # * crosses "/"
        ("arn:aws:s3:::b/?", "arn:aws:s3:::b/x", False, True),
        ("arn:aws:s3:::b/?", "arn:aws:s3:::b/xy", False, False),
        ("arn:aws:s3:::b", "arn:aws:s3:::b/x", False, False),
        ("a.b", "axb", False, False),  # regex characters are literal
        ("a[1]", "a[1]", False, True),
        ("line*", "line1\nline2", False, True),
    ],
)
def test_glob_match(pattern: str, value: str, ignore_case: bool, expected: bool) -> None:
    assert glob_match(pattern, value, ignore_case=ignore_case) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("home/${aws:username}/*", "home/alice/*"),
        ("${aws:username}-${aws:userid}", "alice-AIDA1"),
        ("${aws:missing}", None),
        ("${aws:missing, 'guest'}", "guest"),
        ("${aws:username, 'guest'}", "alice"),
        ("${*}${?}${$}", "*?$"),
        ("no variables", "no variables"),
    ],
)
def test_substitute(text: str, expected: str | None) -> None:
    assert substitute(text, lookup) == expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("arn:aws:s3:::b/home/${aws:username}/*", "arn:aws:s3:::b/home/alice/x", True),
        ("arn:aws:s3:::b/home/${aws:username}/*", "arn:aws:s3:::b/home/bob/x", False),
        ("arn:aws:s3:::b/${missing}/*", "arn:aws:s3:::b//x", False),
        # A substituted value is literal, even when it holds a wildcard character.
        ("arn:aws:s3:::b/${odd}", "arn:aws:s3:::b/a*b", True),
        ("arn:aws:s3:::b/${odd}", "arn:aws:s3:::b/aXXb", False),
        # ${*} stands for a literal star.
        ("arn:aws:s3:::b/${*}", "arn:aws:s3:::b/*", True),
        ("arn:aws:s3:::b/${*}", "arn:aws:s3:::b/x", False),
    ],
)
def test_pattern_match_with_variables(pattern: str, value: str, expected: bool) -> None:
    assert pattern_match(pattern, value, lookup) is expected


def test_pattern_match_without_lookup_keeps_variables_literal() -> None:
    # Version 2008-10-17 policies have no variables: the text is matched as written.
    assert pattern_match("home/${aws:username}", "home/${aws:username}", None)
    assert not pattern_match("home/${aws:username}", "home/alice", None)


def test_variable_names() -> None:
    assert variable_names("${aws:username}/${*}/${s3:prefix, 'x'}") == [
        "aws:username",
        "s3:prefix",
    ]


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("a*b*c", "abc", True),
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "acb", False),
        ("*ab", "aab", True),  # the last segment is anchored at the end
        ("ab*", "ab", True),
        ("a*a", "a", False),  # first and last segments may not overlap
        ("*?*", "", False),
        ("*?*", "x", True),
        ("a?c*", "abcd", True),
        ("*b?d", "abcd", True),
        ("*b?d*", "xxbXdyy", True),
        ("*b?d*", "xxbXXdyy", False),
        ("**", "", True),
    ],
)
def test_glob_match_segments(pattern: str, value: str, expected: bool) -> None:
    assert glob_match(pattern, value) is expected


def test_glob_match_does_not_backtrack_exponentially() -> None:
    # A regex of ".*a" repeated would take ages on this; greedy segments are instant.
    pattern = "*a" * 30 + "*b"
    assert not glob_match(pattern, "a" * 5000)
    assert glob_match(pattern, "a" * 5000 + "b")
