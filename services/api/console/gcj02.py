"""WGS-84 → GCJ-02, the datum of AMap's and Tencent's basemaps.

Devices report WGS-84 (GNSS) coordinates; drawn unconverted on a GCJ-02 basemap they sit
hundreds of metres off their streets. The conversion is the published one (Krasovsky
ellipsoid and the offset polynomials in common use); it applies inside China only.
"""

from __future__ import annotations

import math

_A = 6378245.0  # Krasovsky 1940 semi-major axis, metres
_EE = 0.00669342162296594323  # its first eccentricity squared


def in_china(lat: float, lon: float) -> bool:
    """The rough box the datum applies to (the offset is not applied outside it)."""
    return 0.8293 <= lat <= 55.8271 and 72.004 <= lon <= 137.8347


def _lat_offset(x: float, y: float) -> float:
    out = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    out += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    out += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    out += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return out


def _lon_offset(x: float, y: float) -> float:
    out = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    out += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    out += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    out += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return out


def from_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """(lat, lon) on GCJ-02 for a WGS-84 point."""
    if not in_china(lat, lon):
        return lat, lon
    dlat = _lat_offset(lon - 105.0, lat - 35.0)
    dlon = _lon_offset(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    root = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * root) * math.pi)
    dlon = (dlon * 180.0) / (_A / root * math.cos(rad) * math.pi)
    return lat + dlat, lon + dlon
