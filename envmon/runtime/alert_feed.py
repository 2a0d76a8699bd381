"""The alerts this run fires, for the terminal of ``envmon up`` and ``envmon demo``."""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

from ingest.feeds import LOCAL_TZ
from ingest.storage.migrate import connect


class AlertFeed:
    """New firing transitions since the run began, one line each; ``first_alert`` is the
    first alert id of this run (for its summary)."""

    def __init__(self, db_url: str, schema: str) -> None:
        self._url, self._schema = db_url, schema
        self._conn: psycopg.Connection[TupleRow] | None = None
        row = (
            self._connection()
            .execute(
                "SELECT coalesce((SELECT max(id) FROM alert), 0),"
                " coalesce((SELECT max(id) FROM alert_event), 0)"
            )
            .fetchone()
        )
        assert row is not None
        self.first_alert, self._seen = int(row[0]) + 1, int(row[1])

    def _connection(self) -> psycopg.Connection[TupleRow]:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self._url, self._schema, autocommit=True)
        return self._conn

    def new(self) -> list[str]:
        try:
            rows = (
                self._connection()
                .execute(
                    "SELECT e.id, a.severity, a.rule_id, a.subject, e.at FROM alert_event e"
                    " JOIN alert a ON a.id = e.alert_id"
                    " WHERE e.id > %s AND e.transition = 'firing' ORDER BY e.id LIMIT 100",
                    (self._seen,),
                )
                .fetchall()
            )
        except psycopg.OperationalError:
            self.close()  # the database is away: the status line says so; try again later
            return []
        if rows:
            self._seen = int(rows[-1][0])
        return [
            f"alert  {sev:<8} {rule}  {subject}  (data time {at.astimezone(LOCAL_TZ):%m-%d %H:%M})"
            for _, sev, rule, subject, at in rows
        ]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
