"""The registry: plants, stations, DMAs, meters, loggers, RSUs — with their latest data."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from psycopg import sql
from pydantic import BaseModel, Field

from ingest.broker import issue_device_account
from ingest.feeds import FEEDS, FeedName
from ingest.registry.model import LAT_RANGE, LON_RANGE
from services.api.auth import Principal, audit, require
from services.api.deps import DbConn, Paging
from services.api.problems import RESPONSES, ApiError
from services.api.readings import reading

router = APIRouter(prefix="/api/v1", tags=["registry"], responses=RESPONSES)
Status = Literal["reporting", "silent", "never", "retired"]
SILENT_AFTER_S = 900  # no data for 15 minutes: silent
# Devices that report less often are silent only after missing their own period: leak
# loggers send one night's noise figures a day.
SILENT_AFTER_BY_TYPE: dict[str, int] = {"leak_logger": 26 * 3600}
SILENT_SQL = (
    "make_interval(secs => coalesce((%(silent_by_type)s::jsonb ->> d.device_type)::int,"
    " %(silent)s))"
)


def silent_params() -> dict[str, object]:
    return {"silent": SILENT_AFTER_S, "silent_by_type": json.dumps(SILENT_AFTER_BY_TYPE)}


class Device(BaseModel):
    device_id: str
    feed: FeedName
    device_type: str
    name_zh: str
    name_en: str
    area: str
    parent_id: str | None
    lat: float
    lon: float
    status: Status
    last_seen: datetime | None


class DevicePage(BaseModel):
    items: list[Device]
    total: int
    limit: int
    offset: int


class Latest(BaseModel):
    kind: str
    ts: datetime
    values: dict[str, Any]
    # the data flag of each measure that carried one (N normal, C calibration, D fault …);
    # a measure not named here is valid (N)
    flags: dict[str, str] = Field(default_factory=dict)


class DeviceDetail(Device):
    attrs: dict[str, Any]
    latest: list[Latest]


_SELECT = (
    """
SELECT d.device_id, d.feed, d.device_type, d.name_zh, d.name_en, d.area, d.parent_id,
       d.lat, d.lon,
       CASE WHEN d.retired_at IS NOT NULL THEN 'retired'
            WHEN l.ts IS NULL THEN 'never'
            WHEN l.ts > now() - """
    + SILENT_SQL
    + """ THEN 'reporting'
            ELSE 'silent' END AS status,
       l.ts AS last_seen, d.attrs
FROM device d
LEFT JOIN (SELECT device_id, max(ts) AS ts FROM device_latest GROUP BY device_id) l
  USING (device_id)
