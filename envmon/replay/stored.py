"""Simulated traffic stored by ingest's own decoder and writer, without a broker."""

from __future__ import annotations

from datetime import datetime

from ingest.collector.decode import Decoder
from ingest.collector.inbound import Inbound
from ingest.collector.writer import BatchWriter
from ingest.registry import Registry, sync_registry
from ingest.registry.store import device_types
from ingest.storage.migrate import connect
from simulators import DistrictSimulator


class StoredReplay:
    """A simulated stream decoded and stored by ingest's own decoder and writer, one
    stretch of time at a time (no broker: as fast as the database takes it)."""

    def __init__(
        self, db_url: str, schema: str, registry: Registry, sim: DistrictSimulator
    ) -> None:
        self.sim = sim
        self.messages = 0
        self._writer = BatchWriter(db_url, schema)
        with connect(db_url, schema) as conn:
            sync_registry(conn, registry)
            self._decoder = Decoder(device_types(conn))

    def store(self, t0: datetime, t1: datetime) -> int:
        """Store every message sent in ``[t0, t1)``; returns how many."""
        batch = []
        for m in self.sim.messages(t0, t1):
            topic = m.topic.encode()
            batch.append(
                Inbound(topic, m.payload, 0, 1, m.ts, self._decoder.decode(topic, m.payload, m.ts))
            )
        if batch:
            self._writer.write(batch)
        self.messages += len(batch)
        return len(batch)

    def close(self) -> None:
        self._writer.close()
