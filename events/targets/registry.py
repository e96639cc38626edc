"""The configured targets, by name: from the settings (`--notify-target NAME=URL`) and from
the metadata store (`kloudvault admin target add`, seen by every replica).

The URL's scheme picks the implementation: http and https a webhook (events/targets/
webhook.py); nats, amqp(s), mqtt(s) and redis(s) the broker targets, imported only when
such a target is used, each module offering ``from_url(name, url) -> Target``. A name in
the settings wins over the same name in the store. Targets are built and started on
first use and rebuilt when their URL or options change; the store's list is read again
at most every REFRESH seconds (and always when a name is unknown). The store's rows are
sealed (events/targets/sealing.py): they are opened here, when a target is built, and
nowhere else in a serving process.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from auth.sealed import SecretSealer, UnsealError
from events.targets.base import Target, TargetError
from events.targets.sealing import open_target

log = logging.getLogger(__name__)

REFRESH = 5.0
WEBHOOK_SCHEMES = ("http", "https")
# scheme -> the module under events.targets implementing it
BROKER_MODULES = {
    "nats": "nats",
    "amqp": "amqp",
    "amqps": "amqp",
    "mqtt": "mqtt",
    "mqtts": "mqtt",
    "redis": "redis_stream",
    "rediss": "redis_stream",
}


@dataclass(frozen=True)
class TargetSpec:
    name: str
    url: str
    # Webhook options: "secret", "ca_file", "timeout". A broker target takes "timeout" too
    # (--notify-timeout, `admin target add --timeout`) where its URL has no ?timeout=.
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def scheme(self) -> str:
        return self.url.partition("://")[0].lower()


def check_url(url: str) -> None:
    """ValueError unless the URL's scheme is one a target exists for."""
    scheme = url.partition("://")[0].lower()
    if "://" not in url or (scheme not in WEBHOOK_SCHEMES and scheme not in BROKER_MODULES):
        known = ", ".join((*WEBHOOK_SCHEMES, *sorted(BROKER_MODULES)))
        raise ValueError(f"unsupported target URL {url!r} (schemes: {known})")


def parse_entry(entry: str) -> tuple[str, str]:
    """NAME=URL -> (name, url)."""
    name, _, url = entry.partition("=")
    if not name or not url:
        raise ValueError(f"want NAME=URL, not {entry!r}")
    check_url(url)
    return name.strip(), url.strip()


def build(spec: TargetSpec) -> Target:
    """A new, unstarted Target for `spec`; TargetError if its module cannot be loaded."""
    check_url(spec.url)
    if spec.scheme in WEBHOOK_SCHEMES:
        from events.targets.webhook import from_url

        return from_url(
            spec.name,
            spec.url,
            secret=spec.options.get("secret"),
            ca_file=spec.options.get("ca_file"),
            timeout=float(spec.options.get("timeout", 10.0)),
        )
    module_name = f"events.targets.{BROKER_MODULES[spec.scheme]}"
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TargetError(f"target {spec.name}: cannot load {module_name}: {exc}") from exc
    url = spec.url
    if "timeout" in spec.options:
        url = _default_timeout(url, float(spec.options["timeout"]))
    target: Target = module.from_url(spec.name, url)
    return target


def _default_timeout(url: str, seconds: float) -> str:
    """A broker URL with ?timeout=`seconds` unless it names its own."""
    parts = urlsplit(url)
    if any(name == "timeout" for name, _ in parse_qsl(parts.query, keep_blank_values=True)):
        return url
    query = f"{parts.query}&timeout={seconds:g}" if parts.query else f"timeout={seconds:g}"
    return urlunsplit(parts._replace(query=query))


class TargetSource(Protocol):
    """Where the store's targets come from (gateway.meta.outbox.EventOutbox)."""

    async def list_event_targets(self) -> list[tuple[str, str, str]]: ...


# A stored target's row as read: its name, then the url and options columns (sealed).
StoredRow = tuple[str, str, str]


class TargetRegistry:
    def __init__(
        self,
        configured: Iterable[TargetSpec] = (),
        store: TargetSource | None = None,
        *,
        sealer: SecretSealer | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.configured = {s.name: s for s in configured}
        self.store = store
        self.sealer = sealer or SecretSealer(None)
        self.monotonic = monotonic
        self._stored: dict[str, StoredRow] = {}
        self._read_at: float | None = None
        # name -> (what it was built from: a settings spec or a stored row, the target)
        self._live: dict[str, tuple[TargetSpec | StoredRow, Target]] = {}

    async def _entries(self, *, fresh: bool = False) -> dict[str, TargetSpec | StoredRow]:
        now = self.monotonic()
        if self.store is not None and (
            fresh or self._read_at is None or now - self._read_at >= REFRESH
        ):
            rows = await self.store.list_event_targets()
            self._stored = {row[0]: row for row in rows}
            self._read_at = now
        return {**self._stored, **self.configured}

    async def names(self) -> set[str]:
        """Every target name, with the store read now (PutBucketNotificationConfiguration)."""
        return set(await self._entries(fresh=True))

    def _spec(self, entry: TargetSpec | StoredRow) -> TargetSpec:
        if isinstance(entry, TargetSpec):
            return entry
        name, url, options = entry
        try:
            return TargetSpec(name, *open_target(self.sealer, name, url, options))
        except UnsealError as exc:  # its events wait and dead-letter, as for any failure
            raise TargetError(f"target {name}: {exc}") from None

    async def get(self, name: str) -> Target:
        """The started target `name`; TargetError if there is none or it cannot start."""
        entries = await self._entries()
        if name not in entries:
            entries = await self._entries(fresh=True)
        entry = entries.get(name)
        if entry is None:
            raise TargetError(f"no target named {name!r} is configured")
        live = self._live.get(name)
        if live is not None and live[0] == entry:
            return live[1]
        if live is not None:
            await _close(live[1])
            del self._live[name]
        target = build(self._spec(entry))
        await target.start()
        self._live[name] = (entry, target)
        return target

    async def close(self) -> None:
        live, self._live = self._live, {}
        for _, target in live.values():
            await _close(target)


async def _close(target: Target) -> None:
    try:
        await target.close()
    except Exception as exc:  # closing is best effort: the process may be stopping
        log.warning("target %s: close failed: %r", target.name, exc)


def configured_specs(
    entries: Iterable[str], *, secret: str | None, ca_file: str | None, timeout: float
) -> list[TargetSpec]:
    """The settings' targets (--notify-target NAME=URL), with the webhook options."""
    options: dict[str, Any] = {"timeout": timeout}
    if secret:
        options["secret"] = secret
    if ca_file:
        options["ca_file"] = ca_file
    return [TargetSpec(*parse_entry(e), options=options) for e in entries]
