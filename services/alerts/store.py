"""Alerts: one open alert per (rule, subject), its history, and the notifications each
fired or resolved transition puts in the outbox — all in the caller's transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from services.notify.routing import RoutingConfig
from services.rules.evaluators._base import Observation, Subject
from services.rules.model import RuleBase

Conn = psycopg.Connection[TupleRow]
OPEN = ("pending", "firing", "acknowledged")


class AlertError(ValueError):
    """An operator action that does not apply (unknown alert, wrong state)."""

    def __init__(self, alert_id: int, reason: str) -> None:
        self.alert_id, self.reason = alert_id, reason
        super().__init__(f"alert {alert_id}: {reason}")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _evidence(rule: RuleBase, obs: Observation) -> str:
    """The observation's evidence with the standard, clause and window it was judged on."""
    v = obs.verdict
    out: dict[str, Any] = {
        **obs.evidence,
        "window": [v.start.isoformat(), v.end.isoformat()],
        "unit": rule.unit,
    }
    if rule.standard is not None:
        out |= {"standard": rule.standard.name, "clause": rule.standard.clause}
    return _json(out)


@dataclass(frozen=True)
class Context:
    """What a transition needs beyond the observation: the rule, its subject, routing."""

    rule: RuleBase
    subject: Subject
    routing: RoutingConfig


def _event(
    conn: Conn,
    alert_id: int,
    transition: str,
    at: datetime,
    detail: dict[str, Any],
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


def open_alert(conn: Conn, ctx: Context, obs: Observation, since: datetime, state: str) -> int:
    rule, s, v = ctx.rule, ctx.subject, obs.verdict
    row = conn.execute(
        "INSERT INTO alert (rule_id, subject, subject_name_zh, subject_name_en, area, feed,"
        " severity, state, value, evidence, window_start, window_end, started_at, fired_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            rule.id,
            s.id,
            s.name_zh,
            s.name_en,
            s.area,
            rule.feed,
            rule.severity,
            state,
            v.value,
            _evidence(rule, obs),
            v.start,
            v.end,
            since,
            v.end if state == "firing" else None,
        ),
    ).fetchone()
    assert row is not None
    alert_id = int(row[0])
    event = _event(conn, alert_id, state, v.end, obs.evidence)
    if state == "firing":
        enqueue(
            conn, ctx, alert_id=alert_id, event_id=event, transition="firing", obs=obs, at=v.end
        )
    return alert_id


def fire(conn: Conn, ctx: Context, alert_id: int, obs: Observation) -> None:
    v = obs.verdict
    conn.execute(
        "UPDATE alert SET state = 'firing', fired_at = %s, value = %s, evidence = %s,"
        " window_start = %s, window_end = %s, updated_at = now() WHERE id = %s",
        (v.end, v.value, _evidence(ctx.rule, obs), v.start, v.end, alert_id),
    )
    event = _event(conn, alert_id, "firing", v.end, obs.evidence)
    enqueue(conn, ctx, alert_id=alert_id, event_id=event, transition="firing", obs=obs, at=v.end)


def update(conn: Conn, ctx: Context, alert_id: int, obs: Observation) -> None:
    v = obs.verdict
    conn.execute(
        "UPDATE alert SET value = %s, evidence = %s, window_start = %s, window_end = %s,"
        " updated_at = now() WHERE id = %s AND state <> 'resolved'",
        (v.value, _evidence(ctx.rule, obs), v.start, v.end, alert_id),
    )


def close(conn: Conn, ctx: Context, alert_id: int, obs: Observation, *, discarded: bool) -> None:
    """The rule itself cleared the alert (or a pending one never reached its hold time)."""
    v = obs.verdict
    row = conn.execute(
        "UPDATE alert SET state = 'resolved', resolved_at = %s, resolve_comment = %s,"
        " updated_at = now() WHERE id = %s AND state <> 'resolved' RETURNING fired_at",
        (v.end, "breach ended before the hold time" if discarded else None, alert_id),
    ).fetchone()
    if row is None:  # already resolved by an operator
        return
    event = _event(conn, alert_id, "discarded" if discarded else "resolved", v.end, obs.evidence)
    if not discarded and row[0] is not None:
        enqueue(
            conn, ctx, alert_id=alert_id, event_id=event, transition="resolved", obs=obs, at=v.end
        )


