"""Resolve the servers a command runs on: configured ones, or embedded defaults."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.rows import TupleRow
from pydantic import SecretStr

from envmon.runtime.embedded import (
    Broker,
    embedded_postgres,
    embedded_timescaledb,
    start_broker,
)
from ingest.backoff import Backoff
from ingest.registry import Registry, load_registry, sync_registry
from ingest.settings import Settings
from ingest.storage import timescale
from ingest.storage.errors import is_transient
from ingest.storage.migrate import connect, migrate
from ingest.storage.retention import reconcile as retention_reconcile
from services.storage import MIGRATIONS as SERVICE_MIGRATIONS

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db_url: str
    registry: Registry
    flavour: str
    broker: Broker | None = None

    @property
    def embedded_broker(self) -> bool:
        return self.broker is not None


def prepare_database(
    settings: Settings, db_url: str, *, wait: threading.Event | None = None
) -> tuple[Registry, str]:
    """Migrate the schema and load the registry.

    An absent server is one clear error, or, given ``wait``, a log line per attempt and
    a retry with capped backoff until it answers (or ``wait`` is set: stop asked).
    """
    schema = settings.database.schema_name
    backoff = Backoff(0.5, 15.0)
    while True:
        try:
            done = migrate(db_url, schema, settings.database.timescaledb, SERVICE_MIGRATIONS)
            break
        except psycopg.Error as exc:
            if not is_transient(exc):
                raise
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if wait is None:
                raise SystemExit(
                    f"cannot reach PostgreSQL ({reason}); check ENVMON_DATABASE_URL"
                ) from None
            delay = backoff.next()
            log.warning("PostgreSQL not reachable (%s); retrying in %.1f s", reason, delay)
            if wait.wait(delay):
                raise SystemExit(0) from None
    registry = load_registry()
    with connect(db_url, schema) as conn:
        sync_registry(conn, registry)
        storage_checks(conn, str(done["flavour"]), settings.database.raw_retention_days)
        conn.commit()
    log.info(
        "database ready: schema %s, %s, migrations applied now %s",
        schema,
        done["flavour"],
        done["applied"],
    )
    return registry, str(done["flavour"])


def storage_checks(conn: psycopg.Connection[TupleRow], flavour: str, retention: int | None) -> None:
    """At start: the retention setting applied, and on TimescaleDB the background workers
    its policy jobs need compared with the server's (a warning with the numbers to set)."""
    retention_reconcile(conn, flavour, retention)
    if flavour != "timescaledb":
        return
    needs = timescale.workers(conn)
    if needs.short:
        log.warning("%s", needs.advice())
    where = timescale.status(conn).installed_in
    row = conn.execute("SELECT current_schema()").fetchone()
    if row is not None and where == row[0]:
        log.warning(
            "the timescaledb extension was created inside this schema (%s) by an earlier"
            " release: DROP SCHEMA %s CASCADE would drop TimescaleDB and every other"
            " schema's hypertables with it. It cannot be moved in place: dump the"
            " database, create the extension in public in a new one, and restore",
            where,
            where,
        )


def local_secret(path: Path) -> str:
    """The embedded run's acknowledge-link secret: made once, kept beside its database
    (readable by its owner only), so links in messages survive a restart."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip()


@contextlib.contextmanager
def servers(settings: Settings, data_dir: Path) -> Iterator[Runtime]:
    """Embedded PostgreSQL and broker for whatever is not configured."""
    with contextlib.ExitStack() as stack:
        if settings.database.url is not None:
            db_url = settings.database.url.get_secret_value()
        else:
            db_url = stack.enter_context(embedded_postgres(data_dir / "postgres"))
            log.info("embedded PostgreSQL in %s", data_dir / "postgres")
            if settings.database.timescaledb == "auto":
                # The embedded server is plain PostgreSQL; a TimescaleDB built into it for
                # the tests is not preloaded here, and need not be warned about.
                database = settings.database.model_copy(update={"timescaledb": "off"})
                settings = settings.model_copy(update={"database": database})
            if settings.console.link_secret is None:
                console = settings.console.model_copy(
                    update={"link_secret": SecretStr(local_secret(data_dir / "console-link.key"))}
                )
                settings = settings.model_copy(update={"console": console})
        broker: Broker | None = None
        if settings.mqtt.url is None:
            broker = start_broker(data_dir, prefer=settings.mqtt.embedded)
            stack.callback(broker.stop)
            mqtt = settings.mqtt.model_copy(
                update={
                    "url": broker.url,
                    "protocol": broker.protocol,
                    # amqtt has no shared subscriptions
                    "shared_group": settings.mqtt.shared_group if broker.protocol == 5 else None,
                }
            )
            settings = settings.model_copy(update={"mqtt": mqtt})
        registry, flavour = prepare_database(settings, db_url)
        yield Runtime(settings, db_url, registry, flavour, broker)


@contextlib.contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The configured database, or an embedded one for the length of the command."""
    if settings.database.url is not None:
        yield settings.database.url.get_secret_value()
        return
    with (
        tempfile.TemporaryDirectory(prefix="envmon-") as tmp,
        embedded_postgres(Path(tmp) / "postgres") as url,
    ):
        yield url


STORAGE_MODES = {"postgresql": "off", "timescaledb": "require"}


@contextlib.contextmanager
def storage_database(settings: Settings, storage: str, data_dir: Path) -> Iterator[Settings]:
    """For a benchmark: the configured database, or an embedded one (TimescaleDB when
    ``storage`` asks for it: built into the embedded PostgreSQL by
    tools/build-timescaledb.sh), with the storage setting made to match ``storage``."""
    database = settings.database.model_copy(update={"timescaledb": STORAGE_MODES[storage]})
    if settings.database.url is not None:
        yield settings.model_copy(update={"database": database})
        return
    start = embedded_timescaledb if storage == "timescaledb" else embedded_postgres
    with start(data_dir / storage) as url:
        database = database.model_copy(update={"url": SecretStr(url)})
        yield settings.model_copy(update={"database": database})
