"""``envmon dashboards push`` against a local server that speaks Grafana's HTTP API."""

from __future__ import annotations

import json

import pytest

from dashboards.build import FOLDER_UID, OUT_DIR
from dashboards.push import PushError, datasource_body, push
from dashboards.sql import DATASOURCE_TYPE, DATASOURCE_UID
from envmon.runtime.embedded import free_port
from tests.fixtures.grafana import FakeGrafana

DB_URL = "postgresql://grafana_reader:s%40cret@db.example:5433/envmon"


def test_push_creates_then_updates_by_uid(fake_grafana: FakeGrafana) -> None:
    first = push(fake_grafana.url, fake_grafana.token, datasource=datasource_body(DB_URL))
    assert first.version == "11.6.0"
    assert first.folder == "created"
    assert first.datasource == "created"
    assert set(fake_grafana.folders) == {FOLDER_UID}
    ds = fake_grafana.datasources[DATASOURCE_UID]
    assert ds["type"] == DATASOURCE_TYPE
    assert ds["url"] == "db.example:5433"
    assert ds["user"] == "grafana_reader"
    assert ds["secureJsonData"] == {"password": "s@cret"}
    assert ds["jsonData"]["database"] == "envmon"
    committed = {
        json.loads(p.read_text(encoding="utf-8"))["uid"]: json.loads(p.read_text(encoding="utf-8"))
        for p in OUT_DIR.glob("*.json")
    }
    assert set(fake_grafana.dashboards) == set(committed)
    for uid, saved in fake_grafana.dashboards.items():
        assert saved["dashboard"] == committed[uid]
        assert saved["folderUid"] == FOLDER_UID
        assert saved["version"] == 1

    second = push(fake_grafana.url, fake_grafana.token, datasource=datasource_body(DB_URL))
    assert second.folder == "exists"
    assert second.datasource == "updated"
    assert len(fake_grafana.datasources) == 1
    assert {s["version"] for s in fake_grafana.dashboards.values()} == {2}


def test_without_a_datasource_it_is_left_alone(fake_grafana: FakeGrafana) -> None:
    report = push(fake_grafana.url, fake_grafana.token)
    assert report.datasource == "left alone"
    assert fake_grafana.datasources == {}
    assert len(report.dashboards) == 6


def test_a_bad_token_is_named(fake_grafana: FakeGrafana) -> None:
    with pytest.raises(PushError, match=r"refused the token \(401\)"):
        push(fake_grafana.url, "glsa_wrong")
    assert fake_grafana.dashboards == {}


def test_a_token_without_write_rights_is_named(fake_grafana: FakeGrafana) -> None:
    with pytest.raises(PushError, match=r"\(403\).*Editor"):
        push(fake_grafana.url, fake_grafana.read_only_token)


def test_an_unreachable_server_is_named() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PushError, match="cannot reach Grafana"):
        push(url, "glsa_any", timeout=2)


def test_an_old_grafana_is_refused(fake_grafana: FakeGrafana) -> None:
    fake_grafana.version = "9.5.2"
    with pytest.raises(PushError, match=r"Grafana 9\.5\.2 .* too old"):
        push(fake_grafana.url, fake_grafana.token)
    assert [m for m, _ in fake_grafana.requests] == ["GET"]


def test_a_bad_database_url_is_refused() -> None:
    with pytest.raises(PushError, match="not a PostgreSQL URL"):
        datasource_body("mysql://x@y/z")


def test_the_command_line(fake_grafana: FakeGrafana, capsys: pytest.CaptureFixture[str]) -> None:
    from envmon.cli import main  # noqa: PLC0415

    assert main(["dashboards", "build", "--check"]) == 0
    url, token = fake_grafana.url, fake_grafana.token
    assert main(["dashboards", "push", "--url", url, "--token", token, "--no-datasource"]) == 0
    out = capsys.readouterr().out
    assert "Grafana 11.6.0" in out
    assert f"{url}/d/liudong-overview" in out
    assert main(["dashboards", "push", "--url", url, "--token", "nope", "--no-datasource"]) == 1
    assert "refused the token" in capsys.readouterr().err
    assert main(["dashboards", "push", "--token", token]) == 2  # no URL anywhere
