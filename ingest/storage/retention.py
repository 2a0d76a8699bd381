"""Retention of raw rows: one setting (``ENVMON_DATABASE__RAW_RETENTION_DAYS``), honoured by
both flavours; unset (the default) keeps every row — a regulator's monitoring data must
not vanish unless someone chose so. The hourly and daily rollups are kept either way.

TimescaleDB drops whole chunks through its retention policy, reconciled with the setting
at every start; plain PostgreSQL deletes the old rows in the collector's maintainer.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from ingest.feeds import KINDS
from ingest.storage import timescale
from ingest.storage.migrate import MIGRATE_LOCK

log = logging.getLogger(__name__)
DELETE_BATCH = 50_000


def reconcile(conn: psycopg.Connection[TupleRow], flavour: str, days: int | None) -> None:
    """TimescaleDB: the retention policy of every feed table made to match ``days`` (in
    the caller's transaction, under the migration lock: services starting together do
    it once), and the aggregates' policies kept off the time whose raw rows are dropped."""
    if flavour != "timescaledb":
        return
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
    want = None if days is None else timedelta(days=days)
    have = {
        str(table): drop_after
        for table, drop_after in conn.execute(
            "SELECT hypertable_name, (config->>'drop_after')::interval"
            " FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention'"
            " AND hypertable_schema = current_schema()"
        ).fetchall()
    }
    if all(have.get(k.table) == want for k in KINDS):
        return
    ext = timescale.extension_schema(conn)
    timescale.set_policies(conn, ext, days)
    for k in KINDS:
        table = sql.Literal(k.table)
        conn.execute(
            sql.SQL("SELECT {}.remove_retention_policy({}, if_exists => true)").format(
                sql.Identifier(ext), table
            )
        )
        if days is not None:
            conn.execute(
                sql.SQL("SELECT {}.add_retention_policy({}, make_interval(days => %s))").format(
                    sql.Identifier(ext), table
                ),
                (days,),
            )
    if days is not None:
        log.info("raw rows older than %d days are dropped (TimescaleDB retention policy)", days)


def prune(conn: psycopg.Connection[TupleRow], days: int, now: datetime) -> int:
    """Plain PostgreSQL: delete raw rows older than ``days`` (in batches); returns how many."""
    cutoff = now - timedelta(days=days)
    removed = 0
    for k in KINDS:
        while True:
            cur = conn.execute(
                sql.SQL(
                    "DELETE FROM {t} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {t}"
                    " WHERE ts < %s LIMIT %s))"
                ).format(t=sql.Identifier(k.table)),
                (cutoff, DELETE_BATCH),
            )
            conn.commit()
            removed += cur.rowcount
            if cur.rowcount < DELETE_BATCH:
                break
    if removed:
        log.info("deleted %d raw rows older than %d days", removed, days)
    return removed
