"""Dead letters: what the collectors refused and why; re-ingestion after a fix.

Re-ingesting decodes the stored bytes again with today's registry and contract (a device
added to the registry since, a corrected topic root) and stores what is now valid through
ingest's own writer; what is still refused stays, with its new reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from ingest.collector.decode import Accepted, Decoder
from ingest.collector.inbound import Inbound
from ingest.collector.writer import BatchWriter
from ingest.registry.store import device_types
from services.api.auth import Principal, audit, require
from services.api.deps import DbConn, Paging
from services.api.problems import RESPONSES

router = APIRouter(prefix="/api/v1", tags=["dead letters"], responses=RESPONSES)


class DeadLetter(BaseModel):
    id: int
    received_at: datetime
    topic: str
    reason: str
    detail: str
    device_id: str | None
    feed: str | None
    payload: str  # UTF-8 with replacement characters; the raw bytes stay in the database


class DeadLetterPage(BaseModel):
    items: list[DeadLetter]
    total: int
    limit: int
    offset: int


class Reingest(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=10_000)


class ReingestResult(BaseModel):
    stored: list[int]
    still_refused: dict[int, str]
    not_found: list[int]


@router.get(
    "/dead-letters", response_model=DeadLetterPage, dependencies=[Depends(require("viewer"))]
)
def list_dead_letters(
    *,
    conn: DbConn,
    paging: Paging,
    reason: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,39}$")] = None,
    feed: Annotated[str | None, Query(pattern=r"^[a-z0-9]{1,20}$")] = None,
    device_id: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")] = None,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
) -> DeadLetterPage:
    """Refused messages, newest first, by reason, feed, device and receive time.

    ``reason`` is one of the collector's (``schema``, ``impossible_value`` …) or, for what
    the HJ 212 gateway refused, one of its own (``bad_crc``, ``unknown_mn`` …)."""
    rows = conn.execute(
        "SELECT id, received_at, topic, reason, detail, device_id, feed, payload,"
        " count(*) OVER () FROM dead_letter"
        " WHERE (%(reason)s::text IS NULL OR reason = %(reason)s)"
        " AND (%(feed)s::text IS NULL OR feed = %(feed)s)"
        " AND (%(device)s::text IS NULL OR device_id = %(device)s)"
        " AND (%(start)s::timestamptz IS NULL OR received_at >= %(start)s)"
        " AND (%(end)s::timestamptz IS NULL OR received_at < %(end)s)"
        " ORDER BY id DESC LIMIT %(limit)s OFFSET %(offset)s",
        {
            "reason": reason, "feed": feed, "device": device_id,
            "start": start, "end": end, "limit": paging.limit, "offset": paging.offset,
        },
    ).fetchall()  # fmt: skip
    items = [
        DeadLetter(
            id=r[0],
            received_at=r[1],
            topic=r[2],
            reason=r[3],
            detail=r[4],
            device_id=r[5],
            feed=r[6],
            payload=bytes(r[7]).decode("utf-8", "replace")[:4000],
        )
        for r in rows
    ]
    total = int(rows[0][-1]) if rows else 0
    return DeadLetterPage(items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.post("/dead-letters/reingest", response_model=ReingestResult)
def reingest(
    *,
    request: Request,
    conn: DbConn,
    body: Reingest,
    who: Annotated[Principal, Depends(require("admin"))],
) -> ReingestResult:
    """Decode the chosen dead letters again; store those now valid and remove them from the
    dead letters (in one transaction); report the rest with their current reason."""
    settings = request.app.state.settings
    rows = conn.execute(
        "SELECT id, topic, payload FROM dead_letter WHERE id = ANY(%s) ORDER BY id",
        (body.ids,),
    ).fetchall()
    decoder = Decoder(device_types(conn), root=settings.mqtt.topic_root)
    now = datetime.now(UTC)
    valid: list[tuple[int, Inbound]] = []
    refused: dict[int, str] = {}
    for dead_id, topic, payload in rows:
        raw_topic, raw = topic.encode(), bytes(payload)
        decoded = decoder.decode(raw_topic, raw, now)
        if isinstance(decoded, Accepted):
            valid.append((dead_id, Inbound(raw_topic, raw, 0, 1, now, decoded)))
        else:
            refused[dead_id] = f"{decoded.reason}: {decoded.detail}"
    stored = [d for d, _ in valid]
    if valid:
        writer = BatchWriter(request.app.state.db_url, settings.database.schema_name)
        try:
            writer.write([item for _, item in valid])
        finally:
            writer.close()
        conn.execute("DELETE FROM dead_letter WHERE id = ANY(%s)", (stored,))
    found = {r[0] for r in rows}
    result = ReingestResult(
        stored=stored, still_refused=refused,
        not_found=sorted(set(body.ids) - found),
    )  # fmt: skip
    after: dict[str, Any] = {"stored": stored, "still_refused": sorted(refused)}
    audit(conn, who, request, 200, before={"ids": body.ids}, after=after)
    return result
