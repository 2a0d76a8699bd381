"""Load ``liudong.json`` and mirror it into the registry tables."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from ingest.registry.model import Device, Registry, Reporting

log = logging.getLogger(__name__)
SECRETS = {"secrets": True}  # serialisation context: write the keys, not their masks


def load_registry(path: str | Path | None = None) -> Registry:
    """The registry file given, or the district's own shipped with the package."""
    if path is None:
        data = resources.files("ingest.registry").joinpath("liudong.json").read_bytes()
    else:
        data = Path(path).read_bytes()
    return Registry.model_validate_json(data)


def dump_registry(registry: Registry) -> str:
    """The registry as its file holds it: passwords and keys included (never log this)."""
    return registry.model_dump_json(context=SECRETS)


def sync_registry(conn: psycopg.Connection[TupleRow], registry: Registry) -> dict[str, int]:
    """Upsert every area, device and site; devices no longer in the file are retired.

    Devices an administrator created or changed through the API (``attrs.source = 'api'``)
    are managed there and left as they are."""
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO area (code, name_zh, name_en) VALUES (%s, %s, %s)"
            " ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh,"
            " name_en = excluded.name_en",
            [(a.code, a.name_zh, a.name_en) for a in registry.areas],
        )
        devices = registry.devices()
        cur.executemany(
            "INSERT INTO device (device_id, feed, device_type, name_zh, name_en, area,"
            " parent_id, lat, lon, attrs, retired_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL)"
            " ON CONFLICT (device_id) DO UPDATE SET feed = excluded.feed,"
            " device_type = excluded.device_type, name_zh = excluded.name_zh,"
            " name_en = excluded.name_en, area = excluded.area, parent_id = excluded.parent_id,"
            " lat = excluded.lat, lon = excluded.lon,"
            " attrs = (device.attrs - 'transport' - 'hj212') || excluded.attrs,"
            " retired_at = NULL, updated_at = now()"
            " WHERE device.attrs->>'source' IS DISTINCT FROM 'api'",
            [
                (
                    d.device_id,
                    d.feed,
                    d.device_type,
                    d.place.name_zh,
                    d.place.name_en,
                    d.area,
                    d.parent_id,
                    d.place.lat,
                    d.place.lon,
                    Jsonb(reporting_attrs(d)),
                )
                for d in devices
            ],
        )
        cur.execute(
            "UPDATE device SET retired_at = now() WHERE retired_at IS NULL"
            " AND NOT (device_id = ANY(%s)) AND attrs->>'source' IS DISTINCT FROM 'api'",
            ([d.device_id for d in devices],),
        )
        retired = cur.rowcount
        cur.executemany(
            "INSERT INTO wastewater_site (device_id, site_type, service_zone,"
            " design_capacity_m3d, discharge_standard, receiving_water, commissioned)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (device_id) DO UPDATE SET"
            " site_type = excluded.site_type, service_zone = excluded.service_zone,"
            " design_capacity_m3d = excluded.design_capacity_m3d,"
            " discharge_standard = excluded.discharge_standard,"
            " receiving_water = excluded.receiving_water, commissioned = excluded.commissioned",
            [
                (
                    s.id,
                    s.type,
                    s.service_zone,
                    s.design_capacity_m3d,
                    s.discharge_standard,
                    s.receiving_water,
                    s.commissioned,
                )
                for s in registry.wastewater
            ],
        )
        cur.executemany(
            "INSERT INTO dma (device_id, population, mains_km, service_connections,"
            " leakage_target_pct) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (device_id) DO UPDATE"
            " SET population = excluded.population, mains_km = excluded.mains_km,"
            " service_connections = excluded.service_connections,"
            " leakage_target_pct = excluded.leakage_target_pct",
            [
                (d.id, d.population, d.mains_km, d.service_connections, d.leakage_target_pct)
                for d in registry.dmas
            ],
        )
        cur.executemany(
            "INSERT INTO intersection (intersection_id, name_zh, name_en, area, road_zh,"
            " road_en, lat, lon) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (intersection_id) DO UPDATE SET name_zh = excluded.name_zh,"
            " name_en = excluded.name_en, area = excluded.area, road_zh = excluded.road_zh,"
            " road_en = excluded.road_en, lat = excluded.lat, lon = excluded.lon",
            [
                (i.id, i.name_zh, i.name_en, i.area, i.road_zh, i.road_en, i.lat, i.lon)
                for i in registry.intersections
            ],
        )
    counts = {"devices": len(devices), "retired": retired, "areas": len(registry.areas)}
    log.info("registry synced", extra=counts)
    return counts


def reporting_attrs(device: Device) -> dict[str, Any]:
    """How a plant or station reports (``transport``) and its logger's identity, for the
    device's ``attrs``; the logger's password stays in the registry file."""
    site = device.place
    if not isinstance(site, Reporting):
        return {}
    out: dict[str, Any] = {"transport": site.transport}
    if site.hj212 is not None:
        out["hj212"] = site.hj212.model_dump(mode="json", include={"mn", "st", "edition", "crc"})
    return out


def device_types(conn: psycopg.Connection[TupleRow]) -> dict[str, str]:
    """device_id → device_type of every device in service."""
    rows = conn.execute(
        "SELECT device_id, device_type FROM device WHERE retired_at IS NULL"
    ).fetchall()
    return {str(d): str(t) for d, t in rows}
