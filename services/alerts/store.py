"""Alerts: one open alert per (rule, subject) and its history, in the caller's transaction.

The functions take plain data — which rule raised the alert about which subject, and what
it saw — so that alerts know nothing of rule files, evaluators or notifications.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import TupleRow

Conn = psycopg.Connection[TupleRow]
OPEN = ("pending", "firing", "acknowledged")


class AlertError(ValueError):
    """An operator action that does not apply (unknown alert, wrong state)."""

    def __init__(self, alert_id: int, reason: str) -> None:
        self.alert_id, self.reason = alert_id, reason
        super().__init__(f"alert {alert_id}: {reason}")


@dataclass(frozen=True)
class Origin:
    """What an alert is about: the rule that raised it and its subject."""

    rule_id: str
    feed: str
    severity: str
    subject: str
    name_zh: str
    name_en: str
    area: str | None


@dataclass(frozen=True)
class Seen:
    """What the rule saw over one window: the value and its evidence."""

    value: float | None
    start: datetime
    end: datetime
    evidence: Mapping[str, Any]  # the evaluator's, recorded on each history event
    # what the value was judged against (unit, standard, clause), stored on the alert
    basis: Mapping[str, Any] = field(default_factory=dict)

    def stored(self) -> str:
        return _json(
            {
                **self.evidence,
                "window": [self.start.isoformat(), self.end.isoformat()],
                **self.basis,
            }
        )


@dataclass(frozen=True)
class AlertEvent:
    """A recorded transition of an alert (a row of its history)."""

    alert_id: int
    event_id: int
    transition: str  # pending | firing | resolved | discarded
    fired_at: datetime | None  # None: the alert never fired


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _event(
    conn: Conn,
    alert_id: int,
    transition: str,
    at: datetime,
    detail: Mapping[str, Any],
    *,
    actor: str | None = None,
) -> int:
    row = conn.execute(
        "INSERT INTO alert_event (alert_id, transition, at, actor, detail)"
        " VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (alert_id, transition, at, actor, _json(detail)),
    ).fetchone()
    assert row is not None
    return int(row[0])


def open_alert(
    conn: Conn, origin: Origin, seen: Seen, since: datetime, state: Literal["pending", "firing"]
) -> AlertEvent:
    """A new alert, pending or already firing, whose breach began at ``since``."""
    fired_at = seen.end if state == "firing" else None
    row = conn.execute(
        "INSERT INTO alert (rule_id, subject, subject_name_zh, subject_name_en, area, feed,"
        " severity, state, value, evidence, window_start, window_end, started_at, fired_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            origin.rule_id,
            origin.subject,
            origin.name_zh,
            origin.name_en,
            origin.area,
            origin.feed,
            origin.severity,
            state,
            seen.value,
            seen.stored(),
            seen.start,
            seen.end,
            since,
            fired_at,
        ),
    ).fetchone()
    assert row is not None
    alert_id = int(row[0])
    event = _event(conn, alert_id, state, seen.end, seen.evidence)
    return AlertEvent(alert_id, event, state, fired_at)


def fire(conn: Conn, alert_id: int, seen: Seen) -> AlertEvent:
    """A pending alert has held long enough: it fires."""
    conn.execute(
        "UPDATE alert SET state = 'firing', fired_at = %s, value = %s, evidence = %s,"
        " window_start = %s, window_end = %s, updated_at = now() WHERE id = %s",
        (seen.end, seen.value, seen.stored(), seen.start, seen.end, alert_id),
    )
    event = _event(conn, alert_id, "firing", seen.end, seen.evidence)
    return AlertEvent(alert_id, event, "firing", seen.end)


def update(conn: Conn, alert_id: int, seen: Seen) -> None:
    """The breach goes on: the alert shows the latest value and evidence."""
    conn.execute(
        "UPDATE alert SET value = %s, evidence = %s, window_start = %s, window_end = %s,"
        " updated_at = now() WHERE id = %s AND state <> 'resolved'",
        (seen.value, seen.stored(), seen.start, seen.end, alert_id),
    )


def close(conn: Conn, alert_id: int, seen: Seen, *, discarded: bool) -> AlertEvent | None:
    """The rule itself cleared the alert (or a pending one never reached its hold time).
    None when an operator had resolved it already."""
    row = conn.execute(
        "UPDATE alert SET state = 'resolved', resolved_at = %s, resolve_comment = %s,"
        " updated_at = now() WHERE id = %s AND state <> 'resolved' RETURNING fired_at",
        (seen.end, "breach ended before the hold time" if discarded else None, alert_id),
    ).fetchone()
    if row is None:
        return None
    transition = "discarded" if discarded else "resolved"
    event = _event(conn, alert_id, transition, seen.end, seen.evidence)
    return AlertEvent(alert_id, event, transition, row[0])


# -- operator actions ------------------------------------------------------------------------


def acknowledge(
    conn: Conn,
    alert_id: int,
    who: str,
    comment: str,
    now: datetime,
    *,
    via: Mapping[str, Any] | None = None,
) -> None:
    """A firing alert acknowledged by ``who``; ``via`` says how, when not through the API
    (e.g. the message link that was used), and is kept in the event's detail."""
    row = conn.execute("SELECT state FROM alert WHERE id = %s FOR UPDATE", (alert_id,)).fetchone()
    if row is None:
        raise AlertError(alert_id, "no such alert")
    if row[0] != "firing":
        raise AlertError(alert_id, f"only a firing alert can be acknowledged (it is {row[0]})")
    conn.execute(
        "UPDATE alert SET state = 'acknowledged', acknowledged_at = %s, acknowledged_by = %s,"
        " ack_comment = %s, updated_at = now() WHERE id = %s",
        (now, who, comment, alert_id),
    )
    _event(conn, alert_id, "acknowledged", now, {"comment": comment, **(via or {})}, actor=who)


def resolve(conn: Conn, alert_id: int, who: str, comment: str, now: datetime) -> None:
    """A manual clear. The rule re-arms: if the breach still holds, a new alert opens and
    fires again after the hold time."""
    key = conn.execute("SELECT rule_id, subject FROM alert WHERE id = %s", (alert_id,)).fetchone()
    if key is None:
        raise AlertError(alert_id, "no such alert")
    # Lock in the rule service's order (rule_engine, rule_state, then alert) so the two
    # never deadlock; the new generation makes the engine reload the state it keeps.
    conn.execute("UPDATE rule_engine SET generation = generation + 1 WHERE id = 1")
    conn.execute(
        "SELECT 1 FROM rule_state WHERE rule_id = %s AND subject = %s FOR UPDATE", key
    ).fetchall()
    row = conn.execute(
        "SELECT state, rule_id, subject FROM alert WHERE id = %s FOR UPDATE", (alert_id,)
    ).fetchone()
    assert row is not None
    if row[0] == "resolved":
        raise AlertError(alert_id, "already resolved")
    conn.execute(
        "UPDATE alert SET state = 'resolved', resolved_at = %s, resolved_by = %s,"
        " resolve_comment = %s, updated_at = now() WHERE id = %s",
        (now, who, comment, alert_id),
    )
    _event(conn, alert_id, "resolved", now, {"comment": comment}, actor=who)
    conn.execute(
        "UPDATE rule_state SET phase = 'ok', breach_since = NULL, breach_streak = 0,"
        " clear_since = NULL, clear_streak = 0, alert_id = NULL, rearmed_at = %s,"
        " updated_at = now() WHERE rule_id = %s AND subject = %s AND alert_id = %s",
        (now, row[1], row[2], alert_id),
    )
