"""The console's geometry: GCJ-02 for AMap/Tencent tiles, the district map, the charts."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from ingest.registry import load_registry
from ingest.settings import ConsoleSettings
from services.api.console import alerts, chart, district_map, gcj02


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dlat = math.radians(b[0] - a[0])
    dlon = math.radians(b[1] - a[1]) * math.cos(math.radians(a[0]))
    return 6_371_000 * math.hypot(dlat, dlon)


def test_gcj02_moves_a_liudong_point_by_hundreds_of_metres_and_nothing_abroad() -> None:
    station = (24.336715, 109.45956)  # Guantang air station, WGS-84
    moved = gcj02.from_wgs84(*station)
    assert 100 < _metres(station, moved) < 1000
    assert moved[1] > station[1]  # the datum shifts east here
    assert gcj02.from_wgs84(51.5, -0.12) == (51.5, -0.12)


def test_the_datum_follows_the_tile_host_unless_set() -> None:
    assert ConsoleSettings().datum() == "wgs84"
    amap = "https://webrd01.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}&style=8"
    assert ConsoleSettings(tiles=amap).datum() == "gcj02"
    own = "https://tiles.intranet.example/{z}/{x}/{y}.png"
    assert ConsoleSettings(tiles=own).datum() == "wgs84"
    assert ConsoleSettings(tiles=own, tiles_datum="gcj02").datum() == "gcj02"
    with pytest.raises(ValueError, match=r"\{z\}, \{x\} and \{y\}"):
        ConsoleSettings(tiles="https://tiles.example/map.png")


def _devices() -> list[district_map.MapDevice]:
    return [
        district_map.MapDevice(
            d.device_id, d.device_id, d.feed, d.area, d.place.lat, d.place.lon,
            "alerting" if i % 97 == 0 else "reporting",
        )
        for i, d in enumerate(load_registry().devices())
    ]  # fmt: skip


def test_every_device_is_drawn_inside_the_map_and_alerting_ones_on_top() -> None:
    devices = _devices()
    drawn = district_map.build(devices, {}, ConsoleSettings())
    assert len(drawn.points) == len(devices)
    assert all(0 <= p.x <= drawn.width and 0 <= p.y <= drawn.height for p in drawn.points)
    first_alerting = min(i for i, p in enumerate(drawn.points) if p.device.status == "alerting")
    assert all(p.device.status == "alerting" for p in drawn.points[first_alerting:])
    assert drawn.outline.startswith("M")
    assert drawn.outline.endswith("Z")
    assert not drawn.tiles


def test_tiles_cover_the_map_and_points_move_to_gcj02_on_amap() -> None:
    devices = _devices()
    plain = district_map.build(devices, {}, ConsoleSettings())
    amap = "https://webrd01.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}"
    tiled = district_map.build(devices, {}, ConsoleSettings(tiles=amap))
    assert tiled.tiles
    assert min(t.x for t in tiled.tiles) <= 0
    assert min(t.y for t in tiled.tiles) <= 0
    assert max(t.x for t in tiled.tiles) + 256 >= tiled.width
    assert max(t.y for t in tiled.tiles) + 256 >= tiled.height
    assert "z=" in tiled.tiles[0].url
    assert "{" not in tiled.tiles[0].url
    # the same device lands elsewhere relative to the others: east, after conversion
    own = ConsoleSettings(tiles="https://t.example/{z}/{x}/{y}.png")
    wgs_tiled = district_map.build(devices, {}, own)
    assert [p.x for p in wgs_tiled.points] != [p.x for p in tiled.points]
    assert len(plain.points) == len(tiled.points)


def test_a_chart_breaks_its_line_over_gaps_and_marks_flagged_values() -> None:
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    points: list[tuple[datetime, float | None, str | None]] = [
        (t0 + timedelta(minutes=m), float(m), "C" if m == 10 else None) for m in range(20)
    ]
    later = t0 + timedelta(hours=3)
    points += [(later, 5.0, None), (later + timedelta(minutes=1), None, None)]
    drawn = chart.build("cod_mgl", points, t0, t0 + timedelta(hours=4))
    assert drawn is not None
    assert drawn.path.count("M") == 2  # the three-hour gap starts a new line
    assert [f for _, _, f in drawn.flagged] == ["C"]
    assert (drawn.low, drawn.high, drawn.last) == (0.0, 19.0, 5.0)
    assert chart.build("cod_mgl", [(t0, None, None)], t0, t0 + timedelta(hours=1)) is None


def test_evidence_is_shown_rounded_and_in_local_time() -> None:
    shown = dict(
        alerts.evidence_items(
            {"detail": "x", "rise_pct": 34.449794440009924, "value": 12,
             "window": ["2026-12-08T03:44:00+00:00", "2026-12-08T03:49:00+00:00"],
             "flags": {"cod": "C"}, "ok": True}
        )
    )  # fmt: skip
    assert shown["rise_pct"] == "34.45"
    assert shown["window"] == "2026-12-08 11:44 – 2026-12-08 11:49"
    assert shown["flags"] == '{"cod": "C"}'
    assert list(shown)[:2] == ["value", "detail"]
