"""lifecycle.expiry: x-amz-expiration, and the rules cache's TTL and invalidation."""

from __future__ import annotations

import asyncio

from gateway.meta.base import ObjectVersion
from gateway.xml.codec import render
from lifecycle.evaluate import Timing
from lifecycle.expiry import LIFECYCLE, RulesCache, expiration, expiration_headers
from lifecycle.rules import Expiration, Filter, LifecycleConfiguration, Rule

DAY = 86400.0
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
RULE = Rule("Enabled", "tmp rule", Filter(prefix="tmp/"), expiration=Expiration(days=1))
DOCUMENT = render(LifecycleConfiguration((RULE,))).decode()


class Configs:
    """A MetaStore's bucket configurations, counting reads."""

    def __init__(self, documents: dict[str, str]) -> None:
        self.documents = documents
        self.reads = 0

    async def get_bucket_config(self, bucket: str, name: str) -> str | None:
        assert name == LIFECYCLE
        self.reads += 1
        return self.documents.get(bucket)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def version(
    key: str = "tmp/a", *, is_latest: bool = True, is_delete_marker: bool = False
) -> ObjectVersion:
    return ObjectVersion("b", key, "v1", T0, is_latest=is_latest, is_delete_marker=is_delete_marker)


def test_expiration_header() -> None:
    # S3 rounds to the next midnight UTC after creation + days.
    assert expiration(version(), (RULE,), Timing()) == {
        "x-amz-expiration": 'expiry-date="Thu, 16 Nov 2023 00:00:00 GMT", rule-id="tmp%20rule"'
    }
    assert expiration(version("keep/a"), (RULE,), Timing()) == {}


def test_expiration_headers_only_for_current_versions() -> None:
    cache = RulesCache(Configs({"b": DOCUMENT}))
    timing = Timing()

    async def run() -> None:
        assert await expiration_headers(cache, timing, version()) != {}
        assert await expiration_headers(cache, timing, version(is_latest=False)) == {}
        marker = version(is_delete_marker=True)
        assert await expiration_headers(cache, timing, marker) == {}

    asyncio.run(run())


def test_retention_cap_without_rules() -> None:
    cache = RulesCache(Configs({}))
    capped = Timing(day_seconds=DAY, max_retention_days=2)
    headers = asyncio.run(expiration_headers(cache, capped, version("keep/a")))
    assert "x-amz-expiration" in headers
    assert asyncio.run(expiration_headers(cache, Timing(), version("keep/a"))) == {}


def test_cache_ttl_fresh_and_forget() -> None:
    configs, clock = Configs({"b": DOCUMENT}), Clock()
    cache = RulesCache(configs, ttl=1.0, monotonic=clock)

    async def run() -> None:
        assert await cache.get("b") == (RULE,)
        assert await cache.get("b") == (RULE,)
        assert configs.reads == 1
        configs.documents.clear()
        assert await cache.get("b") == (RULE,)  # still cached
        clock.now = 1.5
        assert await cache.get("b") == ()
        assert configs.reads == 2
        configs.documents["b"] = DOCUMENT
        assert await cache.get("b", fresh=True) == (RULE,)
        cache.forget("b")
        configs.documents.clear()
        assert await cache.get("b") == ()
        assert configs.reads == 4

    asyncio.run(run())


def test_caches_are_independent() -> None:
    one, two = Configs({"b": DOCUMENT}), Configs({})
    assert asyncio.run(RulesCache(one).get("b")) == (RULE,)
    assert asyncio.run(RulesCache(two).get("b")) == ()


def test_cache_limit_clears() -> None:
    configs = Configs({})
    cache = RulesCache(configs, limit=2)

    async def run() -> None:
        for name in ("a", "b", "c", "a"):
            await cache.get(name)

    asyncio.run(run())
    assert configs.reads == 4  # "a" was dropped when "c" arrived
