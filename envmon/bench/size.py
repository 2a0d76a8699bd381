"""How much disk the feed tables of a fill take, raw and (on TimescaleDB) compressed."""

from __future__ import annotations

import logging

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from ingest.feeds import KINDS
from ingest.storage.migrate import flavour

log = logging.getLogger(__name__)
MB = 1024 * 1024


def feed_bytes(conn: psycopg.Connection[TupleRow]) -> int:
    """Tables, indexes and TOAST of every feed table (a hypertable's with its chunks)."""
    total = 0
    timescale = flavour(conn) == "timescaledb"
    for k in KINDS:
        query = (
            "SELECT public.hypertable_size(%s::regclass)"
            if timescale
            else "SELECT pg_total_relation_size(%s::regclass)"
        )
        row = conn.execute(query.encode(), (k.table,)).fetchone()
        total += int(row[0] or 0) if row else 0
    return total


def sizes(conn: psycopg.Connection[TupleRow]) -> dict[str, float]:
    """The feed tables' size in MB; on TimescaleDB also after compressing every chunk
    (what the compression policy does to chunks older than 7 days)."""
    out = {"raw_mb": round(feed_bytes(conn) / MB, 1)}
    if flavour(conn) == "timescaledb":
        log.info("compressing every chunk to measure the compressed size ...")
        for k in KINDS:
            conn.execute(
                sql.SQL(
                    "SELECT count(public.compress_chunk(c, if_not_compressed => true))"
                    " FROM public.show_chunks({}) c"
                ).format(sql.Literal(k.table))
            )
            conn.commit()
        out["compressed_mb"] = round(feed_bytes(conn) / MB, 1)
    return out
