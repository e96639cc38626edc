"""Each broker target's URL form: what `from_url` takes, refuses and shows in logs.

Delivery itself is tested against the real brokers in tests/contract/test_event_targets.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from aio_pika.abc import ExchangeType

from events.targets import amqp, mqtt, nats, redis_stream
from events.targets.base import TargetError
from events.targets.broker import BrokerTarget
from events.targets.url import TargetURLError


def attributes(target: object, *names: str) -> dict[str, Any]:
    return {name: getattr(target, name) for name in names}


def test_nats() -> None:
    target = nats.from_url("n", "nats://h?subject=s3.events&stream=S3&create_stream=1")
    assert isinstance(target, nats.NatsTarget)
    assert attributes(target, "name", "subject", "stream", "create_stream", "timeout") == {
        "name": "n",
        "subject": "s3.events",
        "stream": "S3",
        "create_stream": True,
        "timeout": 5.0,
    }
    assert target.url.port == 4222
    assert target.describe() == "n (nats://h:4222?subject=s3.events&stream=S3&create_stream=1)"


def test_nats_token_is_a_secret() -> None:
    target = nats.from_url("n", "nats://s3cr3t-token@h:4333?subject=s")
    assert isinstance(target, nats.NatsTarget)
    assert (target.url.username, target.url.password) == (None, "s3cr3t-token")
    assert "s3cr3t" not in target.describe() and "s3cr3t" not in repr(target)


def test_amqp() -> None:
    target = amqp.from_url("a", "amqp://u:pw@h/?exchange=events&exchange_type=topic")
    assert isinstance(target, amqp.AmqpTarget)
    assert attributes(target, "vhost", "exchange", "exchange_type", "routing_key") == {
        "vhost": "/",
        "exchange": "events",
        "exchange_type": ExchangeType.TOPIC,
        "routing_key": None,  # each record's event name
    }
    assert target.mandatory is False
    assert target.describe() == "a (amqp://u:***@h:5672?exchange=events&exchange_type=topic)"


def test_amqp_vhost_and_defaults() -> None:
    target = amqp.from_url("a", "amqp://h:5673/prod%2Feu?routing_key=k&mandatory=1")
    assert isinstance(target, amqp.AmqpTarget)
    assert attributes(target, "vhost", "exchange", "exchange_type", "routing_key") == {
        "vhost": "prod/eu",
        "exchange": "",  # the default exchange: the routing key names a queue
        "exchange_type": None,
        "routing_key": "k",
    }
    assert target.mandatory is True
    assert amqp.from_url("a", "amqp://h/%2F").vhost == "/"  # type: ignore[attr-defined]


def test_mqtt() -> None:
    target = mqtt.from_url("m", "mqtt://u:pw@h?topic=kv/events&retain=1&timeout=2")
    assert isinstance(target, mqtt.MqttTarget)
    assert attributes(target, "topic", "retain", "timeout") == {
        "topic": "kv/events",
        "retain": True,
        "timeout": 2.0,
    }
    assert target.url.port == 1883
    assert "pw" not in target.describe()


def test_redis_stream() -> None:
    target = redis_stream.from_url("r", "redis://:pw@h/3?stream=kv:events&maxlen=500")
    assert isinstance(target, redis_stream.RedisStreamTarget)
    assert attributes(target, "stream", "maxlen", "db") == {
        "stream": "kv:events",
        "maxlen": 500,
        "db": 3,
    }
    assert target.describe() == "r (redis://:***@h:6379/3?stream=kv%3Aevents&maxlen=500)"
    defaults = redis_stream.from_url("r", "redis://h?stream=s")
    assert attributes(defaults, "maxlen", "db") == {"maxlen": redis_stream.DEFAULT_MAXLEN, "db": 0}


# (from_url, url, default port)
TLS = [
    (amqp.from_url, "amqps://h?exchange=e&ca_file=/etc/kv/ca.pem", 5671),
    (mqtt.from_url, "mqtts://h?topic=t&ca_file=/etc/kv/ca.pem", 8883),
    (redis_stream.from_url, "rediss://h?stream=s&ca_file=/etc/kv/ca.pem", 6379),
]


@pytest.mark.parametrize(("from_url", "url", "port"), TLS)
def test_tls_schemes(from_url: Any, url: str, port: int) -> None:
    target = from_url("t", url)
    assert isinstance(target, BrokerTarget)
    assert target.url.tls and target.url.port == port
    assert target.url.text("ca_file") == "/etc/kv/ca.pem"
    assert not amqp.from_url("t", "amqp://h").url.tls  # type: ignore[attr-defined]


# (from_url, url, a fragment of the error message)
REFUSED = [
    (nats.from_url, "nats://h", r"needs \?subject="),
    (nats.from_url, "nats://h?subject=s&create_stream=1", r"needs \?stream="),
    (nats.from_url, "tls://h?subject=s", "unsupported scheme"),
    (amqp.from_url, "amqp://h?exchange_type=topic", r"needs \?exchange="),
    (amqp.from_url, "amqp://h?exchange=e&exchange_type=ring", "exchange_type must be one of"),
    (amqp.from_url, "amqp://h?exchange=e&ca_file=/ca.pem", "ca_file is for TLS"),
    (amqp.from_url, "amqp://h?routingkey=k", "unknown option 'routingkey'"),
    (mqtt.from_url, "mqtt://h", r"needs \?topic="),
    (mqtt.from_url, "mqtt://h?topic=t&qos=2", "unknown option 'qos'"),
    (mqtt.from_url, "ws://h?topic=t", "unsupported scheme"),
    (redis_stream.from_url, "redis://h", r"needs \?stream="),
    (redis_stream.from_url, "redis://h/zero?stream=s", "database number"),
    (redis_stream.from_url, "redis://h?stream=s&maxlen=-5", "at least 0"),
]


@pytest.mark.parametrize(("from_url", "url", "message"), REFUSED)
def test_from_url_refuses(from_url: Any, url: str, message: str) -> None:
    with pytest.raises(TargetURLError, match=message) as info:
        from_url("t", url)
    # A dispatcher building the target on first use treats it as a failed delivery.
    assert isinstance(info.value, TargetError)
