"""A device: its latest readings with their flags, its last day as charts, its open and
past alerts, and its Grafana panel when Grafana is configured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ingest.feeds import FEEDS
from services.api.console import chart
from services.api.console._page import missing, render, viewer
from services.api.deps import DbConn
from services.api.problems import ApiError
from services.api.routes.registry import get_device
from services.api.routes.series import series_points

router = APIRouter(prefix="/console", include_in_schema=False)
CHART_SPAN = timedelta(hours=24)
STEP = timedelta(microseconds=1)  # the series' end is exclusive: keep the latest reading
MAX_CHARTS = 8
_ALERTS = (
    "SELECT id, rule_id, severity, state, value, started_at, resolved_at FROM alert"
    " WHERE subject = %s OR subject = %s ORDER BY (state = 'resolved'), id DESC LIMIT 50"
)


def charts(
    conn: DbConn, device_id: str, feed: str, device_type: str, last: datetime | None
) -> list[chart.Chart]:
    """The day up to the device's latest reading (a replay's devices live in the past)."""
    end = last or datetime.now(UTC)
    start = end - CHART_SPAN
    out = []
    for kind in FEEDS[feed].kinds:
        if device_type not in kind.device_types:
            continue
        for measure in kind.numeric_columns:
            points = series_points(
                conn, kind, device_id, measure, bucket="raw", start=start, end=end + STEP
            )
            drawn = chart.build(measure, [(p.t, p.value, p.flag) for p in points], start, end)
            if drawn is not None:
                out.append(drawn)
            if len(out) >= MAX_CHARTS:
                return out
    return out


@router.get("/devices/{device_id}", response_class=HTMLResponse)
def device_page(request: Request, conn: DbConn, device_id: str) -> HTMLResponse:
    who = viewer(request, conn)
    try:
        device = get_device(conn, device_id)
    except ApiError as exc:
        return missing(request, who, exc.detail)
    alerts = conn.execute(_ALERTS, (device_id, device.parent_id or device_id)).fetchall()
    keys = ("id", "rule_id", "severity", "state", "value", "started_at", "resolved_at")
    grafana = request.app.state.settings.grafana.url
    panel = None
    if grafana:
        # the boards as code name themselves liudong-<feed> (dashboards/)
        panel = f"{grafana.rstrip('/')}/d/liudong-{device.feed}?var-device={device_id}"
    return render(
        request, "device.html", who,
        device=device,
        charts=charts(conn, device_id, device.feed, device.device_type, device.last_seen),
        alerts=[dict(zip(keys, r, strict=True)) for r in alerts], grafana=panel,
    )  # fmt: skip
