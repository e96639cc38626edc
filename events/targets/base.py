"""The Target protocol every delivery target implements.

The dispatcher (gateway/jobs) hands a target one event at a time, in outbox order per key, and
counts it delivered only when ``send`` returns: a target returns only once its broker has
acknowledged the message (JetStream ack, publisher confirm, MQTT PUBACK, XADD reply, HTTP 2xx),
and raises ``TargetError`` otherwise, so the dispatcher retries with backoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class TargetError(Exception):
    """A delivery failed; the event stays in the outbox and is retried."""


@dataclass(frozen=True, slots=True)
class Message:
    """One event, as a target sends it.

    ``body`` is the JSON document ``{"Records": [...]}`` (UTF-8); ``event_name`` (e.g.
    ``s3:ObjectCreated:Put``), ``bucket`` and ``key`` let a target route it (subject, routing
    key, topic); ``event_id`` is stable across retries so a consumer can drop duplicates.
    """

    body: bytes
    event_name: str
    bucket: str
    key: str
    event_id: str


class Target(Protocol):
    """A configured destination, named by the last part of its ARN."""

    name: str

    async def start(self) -> None:
        """Connect (lazily reconnecting later is the target's own business)."""

    async def send(self, message: Message) -> None:
        """Deliver one message; return once the broker acknowledged it, else raise TargetError."""

    async def close(self) -> None:
        """Release connections; safe to call twice."""