"""
)


def _device(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = (
        "device_id", "feed", "device_type", "name_zh", "name_en", "area", "parent_id",
        "lat", "lon", "status", "last_seen",
    )  # fmt: skip
    return dict(zip(keys, row[:11], strict=True))


@router.get("/devices", response_model=DevicePage, dependencies=[Depends(require("viewer"))])
def list_devices(
    *,
    conn: DbConn,
    paging: Paging,
    feed: FeedName | None = None,
    area: Annotated[str | None, Query(pattern=r"^[a-z0-9_-]{1,64}$")] = None,
    device_type: Annotated[str | None, Query(alias="type", pattern=r"^[a-z_]{1,64}$")] = None,
    status: Status | None = None,
) -> DevicePage:
    """Devices with their reporting status, filtered by feed, area, type and status."""
    params: dict[str, Any] = {
        **silent_params(), "feed": feed, "area": area, "type": device_type,
        "status": status, "limit": paging.limit, "offset": paging.offset,
    }  # fmt: skip
    query = (
        "WITH d AS (" + _SELECT + ") SELECT *, count(*) OVER () FROM d"
        " WHERE (%(feed)s::text IS NULL OR feed = %(feed)s)"
        " AND (%(area)s::text IS NULL OR area = %(area)s)"
        " AND (%(type)s::text IS NULL OR device_type = %(type)s)"
        " AND (%(status)s::text IS NULL OR status = %(status)s)"
        " ORDER BY device_id LIMIT %(limit)s OFFSET %(offset)s"
    )
    rows = conn.execute(query.encode(), params).fetchall()
    total = int(rows[0][-1]) if rows else 0
    return DevicePage(
        items=[Device(**_device(r)) for r in rows],
        total=total, limit=paging.limit, offset=paging.offset,
    )  # fmt: skip


def latest_rows(conn: DbConn, device_id: str, feed: str) -> list[Latest]:
    out = []
    for kind in FEEDS[feed].kinds:
        found = reading(conn, kind, device_id)
        if found is not None:
            out.append(Latest(kind=kind.name, ts=found.ts, values=found.values, flags=found.flags))
    return out


@router.get(
    "/devices/{device_id}",
    response_model=DeviceDetail,
    dependencies=[Depends(require("viewer"))],
)
def get_device(conn: DbConn, device_id: str) -> DeviceDetail:
    """One device with its registry attributes and its latest reading of each kind."""
    row = conn.execute(
        (_SELECT + " WHERE d.device_id = %(id)s").encode(),
        {**silent_params(), "id": device_id},
    ).fetchone()
    if row is None:
        raise ApiError(404, f"no device {device_id!r}")
    base = _device(row)
    return DeviceDetail(**base, attrs=row[11], latest=latest_rows(conn, device_id, base["feed"]))


# -- administration ----------------------------------------------------------------------

ID = r"^[a-z0-9][a-z0-9._-]{0,63}$"
Lat = Annotated[float, Field(ge=LAT_RANGE[0], le=LAT_RANGE[1])]
Lon = Annotated[float, Field(ge=LON_RANGE[0], le=LON_RANGE[1])]


class NewDevice(BaseModel):
    device_id: str = Field(pattern=ID)
    feed: FeedName
    device_type: str = Field(pattern=r"^[a-z_]{1,64}$")
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    area: str = Field(pattern=ID)
    parent_id: str | None = Field(default=None, pattern=ID)
    lat: Lat
    lon: Lon


class DeviceChange(BaseModel):
    name_zh: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    area: str | None = Field(default=None, pattern=ID)
    parent_id: str | None = Field(default=None, pattern=ID)
    lat: Lat | None = None
    lon: Lon | None = None


def _check_area(conn: DbConn, area: str | None) -> None:
    if (
        area is not None
        and not conn.execute("SELECT 1 FROM area WHERE code = %s", (area,)).fetchone()
    ):
        raise ApiError(422, f"unknown area {area!r}")


class BrokerAccount(BaseModel):
    """The device's account on the MQTT broker: its secret is shown only here, once."""

    username: str
    secret: str
    publishes: str = Field(description="the topics it may publish to")
    applies: str = Field(description="when the broker admits it")


class NewDeviceDetail(DeviceDetail):
    mqtt: BrokerAccount


def _account(request: Request, conn: DbConn, device_id: str, feed: str) -> BrokerAccount:
    root = request.app.state.settings.mqtt.topic_root
    return BrokerAccount(
        username=device_id,
        secret=issue_device_account(conn, device_id, feed),
        publishes=f"{root}/{feed}/{device_id}/<kind>",
        applies="once `envmon broker config` has run with the database and the broker has"
        " restarted",
    )


