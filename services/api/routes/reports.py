"""Reports as files: ``GET /api/v1/reports/{name}`` for a local day, month or year."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from services.api.auth import require
from services.api.deps import DbConn
from services.api.problems import RESPONSES, ApiError
from services.reports import REPORTS, build_report, parse_period
from services.reports.formats import MEDIA_TYPES, Format, ReportFontError, filename, render

router = APIRouter(
    prefix="/api/v1/reports", tags=["reports"], responses=RESPONSES,
    dependencies=[Depends(require("viewer"))],
)  # fmt: skip
CHUNK = 64 * 1024
Name = Literal[
    "air-daily", "air-monthly", "air-annual", "wwtp-monthly", "leakage-monthly", "rsu-monthly"
]


@router.get("", response_model=list[str])
def list_reports() -> list[str]:
    """The reports there are."""
    return list(REPORTS)


@router.get(
    "/{name}",
    response_class=StreamingResponse,
    responses={200: {"content": {m: {} for m in MEDIA_TYPES.values()}, "description": "the file"}},
)
def get_report(
    request: Request,
    conn: DbConn,
    name: Name,
    *,
    day: Annotated[
        str | None, Query(alias="date", description="YYYY-MM-DD (daily reports)")
    ] = None,
    month: Annotated[str | None, Query(description="YYYY-MM (monthly reports)")] = None,
    year: Annotated[str | None, Query(description="YYYY (annual reports)")] = None,
    fmt: Annotated[Format, Query(alias="format")] = "json",
    lang: Literal["zh", "en"] = "zh",
) -> StreamingResponse:
    """The report ``name`` for a local day (``date``), month or year (Asia/Shanghai), as
    JSON, CSV, XLSX or PDF; the same figures as ``envmon report``."""
    try:
        period = parse_period(day=day, month=month, year=year)
        report = build_report(conn, request.app.state.registry, name, period)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    try:
        data = render(report, fmt, lang, font=request.app.state.settings.reports.font)
    except ReportFontError as exc:
        raise ApiError(503, str(exc)) from None

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(data), CHUNK):
            yield data[i : i + CHUNK]

    return StreamingResponse(
        chunks(),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename(report, fmt)}"'},
    )
