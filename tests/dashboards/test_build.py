"""The committed dashboard files: current, loadable by the SDK, linked from the alerts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from grafana_foundation_sdk.cog.runtime import UnknownDataquery
from grafana_foundation_sdk.models import dashboard as dash_m

from dashboards.build import OUT_DIR, builders, render, stale, write
from dashboards.sql import DATASOURCE_UID, SqlQuery
from ingest.registry import load_registry
from services.rules import default_pack, load_rules

FILES = sorted(OUT_DIR.glob("*.json"))


def test_the_committed_files_are_what_the_modules_generate() -> None:
    assert stale() == [], "run `envmon dashboards build` and commit dashboards/json/"


def test_staleness_is_detected(tmp_path: Path) -> None:
    write(tmp_path)
    assert stale(tmp_path) == []
    air = tmp_path / "liudong-air.json"
    air.write_text(air.read_text(encoding="utf-8").replace("PM2.5", "PM25"), encoding="utf-8")
    (tmp_path / "old.json").write_text("{}", encoding="utf-8")
    assert stale(tmp_path) == ["old.json", "liudong-air.json"]


def test_six_dashboards() -> None:
    assert [f.stem for f in FILES] == sorted(builders())
    assert len(FILES) == 6


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_every_dashboard_loads_into_the_sdk_models(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    board = dash_m.Dashboard.from_json(data)
    assert board.uid == path.stem
    assert board.title is not None
    assert " · " in board.title  # Chinese title, English subtitle
    assert board.timezone == "Asia/Shanghai"
    panels = [p for p in board.panels or [] if isinstance(p, dash_m.Panel)]
    assert panels
    for panel in panels:
        assert panel.title
        assert panel.targets, panel.title
        for target in panel.targets:
            assert isinstance(target, SqlQuery), panel.title
            assert not isinstance(target, UnknownDataquery)
            assert target.raw_sql.lstrip().upper().startswith(("SELECT", "WITH")), panel.title
    # Loaded and rendered again, the model gives back the same panels and queries.
    again = json.loads(render(board))
    assert [p.get("targets") for p in again["panels"]] == [p.get("targets") for p in data["panels"]]
    assert {t["datasource"]["uid"] for p in data["panels"] for t in p.get("targets", [])} <= {
        DATASOURCE_UID
    }


def test_alert_links_point_at_a_dashboard_with_a_device_variable() -> None:
    boards = {f.stem: json.loads(f.read_text(encoding="utf-8")) for f in FILES}
    rules = load_rules(default_pack(), load_registry())
    linked = {r.panel.partition("#")[0] for r in rules if r.panel}
    assert linked, "the default pack links its alerts to panels"
    for uid in linked:
        assert uid in boards, f"rules link to {uid}, which is not generated"
        names = [v["name"] for v in boards[uid]["templating"]["list"]]
        assert "device" in names, f"{uid} has no `device` variable for var-device links"
        assert boards[uid]["annotations"]["list"], f"{uid} shows no alert annotations"


def test_alert_links_open_the_panel_of_the_measure() -> None:
    """A rule's ``panel: uid#id`` names a panel of that dashboard, and a rule on a measure
    links to a panel that draws it (panel ids follow the layout, so a layout change that
    moves them fails here)."""
    boards = {f.stem: json.loads(f.read_text(encoding="utf-8")) for f in FILES}
    rules = [r for r in load_rules(default_pack(), load_registry()) if r.panel and "#" in r.panel]
    assert len(rules) >= 30
    for rule in rules:
        uid, _, panel_id = rule.panel.partition("#")  # type: ignore[union-attr]
        panels = {str(p["id"]): p for p in boards[uid]["panels"]}
        assert panel_id in panels, f"{rule.id}: {uid} has no panel {panel_id}"
        panel = panels[panel_id]
        assert panel["type"] != "row", rule.id
        measure = getattr(rule, "measure", None)
        if measure is not None:
            sql = " ".join(t["rawSql"] for t in panel["targets"])
            assert measure in sql, f"{rule.id} links to {panel['title']!r}, which lacks {measure}"


def test_no_panel_query_concatenates_anything_but_grafana_variables() -> None:
    """Panel SQL is fixed text: user input reaches it only through Grafana's variables,
    which Grafana quotes, in an IN (...) list."""
    for path in FILES:
        data = json.loads(path.read_text(encoding="utf-8"))
        for p in data["panels"]:
            for t in p.get("targets", []):
                sql = t["rawSql"]
                for var in ("$device", "$area", "$feed", "$severity"):
                    for at in [i for i in range(len(sql)) if sql.startswith(var, i)]:
                        assert sql[max(0, at - 4) : at] == "IN (", f"{p['title']}: {sql}"


def test_a_notification_links_to_the_panel_for_the_subject_and_window() -> None:
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    from services.notify.enqueue import notice_facts  # noqa: PLC0415
    from services.notify.routing import RoutingConfig  # noqa: PLC0415
    from services.rules.alerting import Context, facts  # noqa: PLC0415
    from services.rules.types import Observation, Subject, Verdict  # noqa: PLC0415

    rule = next(r for r in load_rules(default_pack(), load_registry()) if r.id == "air-pm25-24h")
    start = datetime(2026, 11, 29, 16, tzinfo=UTC)
    end = start + timedelta(days=1)
    subject = Subject("air-guantang", "官塘站", "Guantang", "guantang", ("air-guantang",))
    obs = Observation("air-guantang", Verdict(start, end, True, False, 70.0), {"limit": "> 60"})
    routing = RoutingConfig(link_base="https://grafana.example")
    link = notice_facts(facts(Context(rule, subject, routing), obs, end), routing.link_base)["link"]
    ms = int(start.timestamp() * 1000)
    day = 86_400_000
    assert link == (
        f"https://grafana.example/d/liudong-air?from={ms - day}&to={ms + 2 * day}"
        "&var-device=air-guantang&viewPanel=12"
    )
