"""Request dependencies: a pooled database connection, page bounds."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

import psycopg
from fastapi import Depends, Query, Request
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool
from pydantic import BaseModel

MAX_PAGE = 500


@contextlib.contextmanager
def pooled(request: Request) -> Iterator[psycopg.Connection[TupleRow]]:
    """A pooled connection; waiting longer than ``ENVMON_API__POOL_TIMEOUT_S`` for one
    raises ``PoolTimeout`` (answered 503)."""
    pool: ConnectionPool[psycopg.Connection[TupleRow]] = request.app.state.pool
    with pool.connection(timeout=request.app.state.settings.api.pool_timeout_s) as conn:
        yield conn


def connection(request: Request) -> Iterator[psycopg.Connection[TupleRow]]:
    """One pooled connection per request (autocommit; writes use explicit transactions)."""
    with pooled(request) as conn:
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
