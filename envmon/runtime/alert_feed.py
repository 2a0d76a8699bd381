"""The alerts this run fires, for the terminal of ``envmon up`` and ``envmon demo``."""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

from ingest.feeds import LOCAL_TZ
from ingest.storage.migrate import connect
from services.notify import AckLinks


class AlertFeed:
    """New firing transitions since the run began, one line each; ``first_alert`` is the
    first alert id of this run (for its summary). With ``links``, each line is followed by
    the acknowledge link of the alert's first notification: the terminal stands in for the
    message a receiver with a channel would get."""

    def __init__(self, db_url: str, schema: str, links: AckLinks | None = None) -> None:
        self._url, self._schema, self._links = db_url, schema, links
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
                    "SELECT e.id, a.severity, a.rule_id, a.subject, e.at, n.id, n.receiver,"
                    " n.created_at, a.id FROM alert_event e JOIN alert a ON a.id = e.alert_id"
                    " LEFT JOIN LATERAL (SELECT id, receiver, created_at FROM notification"
                    "  WHERE event_id = e.id ORDER BY id LIMIT 1) n ON true"
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
        out = []
        for _, sev, rule, subject, at, nid, receiver, queued, alert in rows:
            local = at.astimezone(LOCAL_TZ)
            out.append(f"alert  {sev:<8} {rule}  {subject}  (data time {local:%m-%d %H:%M})")
            if self._links is not None and nid is not None:
                url = self._links.url(nid, alert, receiver, queued)
                out.append(f"       acknowledge as {receiver}: {url}")
        return out

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
