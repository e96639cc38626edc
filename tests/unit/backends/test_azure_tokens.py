"""backends/azure/tokens.py: when BearerTokens asks its credential for a token (once, again
REFRESH_MARGIN seconds before expiry, once however many ask at a time), on a clock the
tests move; and that a token credential needs an https account URL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from backends.azure import AzureBackend
from backends.azure.tokens import REFRESH_MARGIN, STORAGE_SCOPE, BearerTokens


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Credential:
    """Token n (counting from 1) expires `lifetime` seconds after the clock's time of asking;
    with `gate`, each fetch waits for it to be set."""

    def __init__(self, clock: Clock, lifetime: float = 3600.0) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.asked: list[tuple[tuple[str, ...], dict[str, Any]]] = []
        self.gate: asyncio.Event | None = None
        self.fail = False

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.asked.append((scopes, kwargs))
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("identity endpoint down")
        return AccessToken(f"token-{len(self.asked)}", int(self.clock() + self.lifetime))

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> Credential:
        return self

    async def __aexit__(self, *args: object) -> None:
        pass


def _tokens(lifetime: float = 3600.0) -> tuple[BearerTokens, Credential, Clock]:
    clock = Clock()
    credential = Credential(clock, lifetime)
    return BearerTokens(credential, clock=clock), credential, clock


def test_a_token_is_fetched_once_and_again_before_it_expires() -> None:
    tokens, credential, clock = _tokens()

    async def scenario() -> list[str]:
        got = [await tokens.token() for _ in range(5)]
        clock.now += 3600 - REFRESH_MARGIN - 1  # still more than the margin left
        got.append(await tokens.token())
        clock.now += 1  # exactly the margin left: time for a new one
        got.append(await tokens.token())
        got.append(await tokens.token())
        return got

    assert asyncio.run(scenario()) == ["token-1"] * 6 + ["token-2"] * 2
    assert credential.asked == [((STORAGE_SCOPE,), {})] * 2


def test_a_token_born_inside_the_margin_is_used_once_then_replaced() -> None:
    tokens, credential, _ = _tokens(lifetime=REFRESH_MARGIN / 2)

    async def scenario() -> list[str]:
        return [await tokens.token() for _ in range(3)]

    # Each is near its end when it comes: every use asks again (never a loop of fetches).
    assert asyncio.run(scenario()) == ["token-1", "token-2", "token-3"]


def test_many_at_once_make_one_fetch() -> None:
    tokens, credential, _ = _tokens()

    async def scenario() -> set[str]:
        credential.gate = asyncio.Event()
        waiting = [asyncio.create_task(tokens.token()) for _ in range(50)]
        await asyncio.sleep(0)
        credential.gate.set()
        return set(await asyncio.gather(*waiting))

    assert asyncio.run(scenario()) == {"token-1"}
    assert len(credential.asked) == 1


def test_a_valid_token_serves_while_its_successor_is_fetched() -> None:
    tokens, credential, clock = _tokens()

    async def scenario() -> tuple[str, str, str]:
        first = await tokens.token()
        clock.now += 3600 - REFRESH_MARGIN + 10  # inside the margin, not expired
        credential.gate = asyncio.Event()
        refreshing = asyncio.create_task(tokens.token())
        await asyncio.sleep(0)  # the refresh holds the lock, waiting on the endpoint
        meanwhile = await asyncio.wait_for(tokens.token(), timeout=1)  # does not wait
        credential.gate.set()
        return first, meanwhile, await refreshing

    assert asyncio.run(scenario()) == ("token-1", "token-1", "token-2")
    assert len(credential.asked) == 2


def test_an_expired_token_waits_for_its_successor() -> None:
    tokens, credential, clock = _tokens()

    async def scenario() -> list[str]:
        await tokens.token()
        clock.now += 3601  # expired
        credential.gate = asyncio.Event()
        waiting = [asyncio.create_task(tokens.token()) for _ in range(3)]
        await asyncio.sleep(0)
        assert not any(task.done() for task in waiting)
        credential.gate.set()
        return await asyncio.gather(*waiting)

    assert asyncio.run(scenario()) == ["token-2"] * 3
    assert len(credential.asked) == 2


def test_a_failed_fetch_raises_and_the_next_use_asks_again() -> None:
    tokens, credential, _ = _tokens()

    async def scenario() -> str:
        credential.fail = True
        with pytest.raises(RuntimeError):
            await tokens.token()
        credential.fail = False
        return await tokens.token()

    assert asyncio.run(scenario()) == "token-2"


def test_the_sdk_shares_the_cached_token_and_options_pass_through() -> None:
    tokens, credential, _ = _tokens()

    async def scenario() -> list[str]:
        return [
            (await tokens.get_token(STORAGE_SCOPE)).token,
            (await tokens.get_token(STORAGE_SCOPE, enable_cae=False)).token,  # the default
            await tokens.token(),
            (await tokens.get_token(STORAGE_SCOPE, claims="c", tenant_id="t")).token,
            (await tokens.get_token("https://other/.default")).token,
            await tokens.token(),
        ]

    expected = ["token-1", "token-1", "token-1", "token-2", "token-3", "token-1"]
    assert asyncio.run(scenario()) == expected
    assert credential.asked[1:] == [
        ((STORAGE_SCOPE,), {"claims": "c", "tenant_id": "t"}),
        (("https://other/.default",), {}),
    ]


@pytest.mark.parametrize("credential", [None, "token"])
def test_a_token_credential_needs_https(credential: str | None) -> None:
    given = Credential(Clock()) if credential else None
    with pytest.raises(ValueError, match="https"):
        AzureBackend("c", account_url="http://127.0.0.1:10000/devstoreaccount1", credential=given)
    # https, or a key, or a SAS in the URL: fine (nothing is sent before start()).
    AzureBackend("c", account_url="https://acct.blob.core.windows.net", credential=given)
    AzureBackend("c", account_url="http://127.0.0.1:10000/devstoreaccount1", account_key="a2V5")
    AzureBackend("c", account_url="http://127.0.0.1:10000/devstoreaccount1?sv=1&sig=x")
