"""The district map as SVG geometry: devices by status over the district's outline.

No map library and no internet: points are placed by the Web Mercator projection, and the
outline is the convex hull of the registered devices, widened a little. With a tile server
configured, its tiles are laid under the same projection (and the points moved to GCJ-02
when the tiles are AMap's or Tencent's).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.settings import ConsoleSettings
from services.api.console import gcj02

WIDTH = 960
MARGIN = 28.0
TILE = 256
STATUS_ORDER = ("alerting", "maintenance", "silent", "never", "reporting")


@dataclass(frozen=True)
class MapDevice:
    device_id: str
    name: str
    feed: str
    area: str
    lat: float
    lon: float
    status: str  # reporting | silent | never | alerting | maintenance


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    device: MapDevice


@dataclass(frozen=True)
class Tile:
    url: str
    x: float
    y: float


@dataclass(frozen=True)
class DistrictMap:
    width: int
    height: int
    points: list[Point]  # drawn in this order: alerting devices last, on top
    outline: str  # SVG path data
    labels: list[tuple[str, float, float]]  # area name, x, y
    tiles: list[Tile]


def _world(lat: float, lon: float, zoom: float) -> tuple[float, float]:
    """Web Mercator pixel coordinates at ``zoom``."""
    scale = TILE * 2**zoom
    x = (lon + 180.0) / 360.0 * scale
    s = math.sin(math.radians(max(min(lat, 85.0), -85.0)))
    y = (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * scale
    return x, y


def _hull(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Convex hull, counter-clockwise (Andrew's monotone chain)."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _widened(hull: list[tuple[float, float]], by: float) -> str:
    if not hull:
        return ""
    cx = sum(x for x, _ in hull) / len(hull)
    cy = sum(y for _, y in hull) / len(hull)
    out = []
    for x, y in hull:
        d = math.hypot(x - cx, y - cy) or 1.0
        out.append(f"{x + (x - cx) / d * by:.1f},{y + (y - cy) / d * by:.1f}")
    return "M" + " L".join(out) + " Z"


def build(
    devices: Sequence[MapDevice], area_names: dict[str, str], console: ConsoleSettings
) -> DistrictMap:
    to_gcj = console.tiles is not None and console.datum() == "gcj02"
    coords = [gcj02.from_wgs84(d.lat, d.lon) if to_gcj else (d.lat, d.lon) for d in devices]
    if not coords:
        return DistrictMap(WIDTH, 400, [], "", [], [])
    lats, lons = [c[0] for c in coords], [c[1] for c in coords]
    span_x = max(_world(0, max(lons), 0)[0] - _world(0, min(lons), 0)[0], 1e-6)
    zoom = math.log2((WIDTH - 2 * MARGIN) / span_x)
    if console.tiles is not None:
        zoom = math.floor(zoom)  # tiles come at whole zoom levels
    left, top = _world(max(lats), min(lons), zoom)
    right, bottom = _world(min(lats), max(lons), zoom)
    ox, oy = left - MARGIN, top - MARGIN
    width = round(right - left + 2 * MARGIN)
    height = round(bottom - top + 2 * MARGIN)
    placed = []
    for d, (lat, lon) in zip(devices, coords, strict=True):
        x, y = _world(lat, lon, zoom)
        placed.append(Point(x - ox, y - oy, d))
    placed.sort(key=lambda p: -STATUS_ORDER.index(p.device.status))
    by_area: dict[str, list[Point]] = defaultdict(list)
    for p in placed:
        by_area[p.device.area].append(p)
    labels = [
        (area_names.get(a, a), sum(p.x for p in ps) / len(ps), sum(p.y for p in ps) / len(ps))
        for a, ps in sorted(by_area.items())
    ]
    tiles = []
    if console.tiles is not None:
        z = int(zoom)
        for tx in range(int(ox // TILE), int((ox + width) // TILE) + 1):
            for ty in range(int(oy // TILE), int((oy + height) // TILE) + 1):
                url = console.tiles.format(z=z, x=tx, y=ty)
                tiles.append(Tile(url, tx * TILE - ox, ty * TILE - oy))
    outline = _widened(_hull([(p.x, p.y) for p in placed]), MARGIN * 0.6)
    return DistrictMap(width, height, placed, outline, labels, tiles)
