"""Alerts: list and filter, one with its evidence and history, acknowledge, resolve."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from ingest.feeds import FeedName
from services.alerts import AlertError, acknowledge, resolve
from services.api.auth import Principal, audit, require
from services.api.deps import DbConn, Paging
from services.api.problems import RESPONSES, ApiError

router = APIRouter(prefix="/api/v1", tags=["alerts"], responses=RESPONSES)
State = Literal["pending", "firing", "acknowledged", "resolved"]
ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,79}$"
Severity = Literal["critical", "major", "minor", "warning"]

_COLUMNS = (
    "id", "rule_id", "subject", "subject_name_zh", "subject_name_en", "area", "feed",
    "severity", "state", "value", "window_start", "window_end", "started_at", "fired_at",
    "acknowledged_at", "acknowledged_by", "ack_comment", "resolved_at", "resolved_by",
    "resolve_comment",
)  # fmt: skip
_SELECT = "SELECT " + ", ".join(_COLUMNS) + ", evidence FROM alert"


class Alert(BaseModel):
    id: int
    rule_id: str
    subject: str
    subject_name_zh: str
    subject_name_en: str
    area: str | None
    feed: str
    severity: Severity
    state: State
    value: float | None
    window_start: datetime
    window_end: datetime
    started_at: datetime
    fired_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_comment: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolve_comment: str | None


class AlertPage(BaseModel):
    items: list[Alert]
    total: int
    limit: int
    offset: int


class Event(BaseModel):
    transition: str
    at: datetime
    actor: str | None
    detail: dict[str, Any]


class AlertDetail(Alert):
    evidence: dict[str, Any]
    history: list[Event]


class Comment(BaseModel):
    comment: str = Field(default="", max_length=2000)


def _alert(row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(_COLUMNS, row[: len(_COLUMNS)], strict=True))


@router.get("/alerts", response_model=AlertPage, dependencies=[Depends(require("viewer"))])
def list_alerts(
    *,
    conn: DbConn,
    paging: Paging,
    state: State | None = None,
    feed: FeedName | None = None,
    severity: Severity | None = None,
    area: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    rule: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
) -> AlertPage:
    """Alerts whose breach began in ``[from, to)``, newest first."""
    rows = conn.execute(
        (
            "SELECT *, count(*) OVER () FROM (" + _SELECT + ") a"
            " WHERE (%(state)s::text IS NULL OR state = %(state)s)"
            " AND (%(feed)s::text IS NULL OR feed = %(feed)s)"
            " AND (%(severity)s::text IS NULL OR severity = %(severity)s)"
            " AND (%(area)s::text IS NULL OR area = %(area)s)"
            " AND (%(rule)s::text IS NULL OR rule_id = %(rule)s)"
            " AND (%(start)s::timestamptz IS NULL OR started_at >= %(start)s)"
            " AND (%(end)s::timestamptz IS NULL OR started_at < %(end)s)"
            " ORDER BY id DESC LIMIT %(limit)s OFFSET %(offset)s"
        ).encode(),
        {
            "state": state, "feed": feed, "severity": severity, "area": area, "rule": rule,
            "start": start, "end": end, "limit": paging.limit, "offset": paging.offset,
        },
    ).fetchall()  # fmt: skip
    total = int(rows[0][-1]) if rows else 0
    return AlertPage(
        items=[Alert(**_alert(r)) for r in rows],
        total=total, limit=paging.limit, offset=paging.offset,
    )  # fmt: skip


def alert_detail(conn: DbConn, alert_id: int) -> AlertDetail:
    row = conn.execute((_SELECT + " WHERE id = %s").encode(), (alert_id,)).fetchone()
    if row is None:
        raise ApiError(404, f"no alert {alert_id}")
    history = conn.execute(
        "SELECT transition, at, actor, detail FROM alert_event WHERE alert_id = %s ORDER BY id",
        (alert_id,),
    ).fetchall()
    return AlertDetail(
        **_alert(row),
        evidence=row[len(_COLUMNS)],
        history=[Event(transition=t, at=at, actor=a, detail=d) for t, at, a, d in history],
    )


@router.get(
    "/alerts/{alert_id}", response_model=AlertDetail, dependencies=[Depends(require("viewer"))]
)
def get_alert(conn: DbConn, alert_id: int) -> AlertDetail:
    """One alert with its evidence (values, window, limit, standard, edition) and history."""
    return alert_detail(conn, alert_id)


def _act(
    conn: DbConn, request: Request, who: Principal, alert_id: int, *, comment: str, action: Any
) -> AlertDetail:
    before = alert_detail(conn, alert_id)
    assert who.name is not None
    try:
        with conn.transaction():
            action(conn, alert_id, who.name, comment, datetime.now(UTC))
    except AlertError as exc:
        audit(conn, who, request, 409, before=_brief(before))
        raise ApiError(409, str(exc)) from None
    after = alert_detail(conn, alert_id)
    audit(conn, who, request, 200, before=_brief(before), after=_brief(after))
    return after


def _brief(a: AlertDetail) -> dict[str, Any]:
    return a.model_dump(mode="json", exclude={"evidence", "history"})


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertDetail)
def acknowledge_alert(
    *,
    conn: DbConn,
    request: Request,
    alert_id: int,
    body: Comment,
    who: Annotated[Principal, Depends(require("operator"))],
) -> AlertDetail:
    """A firing alert is acknowledged by the caller, with a comment."""
    return _act(conn, request, who, alert_id, comment=body.comment, action=acknowledge)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertDetail)
def resolve_alert(
    *,
    conn: DbConn,
    request: Request,
    alert_id: int,
    body: Comment,
    who: Annotated[Principal, Depends(require("operator"))],
) -> AlertDetail:
    """A manual clear. The rule re-arms: a breach that still holds fires a new alert."""
    return _act(conn, request, who, alert_id, comment=body.comment, action=resolve)
