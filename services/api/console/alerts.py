"""Alerts: the open ones, live and filtered; one alert with its evidence and history, and
the operator's actions on it (acknowledge, resolve, silence), which the page's script
sends to the API's own endpoints — the same roles, checks and audit."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.api.console._page import local_time, missing, render, viewer
from services.api.deps import DbConn
from services.api.problems import ApiError
from services.api.routes.alerts import alert_detail
from services.notify.render import format_value

router = APIRouter(prefix="/console", include_in_schema=False)
SEVERITY_RANK = (
    "CASE severity WHEN 'critical' THEN 0 WHEN 'major' THEN 1 WHEN 'minor' THEN 2 ELSE 3 END"
)
_OPEN = (
    "SELECT id, rule_id, subject, subject_name_zh, subject_name_en, area, feed, severity,"
    " state, value, started_at, fired_at FROM alert WHERE state <> 'resolved'"
    " AND (%(feed)s::text IS NULL OR feed = %(feed)s)"
    " AND (%(area)s::text IS NULL OR area = %(area)s)"
    " AND (%(severity)s::text IS NULL OR severity = %(severity)s)"
    " ORDER BY " + SEVERITY_RANK + ", id DESC LIMIT 500"
)
_KEYS = (
    "id", "rule_id", "subject", "name_zh", "name_en", "area", "feed", "severity", "state",
    "value", "started_at", "fired_at",
)  # fmt: skip
EVIDENCE_FIRST = ("value", "unit", "limit", "standard", "clause", "edition", "detail")


def _filters(request: Request) -> dict[str, str | None]:
    q = request.query_params
    return {k: (q.get(k) or None) for k in ("feed", "area", "severity")}


def _rules(request: Request) -> dict[str, Any]:
    return {r.id: r for r in request.app.state.rules}


def open_alerts(conn: DbConn, filters: dict[str, str | None]) -> list[dict[str, Any]]:
    rows = conn.execute(_OPEN.encode(), filters).fetchall()
    return [dict(zip(_KEYS, r, strict=True)) for r in rows]


def _list_context(request: Request, conn: DbConn) -> dict[str, Any]:
    filters = _filters(request)
    return {
        "alerts": open_alerts(conn, filters),
        "filters": filters,
        "rules": _rules(request),
        "areas": request.app.state.registry.areas,
    }


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, conn: DbConn) -> HTMLResponse:
    who = viewer(request, conn)
    return render(request, "alerts.html", who, **_list_context(request, conn))


@router.get("/alerts/rows", response_class=HTMLResponse)
def alert_rows(request: Request, conn: DbConn) -> HTMLResponse:
    """The table's rows alone: the page's script fetches them when the stream says an alert
    changed."""
    who = viewer(request, conn)
    return render(request, "_alert_rows.html", who, **_list_context(request, conn))


def _shown(value: Any) -> str:
    """Numbers to a few decimals, instants in local time, lists item by item."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, int | float):
        return format_value(float(value), "")
    if isinstance(value, list):
        return " – ".join(_shown(v) for v in value)
    if isinstance(value, str):
        try:
            return local_time(datetime.fromisoformat(value)) if "T" in value else value
        except ValueError:
            return value
    return json.dumps(value, ensure_ascii=False)


def evidence_items(evidence: dict[str, Any]) -> list[tuple[str, str]]:
    first = [(k, evidence[k]) for k in EVIDENCE_FIRST if k in evidence]
    rest = [(k, v) for k, v in evidence.items() if k not in EVIDENCE_FIRST]
    return [(k, _shown(v)) for k, v in first + rest]


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(request: Request, conn: DbConn, alert_id: int) -> HTMLResponse:
    who = viewer(request, conn)
    try:
        alert = alert_detail(conn, alert_id)
    except ApiError as exc:
        return missing(request, who, exc.detail)
    device = conn.execute(
        "SELECT device_id FROM device WHERE device_id = %s", (alert.subject,)
    ).fetchone()
    return render(
        request, "alert.html", who,
        alert=alert, rule=_rules(request).get(alert.rule_id),
        evidence=evidence_items(alert.evidence), device_page=device is not None,
    )  # fmt: skip
