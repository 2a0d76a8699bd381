"""Loss made visible: each device's sequence numbers, per message kind, watched for gaps.

A device counts its messages of a kind up by one (``seq``); a jump means messages that
never arrived. In the batch's transaction, after the rows are stored, each device's new
rows are laid after its watermark (``seq_watch``: its newest time and seq) and every jump
is recorded in ``seq_gap`` (device, the missing seq range, the messages either side, when
found). A lower seq at a later time is a device that restarted its count, not loss. A row
that arrives later inside a recorded gap — a logger's buffer, a message another collector
had — counts as recovered. The watermark rows are locked in device order, as
``device_latest``'s are, so collectors sharing a device's stream see its order.

Not watched: kinds whose seq does not count messages (events), and devices that report
over HJ 212 (their gateway finds and re-requests missing periods by the data time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from psycopg import sql
from psycopg.rows import TupleRow

from ingest.feeds import Kind

if TYPE_CHECKING:
    import psycopg


def count_recovered(cur: psycopg.Cursor[TupleRow], kind: Kind, stage: sql.Identifier) -> None:
    """Before the insert: staged rows that fall inside a recorded gap and are not stored
    yet fill it."""
    cur.execute(
        sql.SQL(
            "UPDATE seq_gap g SET recovered = least(g.to_seq - g.from_seq + 1, g.recovered + f.n)"
            " FROM (SELECT gp.id, count(DISTINCT s.ts) AS n FROM {stage} s"
            " JOIN seq_gap gp ON gp.table_name = %(t)s AND gp.device_id = s.device_id"
            " AND s.ts > gp.after_ts AND s.ts < gp.before_ts"
            " WHERE NOT EXISTS (SELECT 1 FROM {table} r"
            " WHERE r.device_id = s.device_id AND r.ts = s.ts)"
            " GROUP BY gp.id) f WHERE g.id = f.id"
        ).format(stage=stage, table=sql.Identifier(kind.table)),
        {"t": kind.table},
    )


def record_gaps(cur: psycopg.Cursor[TupleRow], kind: Kind, stage: sql.Identifier) -> int:
    """After the insert: the gaps the batch shows after each device's watermark, which
    then moves to the batch's newest row; returns the messages found missing."""
    params = {"t": kind.table, "feed": kind.feed}
    cur.execute(
        sql.SQL(
            "WITH w AS (SELECT device_id, last_ts, last_seq FROM seq_watch"
            " WHERE table_name = %(t)s AND device_id IN (SELECT device_id FROM {stage})"
            " ORDER BY device_id FOR UPDATE),"
            " fresh AS (SELECT s.device_id, s.ts, s.seq FROM {stage} s"
            " LEFT JOIN w USING (device_id) WHERE w.last_ts IS NULL OR s.ts > w.last_ts"
            " UNION ALL SELECT device_id, last_ts, last_seq FROM w),"
            " steps AS (SELECT device_id, ts, seq, lag(seq) OVER d AS prev_seq,"
            " lag(ts) OVER d AS prev_ts"
            " FROM (SELECT DISTINCT ON (device_id, ts) * FROM fresh ORDER BY device_id, ts) x"
            " WINDOW d AS (PARTITION BY device_id ORDER BY ts)),"
            " found AS (INSERT INTO seq_gap"
            " (table_name, device_id, feed, from_seq, to_seq, after_ts, before_ts)"
            " SELECT %(t)s, device_id, %(feed)s, prev_seq + 1, seq - 1, prev_ts, ts FROM steps"
            " WHERE seq > prev_seq + 1 AND device_id NOT IN"
            " (SELECT device_id FROM device WHERE attrs->>'transport' = 'hj212')"
            " ON CONFLICT DO NOTHING RETURNING to_seq - from_seq + 1 AS missing)"
            " SELECT coalesce(sum(missing), 0) FROM found"
        ).format(stage=stage),
        params,
    )
    row = cur.fetchone()
    cur.execute(
        sql.SQL(
            "INSERT INTO seq_watch (table_name, device_id, last_ts, last_seq)"
            " SELECT DISTINCT ON (device_id) %(t)s, device_id, ts, seq FROM {stage}"
            " ORDER BY device_id, ts DESC"
            " ON CONFLICT (table_name, device_id) DO UPDATE"
            " SET last_ts = excluded.last_ts, last_seq = excluded.last_seq"
            " WHERE excluded.last_ts > seq_watch.last_ts"
        ).format(stage=stage),
        params,
    )
    return int(row[0]) if row else 0
