"""The Kafka tests' fixtures (a real broker, started once per session)."""

from tests.integration.kafka_fixtures import Broker, kafka_broker, kafka_cluster

__all__ = ["Broker", "kafka_broker", "kafka_cluster"]
