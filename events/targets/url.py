"""Broker target URLs: ``scheme://[user[:password]@]host[:port][/path][?option=value&...]``.

Every broker target is configured by one URL (``kloudvault admin target add NAME URL``, or the
settings file). This module parses it into a `TargetURL` and checks its options against the
names the target knows, so that a typo (``?subjet=``) is refused when the target is configured
instead of silently ignored. The password never leaves this value except to the broker's
client: `redacted()` is the form for logs and error messages, and `scrub()` takes it out of a
foreign error's text.

Options shared by every broker target:

- ``timeout`` (seconds, default 5): the longest a `send` (connect included) may take before it
  raises TargetError; the dispatcher then retries with backoff.
- ``ca_file`` (TLS schemes only: amqps, mqtts, rediss): a PEM bundle of the CAs to trust
  instead of the system's. The broker's certificate and host name are always verified.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from events.targets.base import TargetError

DEFAULT_TIMEOUT = 5.0
COMMON_OPTIONS = ("timeout", "ca_file")
TLS_SCHEMES = frozenset({"amqps", "mqtts", "rediss"})
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class TargetURLError(TargetError, ValueError):
    """A target URL that cannot configure a target; the message holds no secret.

    A ValueError for whoever validates configuration, and a TargetError for a dispatcher
    that builds the target on first use: its events wait (and dead-letter) like any other
    undeliverable ones instead of stopping the dispatch loop."""


@dataclass(frozen=True, slots=True)
class TargetURL:
    """A parsed target URL. `path` is percent-decoded, without its leading slash."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    path: str = ""
    options: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(
        cls, url: str, *, default_ports: Mapping[str, int], options: Collection[str]
    ) -> TargetURL:
        """Parse `url`, whose scheme must be a key of `default_ports` and whose query may
        hold only `options` (plus COMMON_OPTIONS), each at most once."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            # The text may hold a password: name the problem, never echo the URL.
            raise TargetURLError("not a valid URL (bad port or brackets)") from None
        scheme = parts.scheme.lower()
        if scheme not in default_ports:
            expected = ", ".join(f"{s}://" for s in default_ports)
            raise TargetURLError(f"unsupported scheme {scheme!r}: expected {expected}")
        if not parts.hostname:
            raise TargetURLError(f"{scheme}:// URL without a host")
        if parts.fragment:
            raise TargetURLError("a target URL takes no #fragment")
        allowed = set(options) | set(COMMON_OPTIONS)
        found: dict[str, str] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
            if name not in allowed:
                raise TargetURLError(
                    f"unknown option {name!r} for {scheme}://; known: {', '.join(sorted(allowed))}"
                )
            if name in found:
                raise TargetURLError(f"option {name!r} given twice")
            found[name] = value
        if "ca_file" in found and scheme not in TLS_SCHEMES:
            raise TargetURLError(f"ca_file is for TLS: {scheme}s://, not {scheme}://")
        return cls(
            scheme=scheme,
            host=parts.hostname,
            port=default_ports[scheme] if port is None else port,
            username=None if parts.username is None else unquote(parts.username),
            password=None if parts.password is None else unquote(parts.password),
            path=unquote(parts.path[1:] if parts.path.startswith("/") else parts.path),
            options=found,
        )

    # -- options ---------------------------------------------------------------------------

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.options.get(name)
        return default if value is None or value == "" else value

    def required(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise TargetURLError(f"{self.scheme}:// target needs ?{name}=")
        return value

    def flag(self, name: str) -> bool:
        value = self.options.get(name, "").lower()
        if value == "":
            return False
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise TargetURLError(f"option {name!r} must be 1 or 0, not {value!r}")

    def integer(self, name: str, default: int, *, minimum: int = 0) -> int:
        value = self.text(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise TargetURLError(f"option {name!r} must be an integer, not {value!r}") from None
        if number < minimum:
            raise TargetURLError(f"option {name!r} must be at least {minimum}")
        return number

    @property
    def timeout(self) -> float:
        value = self.text("timeout")
        if value is None:
            return DEFAULT_TIMEOUT
        try:
            seconds = float(value)
        except ValueError:
            raise TargetURLError(f"option 'timeout' must be seconds, not {value!r}") from None
        if not (seconds > 0 and math.isfinite(seconds)):
            raise TargetURLError("option 'timeout' must be a positive number of seconds")
        return seconds

    @property
    def tls(self) -> bool:
        return self.scheme in TLS_SCHEMES

    def ssl_context(self) -> ssl.SSLContext:
        """Verifying the broker's certificate and name against ``ca_file`` or the system's
        CAs. Built at connect time: a renewed bundle is read on the next connection."""
        return ssl.create_default_context(cafile=self.text("ca_file"))

    # -- for logs ----------------------------------------------------------------------------

    def redacted(self) -> str:
        """The URL with its password replaced by ``***``: what logs and errors show."""
        userinfo = ""
        if self.username is not None:
            userinfo = quote(self.username, safe="")
            if self.password is not None:
                userinfo += ":***"
            userinfo += "@"
        elif self.password is not None:
            userinfo = ":***@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        path = f"/{quote(self.path, safe='')}" if self.path else ""
        query = f"?{urlencode(list(self.options.items()))}" if self.options else ""
        return f"{self.scheme}://{userinfo}{host}:{self.port}{path}{query}"

    def scrub(self, text: str) -> str:
        """`text` (a foreign error's message) without the password, plain or encoded."""
        if self.password:
            for form in {self.password, quote(self.password, safe="")}:
                text = text.replace(form, "***")
        return text
