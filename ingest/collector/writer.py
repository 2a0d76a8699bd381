"""Batched, idempotent writes: COPY into a staging table, then insert what is new.

One transaction per batch holds the feed rows, the dead letters, each device's newest
measurement time (``device_latest``) and the rollup bookkeeping, so a batch is either
wholly stored or not at all — and is only acknowledged to the broker afterwards.
``ON CONFLICT DO NOTHING`` on (device_id, ts) turns a redelivered message into a counted
duplicate.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg import errors, sql
from psycopg.rows import TupleRow

from ingest.collector.conflicts import conflicts
from ingest.collector.decode import Accepted, Rejected
from ingest.collector.gaps import count_recovered, record_gaps
from ingest.collector.inbound import Inbound
from ingest.feeds import KINDS, Kind
from ingest.reasons import Reason
from ingest.storage.errors import is_data_error
from ingest.storage.migrate import flavour
from ingest.storage.rollups import record_pending

log = logging.getLogger(__name__)

_COPY_TYPES = {"double precision": "float8", "bigint": "int8", "boolean": "bool"}
_ENVELOPE_TYPES = ["text", "timestamptz", "int8", "timestamptz"]


@dataclass
class BatchOutcome:
    stored: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)
    dead_lettered: Counter[str] = field(default_factory=Counter)
    missing: Counter[str] = field(default_factory=Counter)  # found by seq gaps, per feed


def stage_name(kind: Kind) -> sql.Identifier:
    return sql.Identifier("pg_temp", f"stage_{kind.table}")


def copy_types(kind: Kind, *, flags: bool = False) -> list[str]:
    types = _ENVELOPE_TYPES + [_COPY_TYPES.get(t, t) for t in kind.sql_types]
    return [*types, "jsonb"] if flags else types


def copy_columns(kind: Kind, *, flags: bool = False) -> sql.Composed:
    """The columns a row is copied into; ``flags`` (the data flags, jsonb) last, as in the
    table, or not at all (then NULL: every measure valid)."""
    names = ("device_id", "ts", "seq", "received_at", *kind.columns, *(("flags",) if flags else ()))
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


class BatchWriter:
    """Owns one connection; ``write`` stores a batch in one transaction."""

    def __init__(self, url: str, schema: str, *, connect_timeout: float = 5.0) -> None:
        self._url = url
        self._schema = schema
        self._connect_timeout = connect_timeout
        self._conn: psycopg.Connection[TupleRow] | None = None
        self.flavour = "postgresql"  # known once connected

    def connect(self) -> None:
        self.close()
        conn: psycopg.Connection[TupleRow] = psycopg.connect(
            self._url,
            options=f"-c search_path={self._schema}",
            connect_timeout=max(1, int(self._connect_timeout)),
        )
        with conn.transaction():
            # Plain PostgreSQL: the service keeps the rollups, so each batch records what
            # it touched. TimescaleDB's continuous aggregates track that themselves.
            self.flavour = flavour(conn)
            for kind in KINDS:
                conn.execute(
                    sql.SQL(
                        "CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {}) ON COMMIT DELETE ROWS"
                    ).format(stage_name(kind), sql.Identifier(kind.table))
                )
        self._conn = conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def write(self, batch: Sequence[Inbound]) -> BatchOutcome:
        """Store a batch; raises psycopg.Error when the database fails (nothing stored).

        A batch the database refuses for its data is stored row by row, the refused rows
        dead-lettered; any other error (connection, schema) is the caller's to classify."""
        if self._conn is None or self._conn.closed:
            self.connect()
        assert self._conn is not None
        try:
            return self._write(self._conn, batch, per_row=False)
        except psycopg.Error as exc:
            if not is_data_error(exc):
                raise
            log.warning("batch refused by the database (%s); storing row by row", exc.sqlstate)
            return self._write(self._conn, batch, per_row=True)

    def _write(
        self, conn: psycopg.Connection[TupleRow], batch: Sequence[Inbound], *, per_row: bool
    ) -> BatchOutcome:
        out = BatchOutcome()
        by_kind: dict[Kind, list[Inbound]] = {}
        dead: list[tuple[Inbound, Rejected]] = []
        for item in batch:
            r = item.result
            if isinstance(r, Accepted):
                by_kind.setdefault(r.kind, []).append(item)
            else:
                dead.append((item, r))
        with conn.transaction(), conn.cursor() as cur:
            for kind, items in by_kind.items():
                refused_before = len(dead)
                if per_row:
                    stored = self._insert_row_by_row(cur, kind, items, dead, out.missing)
                else:
                    stored = self._insert(cur, kind, items, dead, out.missing)
                out.stored[kind.feed] += stored
                out.duplicates[kind.feed] += len(items) - stored - (len(dead) - refused_before)
            if dead:
                self._dead_letter(cur, dead)
                for _, rej in dead:
                    out.dead_lettered[rej.feed or "unknown"] += 1
        return out

    def _insert(
        self,
        cur: psycopg.Cursor[TupleRow],
        kind: Kind,
        items: list[Inbound],
        dead: list[tuple[Inbound, Rejected]],
        missing: Counter[str],
        *,
        clear: bool = False,
    ) -> int:
        stage = stage_name(kind)
        columns = copy_columns(kind, flags=True)
        with cur.copy(
            sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(stage, columns)
        ) as copy:
            copy.set_types(copy_types(kind, flags=True))
            for item in items:
                a = item.result
                assert isinstance(a, Accepted)
                copy.write_row((a.device_id, a.ts, a.seq, item.received_at, *a.values, a.flags))
        if kind.counted:
            count_recovered(cur, kind, stage)
        cur.execute(
            sql.SQL(
                "INSERT INTO {} SELECT * FROM {} ON CONFLICT (device_id, ts) DO NOTHING"
            ).format(sql.Identifier(kind.table), stage)
        )
        stored = cur.rowcount
        if stored and kind.counted:
            missing[kind.feed] += record_gaps(cur, kind, stage)
        if stored:
            # Ordered by device so concurrent collectors lock these rows in the same order.
            cur.execute(
                sql.SQL(
                    "INSERT INTO device_latest (table_name, device_id, ts, received_at)"
                    " SELECT %s, device_id, max(ts), max(received_at) FROM {}"
                    " GROUP BY device_id ORDER BY device_id"
                    " ON CONFLICT (table_name, device_id) DO UPDATE"
                    " SET ts = excluded.ts, received_at = excluded.received_at"
                    " WHERE excluded.ts > device_latest.ts"
                ).format(stage),
                (kind.table,),
            )
        if stored:
            stamps = [i.result.ts for i in items if isinstance(i.result, Accepted)]
            record_pending(cur, kind.table, min(stamps), max(stamps))
        if stored < len(items):
            dead += conflicts(cur, kind, stage, items)
        if clear:  # several inserts in one transaction (row by row): empty the stage
            cur.execute(sql.SQL("DELETE FROM {}").format(stage))
        return stored

    def _insert_row_by_row(
        self,
        cur: psycopg.Cursor[TupleRow],
        kind: Kind,
        items: list[Inbound],
        dead: list[tuple[Inbound, Rejected]],
        missing: Counter[str],
    ) -> int:
        stored = 0
        for item in items:
            a = item.result
            assert isinstance(a, Accepted)
            try:
                with cur.connection.transaction():
                    stored += self._insert(cur, kind, [item], dead, missing, clear=True)
            except errors.Error as exc:
                if not is_data_error(exc):
                    raise
                dead.append(
                    (item, Rejected(Reason.DB_REJECTED, str(exc)[:300], a.device_id, kind.feed))
                )
        return stored

    def _dead_letter(
        self, cur: psycopg.Cursor[TupleRow], dead: list[tuple[Inbound, Rejected]]
    ) -> None:
        with cur.copy(
            "COPY dead_letter (received_at, topic, payload, reason, detail, device_id, feed,"
            " device_ts) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(
                ["timestamptz", "text", "bytea", "text", "text", "text", "text", "timestamptz"]
            )
            for item, rej in dead:
                topic = item.topic.decode("utf-8", "replace").replace("\x00", "\ufffd")
                copy.write_row(
                    (
                        item.received_at,
                        topic,
                        item.payload if rej.raw is None else rej.raw,
                        str(rej.reason),
                        rej.detail.replace("\x00", "\ufffd"),
                        rej.device_id,
                        rej.feed,
                        rej.ts,
                    )
                )
