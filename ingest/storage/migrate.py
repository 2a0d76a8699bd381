"""Ordered schema migrations, applied at start-up and recorded in ``schema_migration``."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from ingest.storage import rollups, timescale
from ingest.storage.errors import is_transient

log = logging.getLogger(__name__)

MIGRATE_LOCK = 0x656E766D6F6E00


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[psycopg.Connection[TupleRow], bool], None]
    checksum: str


def sql_migration(package: str, version: int, name: str, file: str) -> Migration:
    """A migration from ``<package>/migrations/<file>`` (other packages add their own,
    numbered from 100 so they never collide with ingest's)."""
    text = resources.files(package).joinpath("migrations", file).read_text("utf-8")

    def apply(conn: psycopg.Connection[TupleRow], _timescale: bool) -> None:
        conn.execute(text.encode())

    return Migration(version, name, apply, hashlib.sha256(text.encode()).hexdigest()[:16])


# The first migration that differs between the flavours: its row records the flavour.
FLAVOUR_VERSION = 4


def _rollups(conn: psycopg.Connection[TupleRow], use_timescale: bool) -> None:
    if use_timescale:
        try:
            with conn.transaction():  # a savepoint: the error below keeps its cause
                timescale.install(conn)
        except (psycopg.Error, timescale.TimescaleSetupError) as exc:
            if isinstance(exc, psycopg.Error) and is_transient(exc):
                raise  # the server went away or a lock timed out: the caller retries
            raise MigrationError(
                f"TimescaleDB setup failed ({type(exc).__name__}: {str(exc).strip()});"
                " nothing of it was kept: fix the server and start again, or set"
                " ENVMON_DATABASE__TIMESCALEDB=off to use plain PostgreSQL"
            ) from exc
    else:
        rollups.create_plain_tables(conn)


def _rollup_policies(conn: psycopg.Connection[TupleRow], use_timescale: bool) -> None:
    """Late data on TimescaleDB too: the pending log, and policies over all history."""
    if use_timescale:
        rollups.create_pending_log(conn)
        timescale.upgrade_policies(conn)


def _migrations() -> list[Migration]:
    out = [
        sql_migration("ingest.storage", version, name, file)
        for version, name, file in (
            (1, "registry", "0001_registry.sql"),
            (2, "dead_letter", "0002_dead_letter.sql"),
            (3, "feed_tables", "0003_feeds.sql"),
        )
    ]
    out.append(Migration(4, "rollups", _rollups, "code:rollups-v1"))
    out.append(sql_migration("ingest.storage", 5, "device_latest", "0005_device_latest.sql"))
    out.append(sql_migration("ingest.storage", 6, "dead_letter_ts", "0006_dead_letter_ts.sql"))
    out.append(sql_migration("ingest.storage", 7, "loop_health", "0007_loop_health.sql"))
    out.append(Migration(8, "rollup_policies", _rollup_policies, "code:rollup-policies-v2"))
    out.append(sql_migration("ingest.storage", 20, "data_flags", "0020_data_flags.sql"))
    out.append(sql_migration("ingest.storage", 21, "seq_gaps", "0021_seq_gaps.sql"))
    out.append(sql_migration("ingest.storage", 22, "broker_accounts", "0022_broker_accounts.sql"))
    return out


MIGRATIONS = _migrations()


def connect(url: str, schema: str, *, autocommit: bool = False) -> psycopg.Connection[TupleRow]:
    """A connection whose search_path is the project's schema."""
    return psycopg.connect(url, autocommit=autocommit, options=f"-c search_path={schema}")


def migrate(
    url: str, schema: str, timescale_mode: str = "auto", extra: Sequence[Migration] = ()
) -> dict[str, object]:
    """Apply pending migrations (ingest's, then ``extra``) in order; returns what was done
    and the storage flavour."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
        try:
            return _migrate_locked(conn, timescale_mode, [*MIGRATIONS, *extra])
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK,))


def _migrate_locked(
    conn: psycopg.Connection[TupleRow], timescale_mode: str, migrations: Sequence[Migration]
) -> dict[str, object]:
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migration (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            checksum   text NOT NULL,
            flavour    text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    done = {
        v: (c, f)
        for v, c, f in conn.execute("SELECT version, checksum, flavour FROM schema_migration")
    }
    flavour = _choose_flavour(conn, timescale_mode, done)
    applied = []
    for m in migrations:
        if m.version in done:
            if done[m.version][0] != m.checksum:
                raise MigrationError(
                    f"migration {m.version} ({m.name}) was changed after it was applied;"
                    " add a new migration instead of editing an applied one"
                )
            continue
        with conn.transaction():
            m.apply(conn, flavour == "timescaledb")
            conn.execute(
                "INSERT INTO schema_migration (version, name, checksum, flavour)"
                " VALUES (%s, %s, %s, %s)",
                (m.version, m.name, m.checksum, flavour),
            )
        log.info("applied migration %d %s", m.version, m.name)
        applied.append(m.version)
    return {"applied": applied, "flavour": flavour}


def _choose_flavour(
    conn: psycopg.Connection[TupleRow], mode: str, done: dict[int, tuple[str, str]]
) -> str:
    if FLAVOUR_VERSION in done:  # a database keeps the flavour its rollups were made for
        return done[FLAVOUR_VERSION][1]
    if mode == "off":
        return "postgresql"
    st = timescale.status(conn)
    if st.available and st.preloaded:
        return "timescaledb"
    if st.available:
        if mode == "require":
            raise MigrationError(timescale.not_preloaded_message(st))
        log.warning("using plain PostgreSQL: %s", timescale.not_preloaded_message(st))
        return "postgresql"
    if mode == "require":
        raise MigrationError(
            "ENVMON_DATABASE__TIMESCALEDB=require but the timescaledb extension is not"
            " available on this server"
        )
    return "postgresql"


def flavour(conn: psycopg.Connection[TupleRow]) -> str:
    """The storage flavour, recorded with the migration that set up the rollups."""
    row = conn.execute(
        "SELECT flavour FROM schema_migration WHERE version = %s", (FLAVOUR_VERSION,)
    ).fetchone()
    return str(row[0]) if row else "postgresql"
