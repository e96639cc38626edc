"""MQTT target: publish each record at QoS 1 and wait for the broker's PUBACK.

URL: ``mqtt://[user:password@]host[:1883]?topic=T[&retain=1]``, or ``mqtts://`` (TLS, port
8883, ``ca_file``: see events/targets/url.py)

- ``topic`` (required): the topic every record is published on (MQTT 3.1.1).
- ``retain=1``: publish retained, so a subscriber arriving later gets the last record.

QoS 1 is "at least once": the broker answers each PUBLISH with a PUBACK once it has taken
responsibility for the message (MQTT 3.1.1, 4.3.2). The session is clean and the client id
random per connection: messages are not kept by the client across connections (the outbox
is the buffer), and two gateways never take each other's session over.
"""

from __future__ import annotations

import asyncio
import secrets

import aiomqtt
import paho.mqtt.client as paho

from events.targets.base import Message, Target
from events.targets.broker import BrokerTarget, ConnectionLost
from events.targets.url import TargetURL

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
OPTIONS = ("topic", "retain")


class MqttTarget(BrokerTarget[aiomqtt.Client]):
    errors = (aiomqtt.MqttError, OSError)

    def __init__(self, name: str, url: TargetURL) -> None:
        super().__init__(name, url)
        self.topic = url.required("topic")
        self.retain = url.flag("retain")

    async def _connect(self) -> aiomqtt.Client:
        client = aiomqtt.Client(
            self.url.host,
            self.url.port,
            username=self.url.username,
            password=self.url.password,
            identifier=f"kloudvault-{secrets.token_hex(6)}",
            clean_session=True,
            timeout=self.timeout,
            tls_context=self.url.ssl_context() if self.url.tls else None,
        )
        try:
            await client.__aenter__()
        except asyncio.CancelledError:
            # The send's deadline struck while aiomqtt (2.5) waited for CONNACK, cancelling
            # its `_connected` future; its disconnect callback would later raise that
            # CancelledError into the event loop. A fresh future is what aiomqtt itself
            # installs after a connect that failed on its own timeout.
            client._connected = asyncio.get_running_loop().create_future()
            self._abandon(lambda: client.__aexit__(None, None, None))
            raise
        except BaseException:
            self._abandon(lambda: client.__aexit__(None, None, None))
            raise
        return client

    async def _publish(self, conn: aiomqtt.Client, message: Message) -> None:
        try:
            await conn.publish(
                self.topic, message.body, qos=1, retain=self.retain, timeout=self.timeout
            )
        except aiomqtt.MqttCodeError as exc:
            # aiomqtt has no public "connected" state; paho refuses the publish outright
            # (nothing sent) when it already saw the connection close, e.g. a broker restart.
            if exc.rc == paho.MQTT_ERR_NO_CONN:
                raise ConnectionLost() from exc
            raise

    async def _disconnect(self, conn: aiomqtt.Client) -> None:
        await conn.__aexit__(None, None, None)


def from_url(name: str, url: str) -> Target:
    """An MqttTarget for `url`; raises TargetURLError (a ValueError) if it is not valid."""
    return MqttTarget(name, TargetURL.parse(url, default_ports=DEFAULT_PORTS, options=OPTIONS))
