"""The district overview: every device on the map by status, the KPI tiles against the
2025 targets with their data coverage, and each air station's AQI in the HJ 633 colours."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.api.console import district_map
from services.api.console._page import CSP, language, render, viewer
from services.api.deps import DbConn
from services.api.routes import kpi
from services.api.routes.registry import SILENT_SQL, silent_params
from services.standards.targets import RSU_ONLINE_PCT

router = APIRouter(include_in_schema=False)

# A device is silent when it missed its reporting period (15 minutes; a leak logger a day).
# A device is in maintenance while a silence covers it or its area, and alerting while an
# alert about it, or about what it belongs to (its plant, DMA, intersection), is open.
_DEVICES = (
    """
SELECT d.device_id, d.feed, d.name_zh, d.name_en, d.area, d.lat, d.lon,
  CASE
    WHEN EXISTS (SELECT 1 FROM silence s WHERE s.starts_at <= now() AND s.ends_at > now()
                 AND (s.device_id = d.device_id OR s.area = d.area)) THEN 'maintenance'
    WHEN EXISTS (SELECT 1 FROM alert a WHERE a.state IN ('firing', 'acknowledged')
                 AND a.subject IN (d.device_id, d.parent_id)) THEN 'alerting'
    WHEN l.ts IS NULL THEN 'never'
    WHEN l.ts > now() - """
    + SILENT_SQL
    + """ THEN 'reporting'
    ELSE 'silent' END
FROM device d
LEFT JOIN (SELECT device_id, max(ts) AS ts FROM device_latest GROUP BY device_id) l
  USING (device_id)
WHERE d.retired_at IS NULL
ORDER BY d.device_id
"""
)


@dataclass(frozen=True)
class KpiTile:
    key: str  # the label's text key
    figure: str
    target: str
    verdict: bool | None  # None: no verdict (no data, or not every site reporting)
    coverage: str


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


def kpi_tiles(request: Request, conn: DbConn) -> list[KpiTile]:
    treated = kpi.treatment_rate(conn, "day", None)
    leak = kpi.leakage(conn, "month", None)
    rsus = kpi.rsu_online(request, conn)
    return [
        KpiTile(
            "treatment_rate", _pct(treated.district_rate_pct), f"≥ {treated.target_pct:g} %",
            treated.meets_target, f"{treated.plants_reporting}/{treated.plants_expected}",
        ),
        KpiTile(
            "leakage", _pct(leak.utility_rate_pct), f"≤ {leak.target_pct:g} %",
            leak.meets_target, f"{leak.dmas_reporting}/{leak.dmas_expected}",
        ),
        KpiTile(
            "rsu_online", _pct(rsus.rate_pct if rsus.registered else None),
            f"≥ {RSU_ONLINE_PCT:g} %",
            rsus.rate_pct >= RSU_ONLINE_PCT if rsus.registered else None,
            f"{rsus.online}/{rsus.registered}",
        ),
        KpiTile(
            "intersections", str(rsus.intersections_covered), str(rsus.intersections_planned),
            rsus.intersections_covered >= rsus.intersections_planned,
            f"{rsus.intersections_covered}/{rsus.intersections_planned}",
        ),
    ]  # fmt: skip


def station_aqi(request: Request, conn: DbConn) -> list[dict[str, Any]]:
    latest = {s.device_id: s for s in kpi.aqi_now(conn)}
    out = []
    for station in request.app.state.registry.air:
        got = latest.get(station.id)
        out.append({"station": station, "aqi": got})
    return out


def map_devices(conn: DbConn, english: bool) -> list[district_map.MapDevice]:
    rows = conn.execute(_DEVICES.encode(), silent_params()).fetchall()
    return [
        district_map.MapDevice(
            device_id=r[0], feed=r[1], name=(r[3] or r[2]) if english else (r[2] or r[3]),
            area=r[4], lat=r[5], lon=r[6], status=r[7],
        )
        for r in rows
    ]  # fmt: skip


@router.get("/", response_class=RedirectResponse)
def root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/", response_class=HTMLResponse)
def overview(request: Request, conn: DbConn) -> HTMLResponse:
    who = viewer(request, conn)
    english = language(request) == "en"
    devices = map_devices(conn, english)
    areas = {
        a.code: (a.name_en if english else a.name_zh) for a in request.app.state.registry.areas
    }
    console = request.app.state.settings.console
    drawn = district_map.build(devices, areas, console)
    counts = Counter(d.status for d in devices)
    csp = CSP
    if console.tiles is not None:
        parts = urlsplit(console.tiles)
        csp = CSP.replace(
            "img-src 'self' data:", f"img-src 'self' data: {parts.scheme}://{parts.netloc}"
        )
    return render(
        request, "overview.html", who,
        csp=csp, map=drawn, counts=counts, total=len(devices), tiles=kpi_tiles(request, conn),
        stations=station_aqi(request, conn), attribution=console.tiles_attribution,
        has_tiles=console.tiles is not None,
    )  # fmt: skip
