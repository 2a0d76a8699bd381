"""Time series of one device and measure: raw rows for short spans, rollups for long ones."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from psycopg import sql
from pydantic import AwareDatetime, BaseModel

from ingest.feeds import FEEDS, Kind
from services.api.auth import require
from services.api.deps import DbConn
from services.api.problems import RESPONSES, ApiError

router = APIRouter(prefix="/api/v1", tags=["time series"], responses=RESPONSES)
Bucket = Literal["raw", "hour", "day"]
# The longest span each resolution serves (the cost of a long span stays bounded).
MAX_SPAN: dict[str, timedelta] = {
    "raw": timedelta(days=7),
    "hour": timedelta(days=400),
    "day": timedelta(days=3660),
}
NEXT = {"raw": "hour", "hour": "day"}


class Point(BaseModel):
    t: datetime
    value: float | None = None  # raw
    flag: str | None = None  # raw: the value's data flag when it carried one (C, D …)
    avg: float | None = None  # rollups
    min: float | None = None
    max: float | None = None
    n: int | None = None


class Series(BaseModel):
    device_id: str
    measure: str
    bucket: Bucket
    start: datetime
    end: datetime
    points: list[Point]


def kind_with(conn: DbConn, device_id: str, measure: str) -> Kind:
    row = conn.execute(
        "SELECT feed, device_type FROM device WHERE device_id = %s", (device_id,)
    ).fetchone()
    if row is None:
        raise ApiError(404, f"no device {device_id!r}")
    feed, device_type = row
    kinds = [k for k in FEEDS[feed].kinds if device_type in k.device_types]
    for kind in kinds:
        if measure in kind.numeric_columns:
            return kind
    known = sorted(c for k in kinds for c in k.numeric_columns)
    raise ApiError(422, f"{device_id} has no measure {measure!r}; it has: {', '.join(known)}")


ROLLUP_FIELDS = ("avg", "min", "max", "n")


def _source(kind: Kind, measure: str, bucket: Bucket) -> tuple[str, str, dict[str, sql.Composable]]:
    """The table to read, its time column, and the point's fields as SQL expressions."""
    if bucket == "raw":
        x: sql.Composable = sql.Identifier(measure)
        if kind.sql_types[kind.columns.index(measure)] == "boolean":
            x = sql.SQL("{}::int").format(x)
        return (
            kind.table,
            "ts",
            {
                "value": sql.SQL("{}::double precision").format(x),
                "flag": sql.SQL("flags ->> {}").format(sql.Literal(measure)),
            },
        )
    if kind.rollup is None or measure not in kind.rollup.measures:
        raise ApiError(422, f"{measure} is not rolled up; ask for bucket=raw over at most 7 days")
    table = f"{kind.table}_{'hourly' if bucket == 'hour' else 'daily'}"
    return table, "bucket", {s: sql.Identifier(f"{measure}_{s}") for s in ROLLUP_FIELDS}


def _where(table: str, time_col: str) -> sql.Composed:
    return sql.SQL("FROM {t} WHERE device_id = %(d)s AND {c} >= %(a)s AND {c} < %(b)s").format(
        t=sql.Identifier(table), c=sql.Identifier(time_col)
    )


def series_points(
    conn: DbConn, kind: Kind, device_id: str, measure: str, *, bucket: Bucket,
    start: datetime, end: datetime,
) -> list[Point]:  # fmt: skip
    table, time_col, fields = _source(kind, measure, bucket)
    query = sql.SQL("SELECT {c}, {f} {w} ORDER BY {c}").format(
        c=sql.Identifier(time_col),
        f=sql.SQL(", ").join(fields.values()),
        w=_where(table, time_col),
    )
    rows = conn.execute(query, {"d": device_id, "a": start, "b": end}).fetchall()
    return [Point(t=r[0], **dict(zip(fields, r[1:], strict=True))) for r in rows]


def _json(
    conn: DbConn, kind: Kind, device_id: str, measure: str, *, bucket: Bucket,
    start: datetime, end: datetime,
) -> Response:  # fmt: skip
    """The series as ``Series`` JSON, built by the database: a day of raw rows is
    thousands of points, and building them as Python objects cost most of the time.
    A point carries only its own fields (``t``, ``value`` and ``flag``, or ``t`` and the
    rollup's)."""
    table, time_col, fields = _source(kind, measure, bucket)
    columns = sql.SQL(", ").join(
        sql.SQL("{} AS {}").format(expr, sql.Identifier(name)) for name, expr in fields.items()
    )
    query = sql.SQL(
        "SELECT json_build_object('device_id', %(d)s::text, 'measure', %(m)s::text,"
        " 'bucket', %(k)s::text, 'start', %(a)s::timestamptz, 'end', %(b)s::timestamptz,"
        " 'points', coalesce(json_agg(p ORDER BY p.t), '[]'::json))::text"
        " FROM (SELECT {c} AS t, {f} {w}) p"
    ).format(c=sql.Identifier(time_col), f=columns, w=_where(table, time_col))
    row = conn.execute(
        query, {"d": device_id, "m": measure, "k": bucket, "a": start, "b": end}
    ).fetchone()
    assert row is not None  # an aggregate always returns a row
    return Response(row[0], media_type="application/json")


def _csv(series: Series) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    if series.bucket == "raw":
        writer.writerow(["t", series.measure, "flag"])
        writer.writerows([p.t.isoformat(), p.value, p.flag or ""] for p in series.points)
    else:
        writer.writerow(["t", "avg", "min", "max", "n"])
        writer.writerows([p.t.isoformat(), p.avg, p.min, p.max, p.n] for p in series.points)
    name = f"{series.device_id}_{series.measure}_{series.bucket}.csv"
    return Response(
        out.getvalue(), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )  # fmt: skip


@router.get(
    "/devices/{device_id}/series",
    response_model=Series,
    dependencies=[Depends(require("viewer"))],
    responses={200: {"content": {"text/csv": {}}}},
)
def get_series(
    *,
    conn: DbConn,
    device_id: str,
    measure: Annotated[str, Query(pattern=r"^[a-z0-9_]{1,64}$")],
    start: Annotated[AwareDatetime, Query(alias="from")],
    end: Annotated[AwareDatetime, Query(alias="to")],
    bucket: Bucket = "raw",
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Series | Response:
    """``raw`` serves up to 7 days, ``hour`` up to 400, ``day`` up to 10 years."""
    if end <= start:
        raise ApiError(422, "to must be after from")
    if end - start > MAX_SPAN[bucket]:
        advice = f"; use bucket={NEXT[bucket]}" if bucket in NEXT else ""
        raise ApiError(422, f"bucket={bucket} serves at most {MAX_SPAN[bucket].days} days{advice}")
    kind = kind_with(conn, device_id, measure)
    if fmt == "json":
        return _json(conn, kind, device_id, measure, bucket=bucket, start=start, end=end)
    series = Series(
        device_id=device_id, measure=measure, bucket=bucket, start=start, end=end,
        points=series_points(conn, kind, device_id, measure, bucket=bucket, start=start, end=end),
    )  # fmt: skip
    return _csv(series)
