"""gateway/console/sessions.py: tokens, the cookie, the CSRF token, when a session ends."""

from __future__ import annotations

from gateway.console import sessions
from gateway.meta.base import ConsoleSession


def test_cookie_round_trip_and_attributes() -> None:
    token = sessions.new_token()
    assert sessions.is_token(token)
    header = sessions.set_cookie_header(token, secure=True, max_age=60)
    assert header.split("; ") == [
        f"kv_console={token}",
        "Path=/_kv/console",
        "Max-Age=60",
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
    ]
    assert sessions.cookie_token(f"a=b; kv_console={token}; c=d") == token
    assert sessions.cookie_token("kv_console=short") is None
    assert sessions.cookie_token(None) is None
    assert "Max-Age=0" in sessions.clear_cookie_header(secure=False)


def test_csrf_token_is_bound_to_the_session() -> None:
    one, two = sessions.new_token(), sessions.new_token()
    assert sessions.csrf_matches(one, sessions.csrf_token(one))
    assert not sessions.csrf_matches(one, sessions.csrf_token(two))
    assert not sessions.csrf_matches(one, None)
    assert sessions.token_hash(one) != sessions.csrf_token(one)


def test_a_session_ends_at_idle_or_lifetime_whichever_first() -> None:
    timeouts = sessions.Timeouts(idle=100, lifetime=1000)
    s = ConsoleSession("h", "K", "root", None, created=0, last_seen=0, expires=1000)
    assert sessions.ends_at(s, timeouts) == 100
    assert sessions.is_live(s, timeouts, 99) and not sessions.is_live(s, timeouts, 100)
    late = ConsoleSession("h", "K", "root", None, created=0, last_seen=950, expires=1000)
    assert sessions.ends_at(late, timeouts) == 1000
