"""Where event records go: webhook, NATS JetStream, RabbitMQ, MQTT, Redis Streams."""
