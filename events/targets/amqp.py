"""RabbitMQ target (AMQP 0.9.1): publish to an exchange, wait for the publisher confirm.

URL: ``amqp://user:password@host[:5672][/vhost]?exchange=E[&routing_key=K]``
``[&exchange_type=topic][&mandatory=1]``, or ``amqps://`` (TLS, port 5671, ``ca_file``: see
events/targets/url.py)

- ``/vhost``: percent-encoded (``/%2F`` or nothing is the default vhost ``/``).
- ``exchange``: where records go; empty or absent is the default exchange (routing key =
  queue name). The exchange must exist, unless ``exchange_type`` (direct, fanout, topic,
  headers) is given: then it is declared durable with that type if missing.
- ``routing_key``: fixed routing key; by default each record's event name
  (``s3:ObjectCreated:Put``), so bindings can select event kinds.
- ``mandatory=1``: a record no queue is bound to receive is an error (retried, then
  dead-lettered) instead of being dropped by the broker.

Messages are persistent (delivery mode 2), ``application/json``, with ``message_id`` = the
event id (for consumers' deduplication) and ``type`` = the event name. The channel is in
confirm mode: `send` returns on the broker's Basic.Ack, which for a persistent message routed
to durable queues comes once they have it on disk
(https://www.rabbitmq.com/docs/confirms#publisher-confirms); a Basic.Nack is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import aio_pika
import aiormq.exceptions
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, ExchangeType

from events.targets.base import Message, Target
from events.targets.broker import BrokerTarget, ConnectionLost
from events.targets.url import TargetURL, TargetURLError

DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671}
OPTIONS = ("exchange", "routing_key", "exchange_type", "mandatory")


@dataclass(slots=True)
class _Conn:
    connection: AbstractConnection
    channel: AbstractChannel
    exchange: AbstractExchange


class AmqpTarget(BrokerTarget[_Conn]):
    errors = (aiormq.exceptions.AMQPError, aiormq.exceptions.ChannelInvalidStateError, OSError)

    def __init__(self, name: str, url: TargetURL) -> None:
        super().__init__(name, url)
        self.vhost = url.path or "/"
        self.exchange = url.text("exchange", "")
        self.routing_key = url.text("routing_key")
        self.mandatory = url.flag("mandatory")
        kind = url.text("exchange_type")
        try:
            self.exchange_type = None if kind is None else ExchangeType(kind)
        except ValueError:
            known = ", ".join(t.value for t in ExchangeType)
            raise TargetURLError(f"exchange_type must be one of {known}") from None
        if self.exchange_type is not None and not self.exchange:
            raise TargetURLError("exchange_type needs ?exchange=NAME")

    async def _connect(self) -> _Conn:
        url = self.url
        connection = await aio_pika.connect(
            host=url.host,
            port=url.port,
            login=url.username or "guest",
            password=url.password or "guest",
            virtualhost=self.vhost,
            ssl=url.tls,
            ssl_context=url.ssl_context() if url.tls else None,
            timeout=self.timeout,
            client_properties={"connection_name": f"kloudvault:{self.name}"},
        )
        try:
            # on_return_raises: with mandatory=1, an unroutable message fails its publish.
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            exchange: AbstractExchange
            if not self.exchange:
                exchange = channel.default_exchange
            elif self.exchange_type is not None:
                exchange = await channel.declare_exchange(
                    self.exchange, self.exchange_type, durable=True, timeout=self.timeout
                )
            else:
                # A passive declare: fails (404) at start-up if the exchange is missing.
                exchange = await channel.get_exchange(self.exchange, ensure=True)
        except BaseException:
            self._abandon(connection.close)
            raise
        return _Conn(connection, channel, exchange)

    async def _publish(self, conn: _Conn, message: Message) -> None:
        try:
            await self._publish_on(conn, message)
        except (
            aiormq.exceptions.AMQPConnectionError,
            aiormq.exceptions.ChannelInvalidStateError,
        ) as exc:
            # The connection was gone (a broker restart aiormq had not noticed yet): publish
            # again on a new one. Had the broker taken the message already, the consumer gets
            # it twice, with one message_id: at least once allows that, and never loses it.
            raise ConnectionLost() from exc

    async def _publish_on(self, conn: _Conn, message: Message) -> None:
        await conn.exchange.publish(
            aio_pika.Message(
                message.body,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message.event_id,
                type=message.event_name,
            ),
            routing_key=self.routing_key or message.event_name,
            mandatory=self.mandatory,
            timeout=self.timeout,
        )

    async def _disconnect(self, conn: _Conn) -> None:
        await conn.connection.close()

    def _alive(self, conn: _Conn) -> bool:
        return not (conn.connection.is_closed or conn.channel.is_closed)


def from_url(name: str, url: str) -> Target:
    """An AmqpTarget for `url`; raises TargetURLError (a ValueError) if it is not valid."""
    return AmqpTarget(name, TargetURL.parse(url, default_ports=DEFAULT_PORTS, options=OPTIONS))
