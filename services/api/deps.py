"""Request dependencies: a pooled database connection, page bounds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import psycopg
from fastapi import Depends, Query, Request
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool
from pydantic import BaseModel

MAX_PAGE = 500


def connection(request: Request) -> Iterator[psycopg.Connection[TupleRow]]:
    """One pooled connection per request (autocommit; writes use explicit transactions)."""
    pool: ConnectionPool[psycopg.Connection[TupleRow]] = request.app.state.pool
    with pool.connection(timeout=5.0) as conn:
        yield conn


Conn = psycopg.Connection[TupleRow]
DbConn = Annotated[Conn, Depends(connection)]


class PageParams(BaseModel):
    limit: int
    offset: int


def page(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="items per page")] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


Paging = Annotated[PageParams, Depends(page)]
