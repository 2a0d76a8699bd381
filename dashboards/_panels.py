"""Panels, variables and annotations every dashboard builds from, on the PostgreSQL datasource."""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge as bargauge_b
from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import geomap as geomap_b
from grafana_foundation_sdk.builders import stat as stat_b
from grafana_foundation_sdk.builders import statetimeline as statetimeline_b
from grafana_foundation_sdk.builders import table as table_b
from grafana_foundation_sdk.builders import timeseries as timeseries_b
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common as common_m
from grafana_foundation_sdk.models import dashboard as dash_m

from dashboards.sql import (
    DATASOURCE_TYPE,
    DATASOURCE_UID,
    FLAGGED_HELP,
    FLAGGED_TITLE,
    Format,
    Sql,
    flagged_sql,
)
from services.standards.hj633 import CATEGORIES

DS = dash_m.DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)
TAG = "liudong"
# HJ 633 AQI levels as threshold steps: where each level starts, and its colour.
AQI_LEVELS: tuple[tuple[int | None, str], ...] = tuple(
    (None if i == 0 else CATEGORIES[i - 1].top + 1, c.colour) for i, c in enumerate(CATEGORIES)
)


def new_dashboard(uid: str, title_zh: str, title_en: str, description: str) -> dash_b.Dashboard:
    return (
        dash_b.Dashboard(f"{title_zh} · {title_en}")
        .uid(uid)
        .description(description)
        .tags([TAG])
        .timezone("Asia/Shanghai")
        .refresh("1m")
        .time("now-24h", "now")
        .tooltip(dash_m.DashboardCursorSync.CROSSHAIR)
        .link(
            dash_b.DashboardLink("柳东新区 · Liudong")
            .type(dash_m.DashboardLinkType.DASHBOARDS)
            .tags([TAG])
            .as_dropdown(True)
            .include_vars(False)
            .keep_time(True)
        )
    )


def thresholds(*steps: tuple[float | None, str]) -> dash_b.ThresholdsConfig:
    return (
        dash_b.ThresholdsConfig()
        .mode(dash_m.ThresholdsMode.ABSOLUTE)
        .steps([dash_m.Threshold(value=v, color=c) for v, c in steps])
    )


def below_target(target: float) -> dash_b.ThresholdsConfig:
    """Red under ``target``, green at or above it."""
    return thresholds((None, "red"), (target, "green"))


def above_target(target: float) -> dash_b.ThresholdsConfig:
    """Green under ``target``, red at or above it."""
    return thresholds((None, "green"), (target, "red"))


def timeseries(
    title: str, sql: str, unit: str, *, description: str = "", span: int = 12,
    limit: dash_b.ThresholdsConfig | None = None,
) -> timeseries_b.Panel:  # fmt: skip
    """A time series panel; ``limit`` draws its thresholds as dashed lines."""
    panel = (
        timeseries_b.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .with_target(Sql(sql, "time_series"))
        .unit(unit)
        .span(span)
        .height(8)
        .line_width(1)
        .fill_opacity(10)
        .show_points(common_m.VisibilityMode.NEVER)
        .span_nulls(False)
    )
    if limit is not None:
        panel = panel.thresholds(limit).thresholds_style(
            common_b.GraphThresholdsStyleConfig().mode(common_m.GraphThresholdsStyleMode.DASHED)
        )
    return panel


def stat(
    title: str, sql: str, unit: str, *, description: str = "", span: int = 6,
    colours: dash_b.ThresholdsConfig | None = None, fmt: Format = "table",
) -> stat_b.Panel:  # fmt: skip
    panel = (
        stat_b.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .with_target(Sql(sql, fmt))
        .unit(unit)
        .span(span)
        .height(5)
        .color_mode(common_m.BigValueColorMode.BACKGROUND)
        .graph_mode(common_m.BigValueGraphMode.NONE)
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]).values(True))
    )
    return panel.thresholds(colours) if colours is not None else panel


def bars(
    title: str, sql: str, unit: str, *, description: str = "", span: int = 12,
    colours: dash_b.ThresholdsConfig | None = None,
) -> bargauge_b.Panel:  # fmt: skip
    panel = (
        bargauge_b.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .with_target(Sql(sql, "table"))
        .unit(unit)
        .span(span)
        .height(8)
        .orientation(common_m.VizOrientation.HORIZONTAL)
        .display_mode(common_m.BarGaugeDisplayMode.BASIC)
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]).values(True))
    )
    return panel.thresholds(colours) if colours is not None else panel


def table(title: str, sql: str, *, description: str = "", span: int = 24) -> table_b.Panel:
    return (
        table_b.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .with_target(Sql(sql, "table"))
        .span(span)
        .height(9)
    )


