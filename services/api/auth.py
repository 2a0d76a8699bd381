"""API keys with roles, and the audit trail.

A key is shown once when it is made; only its SHA-256 is stored. Requests carry it as
``Authorization: Bearer <key>`` (or ``X-API-Key``). Roles nest: a viewer reads, an
operator also acknowledges, resolves and silences, an admin also manages rules, the
registry and re-ingestion. Every write and every denial is written to ``api_audit``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import psycopg
from fastapi import Depends, Request
from psycopg.rows import TupleRow

from services.api.deps import Conn, connection
from services.api.problems import ApiError

Role = Literal["viewer", "operator", "admin"]
RANK: dict[str, int] = {"viewer": 1, "operator": 2, "admin": 3}
KEY_PREFIX = "envmon_"


@dataclass(frozen=True)
class Principal:
    name: str | None  # None: anonymous
    role: Role | None


ANONYMOUS = Principal(None, None)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(conn: psycopg.Connection[TupleRow], name: str, role: Role) -> str:
    """A new key for ``name`` with ``role``; the key itself is returned once, never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO api_key (name, role, key_hash) VALUES (%s, %s, %s)",
        (name, role, hash_key(key)),
    )
    return key


def _presented(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        return token.strip()
    return request.headers.get("x-api-key") or None


def audit(
    conn: Conn,
    who: Principal,
    request: Request,
    status: int,
    *,
    before: Any = None,
    after: Any = None,
) -> None:
    conn.execute(
        "INSERT INTO api_audit (who, role, method, path, status, before, after)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            who.name, who.role, request.method, request.url.path, status,
            None if before is None else json.dumps(before, ensure_ascii=False, default=str),
            None if after is None else json.dumps(after, ensure_ascii=False, default=str),
        ),
    )  # fmt: skip


def principal(request: Request, conn: Annotated[Conn, Depends(connection)]) -> Principal:
    key = _presented(request)
    if key is None:
        return ANONYMOUS
    row = conn.execute(
        "SELECT name, role FROM api_key WHERE key_hash = %s AND revoked_at IS NULL",
        (hash_key(key),),
    ).fetchone()
    if row is None:
        raise ApiError(401, "unknown or revoked API key")
    return Principal(str(row[0]), row[1])


def require(role: Role) -> Any:
    """A dependency: the caller has at least ``role`` (a denial is audited)."""

    def check(
        request: Request,
        who: Annotated[Principal, Depends(principal)],
        conn: Annotated[Conn, Depends(connection)],
    ) -> Principal:
        if who.role is None:
            if role == "viewer" and request.app.state.settings.api.anonymous_read:
                return who
            audit(conn, who, request, 401)
            raise ApiError(401, "an API key is required (Authorization: Bearer <key>)")
        if RANK[who.role] < RANK[role]:
            audit(conn, who, request, 403)
            raise ApiError(403, f"the {who.role} role may not do this; it needs {role}")
        return who

    return check
