"""Collectors: MQTT in, batched idempotent commits out, acknowledgement after commit."""

from ingest.collector.decode import Accepted, Decoder, Rejected
from ingest.collector.inbound import Inbound
from ingest.collector.service import Collector
from ingest.collector.stats import StatsSnapshot
from ingest.collector.writer import BatchWriter

__all__ = [
    "Accepted",
    "BatchWriter",
    "Collector",
    "Decoder",
    "Inbound",
    "Rejected",
    "StatsSnapshot",
]