def flagged_values(table_name: str, devices: str) -> table_b.Panel:
    """The table of the values instruments flagged in ``table_name`` (sites: ``devices``)."""
    return table(FLAGGED_TITLE, flagged_sql(table_name, devices=devices), description=FLAGGED_HELP)


def state_timeline(
    title: str, sql: str, *, description: str = "", span: int = 24
) -> statetimeline_b.Panel:
    return (
        statetimeline_b.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .with_target(Sql(sql, "time_series"))
        .span(span)
        .height(10)
        .show_value(common_m.VisibilityMode.NEVER)
        .thresholds(thresholds((None, "red"), (0.5, "green")))
        .min(0)
        .max(1)
    )


def device_map(title: str, sql: str, *, description: str = "", span: int = 12) -> geomap_b.Panel:
    """Devices as markers at ``latitude``/``longitude``, coloured by a ``status`` of 0..2."""
    markers = (
        common_b.MapLayerOptions()
        .type("markers")
        .name("devices")
        .location(
            common_b.FrameGeometrySource()
            .mode(common_m.FrameGeometrySourceMode.COORDS)
            .latitude("latitude")
            .longitude("longitude")
        )
        .config(
            {
                "showLegend": True,
                "style": {
                    "color": {"field": "status"},
                    "size": {"fixed": 5},
                    "opacity": 0.8,
                },
            }
        )
        .tooltip(True)
    )
    return (
        geomap_b.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .with_target(Sql(sql, "table"))
        .span(span)
        .height(12)
        .view(geomap_b.MapViewConfig().id("coords").lat(24).lon(109).zoom(11))
        .basemap(common_b.MapLayerOptions().type("osm-standard").name("OpenStreetMap"))
        .layers([markers])
        .thresholds(thresholds((None, "green"), (1, "orange"), (2, "red")))
    )


def area_variable() -> dash_b.QueryVariable:
    return (
        dash_b.QueryVariable("area")
        .label("片区 Area")
        .datasource(DS)
        .query(
            "SELECT code AS __value, name_zh || ' ' || name_en AS __text FROM area ORDER BY code"
        )
        .multi(True)
        .include_all(True)
        .refresh(dash_m.VariableRefresh.ON_DASHBOARD_LOAD)
        .current(dash_m.VariableOption(selected=True, text="All", value="$__all"))
    )


def registry_variable(label: str, where: str, order: str = "device_id") -> dash_b.QueryVariable:
    """``device`` over the registry's devices matching ``where`` in the chosen areas."""
    return device_variable(
        label,
        "SELECT device_id AS __value, name_zh AS __text FROM device"
        f" WHERE {where} AND area IN ($area) AND retired_at IS NULL ORDER BY {order}",
    )


def device_variable(label: str, query: str) -> dash_b.QueryVariable:
    """The ``device`` variable that alert notifications link to (``var-device``)."""
    return (
        dash_b.QueryVariable("device")
        .label(label)
        .datasource(DS)
        .query(query)
        .multi(True)
        .include_all(True)
        .refresh(dash_m.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .current(dash_m.VariableOption(selected=True, text="All", value="$__all"))
    )


class _SqlAnnotationTarget(dash_m.AnnotationTarget):
    """The SDK's annotation target knows only the built-in Grafana source; a SQL
    datasource's annotation target is its query."""

    def __init__(self, raw_sql: str) -> None:
        super().__init__()
        self._sql = Sql(raw_sql, "table").build()

    def to_json(self) -> dict[str, object]:
        return self._sql.to_json()


class _SqlAnnotation(cogbuilder.Builder[dash_m.AnnotationTarget]):
    def __init__(self, raw_sql: str) -> None:
        self._target = _SqlAnnotationTarget(raw_sql)

    def build(self) -> dash_m.AnnotationTarget:
        return self._target


def alert_annotations(feed: str) -> dash_b.AnnotationQuery:
    """Alert transitions of the feed's selected devices, as annotations on every time
    series panel (firing to resolved as a region)."""
    sql = (
        "SELECT a.fired_at AS time, coalesce(a.resolved_at, now()) AS timeend,"
        " a.subject_name_zh || ' · ' || a.rule_id || ' · ' || a.state AS text,"
        " a.severity || ',' || a.rule_id AS tags"
        " FROM alert a LEFT JOIN device d ON d.device_id = a.subject"
        f" WHERE a.feed = '{feed}' AND a.fired_at IS NOT NULL"
        " AND (a.subject IN ($device) OR d.parent_id IN ($device))"
        " AND a.fired_at <= $__timeTo() AND coalesce(a.resolved_at, now()) >= $__timeFrom()"
    )
    return (
        dash_b.AnnotationQuery()
        .name("告警 Alerts")
        .datasource(DS)
        .enable(True)
        .icon_color("red")
        .target(_SqlAnnotation(sql))
    )
