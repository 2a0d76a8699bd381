"""Putting an alert's transition in the outbox: one row per receiver and channel, holding
the notice's facts, in the caller's transaction (the dispatcher sends them later)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from services.notify.notice import SubjectLine, Transition
from services.notify.routing import RoutingConfig
from services.notify.silences import silenced

Conn = psycopg.Connection[TupleRow]


@dataclass(frozen=True)
class Facts:
    """Everything a notice says about one subject's transition, frozen when it happens:
    the dispatcher groups and renders them, and a rule file edited later does not change a
    queued message."""

    rule_id: str
    title_zh: str
    title_en: str
    severity: str
    feed: str
    measure_zh: str
    measure_en: str
    unit: str
    limit: str
    standard: str
    clause: str
    edition: str | None
    at: datetime  # when the transition happened (measurement time)
    subject: SubjectLine
    panel: str | None = None  # the dashboard panel to link, "<dashboard uid>#<panel id>"


def panel_link(
    link_base: str | None, panel: str | None, subject: str, start: datetime, end: datetime
) -> str | None:
    """The Grafana panel for the subject, over the window widened by its length on each
    side (an instant: the hour after it)."""
    if link_base is None or panel is None:
        return None
    uid, _, panel_id = panel.partition("#")
    span = end - start
    begin = int((start - span).timestamp() * 1000)
    until = (
        int((end + span).timestamp() * 1000) if span else int(end.timestamp() * 1000) + 3_600_000
    )
    link = f"{link_base}/d/{uid}?from={begin}&to={until}&var-device={subject}"
    return f"{link}&viewPanel={panel_id}" if panel_id else link


def notice_facts(facts: Facts, link_base: str | None) -> dict[str, Any]:
    """The facts as the outbox stores them (``notification.notice``)."""
    s = facts.subject
    return {
        "rule_id": facts.rule_id,
        "title_zh": facts.title_zh,
        "title_en": facts.title_en,
        "severity": facts.severity,
        "feed": facts.feed,
        "measure_zh": facts.measure_zh,
        "measure_en": facts.measure_en,
        "unit": facts.unit,
        "limit": facts.limit,
        "standard": facts.standard,
        "clause": facts.clause,
        "edition": facts.edition,
        "at": facts.at.astimezone(UTC).isoformat(),
        "link": panel_link(link_base, facts.panel, s.subject, s.window_start, s.window_end),
        "subject": {
            "subject": s.subject,
            "name_zh": s.name_zh,
            "name_en": s.name_en,
            "area": s.area,
            "value": s.value,
            "window_start": s.window_start.astimezone(UTC).isoformat(),
            "window_end": s.window_end.astimezone(UTC).isoformat(),
            "detail": s.detail,
        },
    }


def enqueue(
    conn: Conn,
    routing: RoutingConfig,
    facts: Facts,
    *,
    alert_id: int,
    event_id: int,
    transition: Transition,
    receivers: Sequence[str] = (),
    devices: Sequence[str] = (),
) -> int:
    """Outbox rows for every receiver (and each of its channels) of this transition: the
    routes' receivers, then the rule's own ``receivers``. Rows of a subject that a
    maintenance window covers (the subject, one of its ``devices``, or its area) are
    recorded as silenced. Returns the rows written."""
    area = facts.subject.area
    to = routing.receivers_for(facts.feed, facts.rule_id, facts.severity, area)
    to += [r for r in receivers if r not in to]
    notice = json.dumps(notice_facts(facts, routing.link_base), ensure_ascii=False, default=str)
    quiet = silenced(conn, facts.subject.subject, devices, area, facts.at)
    n = 0
    for receiver in to:
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
                    facts.rule_id,
                    transition,
                    receiver,
                    channel,
                    area,
                    key,
                    notice,
                    "silenced" if quiet else "pending" if channel is not None else "no_channel",
                ),
            )
            n += 1
    return n