def enqueue(
    conn: Conn,
    ctx: Context,
    *,
    alert_id: int,
    event_id: int,
    transition: str,
    obs: Observation,
    at: datetime,
) -> int:
    """Outbox rows for every receiver (and each of its channels) of this transition."""
    rule, s, routing = ctx.rule, ctx.subject, ctx.routing
    receivers = routing.receivers_for(rule.feed, rule.id, rule.severity, s.area)
    receivers += [r for r in rule.receivers if r not in receivers]
    notice = notice_facts(ctx, obs, at)
    quiet = silenced(conn, s.id, s.devices, s.area, at)
    n = 0
    for receiver in receivers:
        known = routing.receivers.get(receiver)
        channels: list[int | None] = list(range(len(known.channels))) if known else []
        for channel in channels or [None]:
            slot = "none" if channel is None else str(channel)
            key = f"alert-{alert_id}-{transition}-{event_id}-{receiver}-{slot}"
            conn.execute(
                "INSERT INTO notification (alert_id, event_id, rule_id, transition, receiver,"
                " channel, area, idempotency_key, notice, state)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (idempotency_key) DO NOTHING",
                (
                    alert_id,
                    event_id,
                    rule.id,
                    transition,
                    receiver,
                    channel,
                    s.area,
                    key,
                    _json(notice),
                    "silenced" if quiet else "pending" if channel is not None else "no_channel",
                ),
            )
            n += 1
    return n


def silenced(
    conn: Conn, subject: str, devices: tuple[str, ...], area: str | None, at: datetime
) -> bool:
    """Whether a maintenance window covers the subject (or one of its devices, or its area)
    at ``at``."""
    row = conn.execute(
        "SELECT 1 FROM silence WHERE starts_at <= %s AND ends_at > %s"
        " AND (device_id = %s OR device_id = ANY(%s) OR area = %s) LIMIT 1",
        (at, at, subject, list(devices), area),
    ).fetchone()
    return row is not None


def _panel_link(ctx: Context, obs: Observation) -> str | None:
    base, panel = ctx.routing.link_base, ctx.rule.panel
    if base is None or panel is None:
        return None
    uid, _, panel_id = panel.partition("#")
    v = obs.verdict
    span = v.end - v.start
    start = int((v.start - span).timestamp() * 1000)
    end = (
        int((v.end + span).timestamp() * 1000)
        if span
        else int(v.end.timestamp() * 1000) + 3_600_000
    )
    link = f"{base}/d/{uid}?from={start}&to={end}&var-device={ctx.subject.id}"
    return f"{link}&viewPanel={panel_id}" if panel_id else link


def notice_facts(ctx: Context, obs: Observation, at: datetime) -> dict[str, Any]:
    """Everything the message needs, frozen at the transition (the dispatcher groups and
    renders them; a rule file edited later does not change a queued message)."""
    rule, s, v = ctx.rule, ctx.subject, obs.verdict
    standard = rule.standard
    label = rule.label or rule.title
    detail = obs.evidence.get("detail", "")
    return {
        "rule_id": rule.id,
        "title_zh": rule.title.zh,
        "title_en": rule.title.en,
        "severity": rule.severity,
        "feed": rule.feed,
        "measure_zh": label.zh,
        "measure_en": label.en,
        "unit": rule.unit,
        "limit": str(obs.evidence.get("limit", "")),
        "standard": standard.name if standard else "",
        "clause": standard.clause if standard else "",
        "edition": obs.evidence.get("edition"),
        "at": at.astimezone(UTC).isoformat(),
        "link": _panel_link(ctx, obs),
        "subject": {
            "subject": s.id,
            "name_zh": s.name_zh,
            "name_en": s.name_en,
            "area": s.area,
            "value": v.value,
            "window_start": v.start.astimezone(UTC).isoformat(),
            "window_end": v.end.astimezone(UTC).isoformat(),
            "detail": str(detail),
        },
    }


# -- operator actions ------------------------------------------------------------------------


def acknowledge(conn: Conn, alert_id: int, who: str, comment: str, now: datetime) -> None:
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
    _event(conn, alert_id, "acknowledged", now, {"comment": comment}, actor=who)


def resolve(conn: Conn, alert_id: int, who: str, comment: str, now: datetime) -> None:
    """A manual clear. The rule re-arms: if the breach still holds, a new alert opens and
    fires again after the hold time."""
    key = conn.execute("SELECT rule_id, subject FROM alert WHERE id = %s", (alert_id,)).fetchone()
    if key is None:
        raise AlertError(alert_id, "no such alert")
    # Lock in the rule service's order (rule_state, then alert) so the two never deadlock.
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
