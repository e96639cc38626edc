"""Token buckets, pure: a rate, a burst, and the one rule taking a token.

A bucket holds up to `burst` tokens and gains `rps` per second; a request takes one token
or is refused. `take` reads no clock: the caller passes `now`, so tests move time by hand.
rate.py keeps buckets per process, or runs the same rule in Redis (TAKE_LUA there
mirrors `take` line for line) so that every replica draws from one bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    rps: float
    burst: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        """`RPS[:BURST]` (e.g. `50`, `0.5:10`); the burst defaults to max(1, RPS)."""
        rps_text, _, burst_text = text.partition(":")
        try:
            rps = float(rps_text)
            burst = float(burst_text) if burst_text else max(1.0, rps)
        except ValueError:
            raise ValueError(f"{text!r} is not RPS[:BURST]") from None
        if not (rps > 0 and burst >= 1 and math.isfinite(rps) and math.isfinite(burst)):
            raise ValueError(f"{text!r}: RPS must be positive and BURST at least 1")
        return cls(rps, burst)


@dataclass
class TokenBucket:
    """One bucket's state: tokens left as of `stamp` (seconds, the caller's clock)."""

    tokens: float
    stamp: float

    @classmethod
    def full(cls, rate: Rate, now: float) -> TokenBucket:
        return cls(rate.burst, now)

    def take(self, rate: Rate, now: float) -> float:
        """Take one token: 0.0 if granted, else the seconds until one will be there (the
        bucket is left as it was, but refilled). A clock going backwards refills nothing."""
        if now > self.stamp:
            self.tokens = min(rate.burst, self.tokens + (now - self.stamp) * rate.rps)
            self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / rate.rps

    def idle_since(self, rate: Rate, now: float) -> bool:
        """Full again by `now`: forgetting it changes nothing (rate.py prunes those)."""
        return self.tokens + (now - self.stamp) * rate.rps >= rate.burst
