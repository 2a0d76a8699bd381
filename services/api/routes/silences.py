"""Maintenance windows: silence a device or an area (notifications held, alerts recorded)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from services.api.auth import Principal, audit, require
from services.api.deps import DbConn
from services.api.problems import RESPONSES, ApiError

router = APIRouter(prefix="/api/v1", tags=["alerts"], responses=RESPONSES)
ID = r"^[a-z0-9][a-z0-9._-]{0,63}$"


class NewSilence(BaseModel):
    device_id: str | None = Field(default=None, pattern=ID)
    area: str | None = Field(default=None, pattern=ID)
    starts_at: AwareDatetime | None = Field(default=None, description="default: now")
    ends_at: AwareDatetime
    comment: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _target_and_order(self) -> NewSilence:
        if (self.device_id is None) == (self.area is None):
            raise ValueError("give exactly one of device_id and area")
        if self.starts_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class Silence(BaseModel):
    id: int
    device_id: str | None
    area: str | None
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str


_COLUMNS = "id, device_id, area, starts_at, ends_at, created_by, comment"


def _silence(row: tuple[Any, ...]) -> Silence:
    keys = ("id", "device_id", "area", "starts_at", "ends_at", "created_by", "comment")
    return Silence(**dict(zip(keys, row, strict=True)))


@router.get("/silences", response_model=list[Silence], dependencies=[Depends(require("viewer"))])
def list_silences(conn: DbConn, include_past: bool = False) -> list[Silence]:
    """Current and future maintenance windows (and past ones with ``include_past``)."""
    rows = conn.execute(
        "SELECT " + _COLUMNS + " FROM silence WHERE %s OR ends_at > now() ORDER BY starts_at",
        (include_past,),
    ).fetchall()
    return [_silence(r) for r in rows]


@router.post("/silences", response_model=Silence, status_code=201)
def create_silence(
    *,
    request: Request,
    conn: DbConn,
    body: NewSilence,
    who: Annotated[Principal, Depends(require("operator"))],
) -> Silence:
    """Hold the notifications of a device or area for a maintenance window."""
    assert who.name is not None
    starts = body.starts_at or datetime.now(UTC)
    if body.ends_at <= starts:
        raise ApiError(422, "ends_at must be in the future")
    if (
        body.device_id is not None
        and not conn.execute(
            "SELECT 1 FROM device WHERE device_id = %s", (body.device_id,)
        ).fetchone()
    ):
        raise ApiError(404, f"no device {body.device_id!r}")
    if (
        body.area is not None
        and not conn.execute("SELECT 1 FROM area WHERE code = %s", (body.area,)).fetchone()
    ):
        raise ApiError(404, f"no area {body.area!r}")
    row = conn.execute(
        "INSERT INTO silence (device_id, area, starts_at, ends_at, created_by, comment)"
        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING " + _COLUMNS,
        (body.device_id, body.area, starts, body.ends_at, who.name, body.comment),
    ).fetchone()
    assert row is not None
    silence = _silence(row)
    audit(conn, who, request, 201, after=silence.model_dump(mode="json"))
    return silence


@router.delete("/silences/{silence_id}", response_model=Silence)
def end_silence(
    *,
    request: Request,
    conn: DbConn,
    silence_id: int,
    who: Annotated[Principal, Depends(require("operator"))],
) -> Silence:
    """End a maintenance window now."""
    before = conn.execute(
        "SELECT " + _COLUMNS + " FROM silence WHERE id = %s",
        (silence_id,),
    ).fetchone()
    if before is None:
        raise ApiError(404, f"no silence {silence_id}")
    row = conn.execute(
        "UPDATE silence SET ends_at = greatest(starts_at + interval '1 microsecond',"
        " least(ends_at, now())) WHERE id = %s RETURNING " + _COLUMNS,
        (silence_id,),
    ).fetchone()
    assert row is not None
    after = _silence(row)
    audit(
        conn, who, request, 200,
        before=_silence(before).model_dump(mode="json"), after=after.model_dump(mode="json"),
    )  # fmt: skip
    return after
