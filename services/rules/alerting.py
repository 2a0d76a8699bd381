"""What a rule's state change records: the alert's transition (``services.alerts``) and
the notifications it announces (``services.notify``), in the caller's transaction.

This is where a rule and its observation become the plain data those two packages take.
Receivers hear of an alert when it fires and when the rule resolves one that had fired; a
pending alert that never fired opens and closes without notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import TupleRow

from services import alerts
from services.notify.enqueue import Facts, enqueue
from services.notify.notice import SubjectLine, Transition
from services.notify.routing import RoutingConfig
from services.rules.model import RuleBase
from services.rules.types import Observation, Subject

Conn = psycopg.Connection[TupleRow]


@dataclass(frozen=True)
class Context:
    """What a transition needs beyond the observation: the rule, its subject, routing."""

    rule: RuleBase
    subject: Subject
    routing: RoutingConfig


def origin(ctx: Context) -> alerts.Origin:
    rule, s = ctx.rule, ctx.subject
    return alerts.Origin(rule.id, rule.feed, rule.severity, s.id, s.name_zh, s.name_en, s.area)


def seen(rule: RuleBase, obs: Observation) -> alerts.Seen:
    """The observation with the unit, standard and clause it was judged against."""
    v = obs.verdict
    basis: dict[str, Any] = {"unit": rule.unit}
    if rule.standard is not None:
        basis |= {"standard": rule.standard.name, "clause": rule.standard.clause}
    return alerts.Seen(v.value, v.start, v.end, obs.evidence, basis)


def facts(ctx: Context, obs: Observation, at: datetime) -> Facts:
    """What the notice of a transition at ``at`` says."""
    rule, s, v = ctx.rule, ctx.subject, obs.verdict
    standard = rule.standard
    label = rule.label or rule.title
    line = SubjectLine(
        s.id, s.name_zh, s.name_en, s.area, v.value, v.start, v.end,
        str(obs.evidence.get("detail", "")),
    )  # fmt: skip
    return Facts(
        rule_id=rule.id,
        title_zh=rule.title.zh,
        title_en=rule.title.en,
        severity=rule.severity,
        feed=rule.feed,
        measure_zh=label.zh,
        measure_en=label.en,
        unit=rule.unit,
        limit=str(obs.evidence.get("limit", "")),
        standard=standard.name if standard else "",
        clause=standard.clause if standard else "",
        edition=obs.evidence.get("edition"),
        at=at,
        subject=line,
        panel=rule.panel,
    )


def _announced(event: alerts.AlertEvent) -> Transition | None:
    if event.transition == "firing":
        return "firing"
    if event.transition == "resolved" and event.fired_at is not None:
        return "resolved"
    return None


def _announce(conn: Conn, ctx: Context, event: alerts.AlertEvent, obs: Observation) -> None:
    transition = _announced(event)
    if transition is None:
        return
    enqueue(
        conn,
        ctx.routing,
        facts(ctx, obs, obs.verdict.end),
        alert_id=event.alert_id,
        event_id=event.event_id,
        transition=transition,
        receivers=ctx.rule.receivers,
        devices=ctx.subject.devices,
    )


def open_alert(
    conn: Conn,
    ctx: Context,
    obs: Observation,
    since: datetime,
    state: Literal["pending", "firing"],
) -> int:
    """A new alert (pending, or firing and announced); returns its id."""
    event = alerts.open_alert(conn, origin(ctx), seen(ctx.rule, obs), since, state)
    _announce(conn, ctx, event, obs)
    return event.alert_id


def fire(conn: Conn, ctx: Context, alert_id: int, obs: Observation) -> None:
    _announce(conn, ctx, alerts.fire(conn, alert_id, seen(ctx.rule, obs)), obs)


def update(conn: Conn, ctx: Context, alert_id: int, obs: Observation) -> None:
    alerts.update(conn, alert_id, seen(ctx.rule, obs))


def close(conn: Conn, ctx: Context, alert_id: int, obs: Observation, *, discarded: bool) -> None:
    event = alerts.close(conn, alert_id, seen(ctx.rule, obs), discarded=discarded)
    if event is not None:
        _announce(conn, ctx, event, obs)