@router.post("/devices", response_model=NewDeviceDetail, status_code=201)
def create_device(
    *,
    request: Request,
    conn: DbConn,
    body: NewDevice,
    who: Annotated[Principal, Depends(require("admin"))],
) -> NewDeviceDetail:
    """Register a device (it is managed through the API from then on; the collectors accept
    it within a minute) and issue it a broker account, whose secret is shown only here."""
    types = {t for k in FEEDS[body.feed].kinds for t in k.device_types}
    if body.device_type not in types:
        raise ApiError(422, f"a {body.feed} device is one of: {', '.join(sorted(types))}")
    _check_area(conn, body.area)
    if conn.execute("SELECT 1 FROM device WHERE device_id = %s", (body.device_id,)).fetchone():
        raise ApiError(409, f"device {body.device_id!r} exists")
    with conn.transaction():  # the device and its account, or neither
        conn.execute(
            "INSERT INTO device (device_id, feed, device_type, name_zh, name_en, area,"
            " parent_id, lat, lon, attrs) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                body.device_id, body.feed, body.device_type, body.name_zh, body.name_en,
                body.area, body.parent_id, body.lat, body.lon, json.dumps({"source": "api"}),
            ),
        )  # fmt: skip
        account = _account(request, conn, body.device_id, body.feed)
    after = get_device(conn, body.device_id)
    audit(conn, who, request, 201, after=after.model_dump(mode="json", exclude={"latest"}))
    return NewDeviceDetail(**after.model_dump(), mqtt=account)


@router.post("/devices/{device_id}/mqtt-secret", response_model=BrokerAccount)
def rotate_secret(
    *,
    request: Request,
    conn: DbConn,
    device_id: str,
    who: Annotated[Principal, Depends(require("admin"))],
) -> BrokerAccount:
    """A new broker secret for a device registered through the API (shown only here; the
    old one works until the broker's security file is written again)."""
    device = get_device(conn, device_id)
    if device.attrs.get("source") != "api" or device.status == "retired":
        raise ApiError(
            409, f"{device_id!r} is not a device in service registered through the API; rotate"
            " the registry's devices with `envmon broker config --rotate`",
        )  # fmt: skip
    account = _account(request, conn, device_id, device.feed)
    audit(conn, who, request, 200, after={"rotated": device_id})
    return account


def _change(conn: DbConn, device_id: str, fields: dict[str, Any]) -> None:
    sets: list[sql.Composable] = [sql.SQL("{} = %s").format(sql.Identifier(k)) for k in fields]
    sets.append(sql.SQL('attrs = attrs || \'{"source": "api"}\', updated_at = now()'))
    conn.execute(
        sql.SQL("UPDATE device SET {} WHERE device_id = %s").format(sql.SQL(", ").join(sets)),
        (*fields.values(), device_id),
    )


@router.patch("/devices/{device_id}", response_model=DeviceDetail)
def change_device(
    *,
    request: Request,
    conn: DbConn,
    device_id: str,
    body: DeviceChange,
    who: Annotated[Principal, Depends(require("admin"))],
) -> DeviceDetail:
    """Change a device's names, area, parent or position (it is managed through the API from
    then on: the registry file no longer overwrites it)."""
    before = get_device(conn, device_id)
    fields = body.model_dump(exclude_unset=True)
    _check_area(conn, fields.get("area"))
    _change(conn, device_id, fields)
    after = get_device(conn, device_id)
    audit(
        conn, who, request, 200,
        before=before.model_dump(mode="json", exclude={"latest"}),
        after=after.model_dump(mode="json", exclude={"latest"}),
    )  # fmt: skip
    return after


@router.delete("/devices/{device_id}", response_model=DeviceDetail)
def retire_device(
    *,
    request: Request,
    conn: DbConn,
    device_id: str,
    who: Annotated[Principal, Depends(require("admin"))],
) -> DeviceDetail:
    """Retire a device: its history stays; the collectors refuse its new messages."""
    before = get_device(conn, device_id)
    conn.execute(
        "UPDATE device SET retired_at = coalesce(retired_at, now()),"
        ' attrs = attrs || \'{"source": "api"}\', updated_at = now() WHERE device_id = %s',
        (device_id,),
    )
    after = get_device(conn, device_id)
    audit(conn, who, request, 200, before={"status": before.status}, after={"status": after.status})
    return after
