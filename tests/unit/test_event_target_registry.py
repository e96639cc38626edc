"""events.targets.registry: NAME=URL entries, the settings' targets over the store's, a
target built once and rebuilt when its URL changes, the store read again after REFRESH."""

from __future__ import annotations

import asyncio

import pytest

from events.targets.base import TargetError
from events.targets.broker import BrokerTarget
from events.targets.registry import (
    REFRESH,
    TargetRegistry,
    TargetSpec,
    build,
    check_url,
    configured_specs,
    parse_entry,
)
from events.targets.webhook import WebhookTarget, sign


class Store:
    """The store's side, as rows (what gateway.meta.events.list_event_targets returns)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []
        self.reads = 0

    async def list_event_targets(self) -> list[tuple[str, str, str]]:
        self.reads += 1
        return list(self.rows)


def test_entries_and_urls() -> None:
    assert parse_entry("hook=https://h/x?a=b") == ("hook", "https://h/x?a=b")
    for bad in ("hook", "=http://h", "hook=ftp://h", "hook=h:80"):
        with pytest.raises(ValueError):
            parse_entry(bad)
    for url in ("nats://n:4222", "amqp://g:g@r:5672/", "mqtt://m:1883", "redis://r:6379/0"):
        check_url(url)
    (spec,) = configured_specs(["h=http://x"], secret="s", ca_file=None, timeout=3.0)
    assert spec.options == {"timeout": 3.0, "secret": "s"}
    # RFC 2104 HMAC-SHA256 of b"body" under b"k", hex
    digest = "c6d811ef3aeb02437cd423f1abe13209041864630bdc4e2c04def5c7b0031a23"
    assert sign("k", b"body") == "sha256=" + digest


def test_registry_builds_once_and_follows_the_store() -> None:
    store = Store()
    clock = [0.0]
    settings = configured_specs(["fixed=http://settings/"], secret=None, ca_file=None, timeout=1)
    registry = TargetRegistry(settings, store, monotonic=lambda: clock[0])
    store.rows = [("dyn", "http://one/", "{}"), ("fixed", "http://store/", "{}")]

    async def body() -> None:
        fixed = await registry.get("fixed")
        assert isinstance(fixed, WebhookTarget) and fixed.url == "http://settings/"  # wins
        dyn = await registry.get("dyn")
        assert await registry.get("dyn") is dyn and store.reads == 1
        store.rows = [("dyn", "http://two/", '{"secret": "s", "timeout": 2}')]
        assert await registry.get("dyn") is dyn  # not read again yet
        clock[0] += REFRESH
        again = await registry.get("dyn")
        assert isinstance(again, WebhookTarget) and again is not dyn
        assert (again.url, again.secret, again.timeout) == ("http://two/", "s", 2.0)
        with pytest.raises(TargetError):
            await registry.get("missing")
        assert store.reads == 3  # an unknown name reads the store at once
        assert await registry.names() == {"dyn", "fixed"}
        await registry.close()

    asyncio.run(body())


@pytest.mark.parametrize(
    "url",
    [
        "nats://127.0.0.1:4222?subject=s",
        "amqp://u:p%40ss@127.0.0.1:5672/%2F?exchange=e",
        "mqtt://127.0.0.1:1883?topic=t",
        "redis://127.0.0.1:6379/0?stream=s",
    ],
)
def test_broker_timeout_from_the_options_unless_the_url_names_one(url: str) -> None:
    """--notify-timeout and `admin target add --timeout` reach broker targets too (they
    were once read by webhooks only); a ?timeout= in the URL wins. Nothing connects."""
    (spec,) = configured_specs([f"b={url}"], secret=None, ca_file=None, timeout=2.5)
    assert timeout_of(spec) == 2.5
    assert timeout_of(TargetSpec("b", url + "&timeout=0.5", {"timeout": 7})) == 0.5
    assert timeout_of(TargetSpec("b", url)) == 5.0  # the URL's own default


def timeout_of(spec: TargetSpec) -> float:
    target = build(spec)
    assert isinstance(target, BrokerTarget)
    return target.timeout
