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
