"""The servers a benchmark runs on: a database (the configured one or embedded, in the
flavour asked) with a fresh schema, migrated and with the registry, and a broker (the
configured one or an embedded Mosquitto) with topics of its own; both cleaned up after."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from envmon.runtime.embedded import Broker, start_broker
from envmon.runtime.servers import prepare_database, storage_database
from ingest.settings import Settings


@dataclass(frozen=True)
class BenchServers:
    settings: Settings  # with the broker's URL, the bench's topic root and schema
    db_url: str
    tmp: Path
    broker: Broker | None  # None: the configured one


@contextlib.contextmanager
def bench_servers(settings: Settings, storage: str, prefix: str) -> Iterator[BenchServers]:
    with (
        tempfile.TemporaryDirectory(prefix=prefix) as tmp,
        storage_database(settings, storage, Path(tmp)) as chosen,
    ):
        assert chosen.database.url is not None
        db_url = chosen.database.url.get_secret_value()
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        broker = None
        mqtt = chosen.mqtt
        if mqtt.url is None:
            broker = start_broker(Path(tmp), prefer="mosquitto")
            mqtt = mqtt.model_copy(update={"url": broker.url, "protocol": broker.protocol})
        ready = chosen.model_copy(
            update={
                "mqtt": mqtt.model_copy(update={"topic_root": f"bench{uuid.uuid4().hex[:6]}"}),
                "database": chosen.database.model_copy(update={"schema_name": schema}),
            }
        )
        try:
            prepare_database(ready, db_url)
            yield BenchServers(ready, db_url, Path(tmp), broker)
        finally:
            if broker is not None:
                broker.stop()
            with psycopg.connect(db_url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )
