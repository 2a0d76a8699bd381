"""API keys with roles, and the audit trail.

A key is shown once when it is made; only its SHA-256 is stored. Requests carry it as
``Authorization: Bearer <key>`` (or ``X-API-Key``), or come from the console with its
session cookie (and, for writes, its CSRF token). Roles nest: a viewer reads, an
operator also acknowledges, resolves and silences, an admin also manages rules, the
registry and re-ingestion. Every write and every denial is written to ``api_audit``:
missing keys, wrong roles, and unknown, revoked or expired keys (with the client address
and the first characters of the presented key's hash, never the key).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, cast

import psycopg
from fastapi import Depends, Request
from psycopg.rows import TupleRow

from services.api.deps import Conn, connection, pooled
from services.api.limits import AuthThrottle
from services.api.people import CSRF_HEADER, SESSION_COOKIE, session
from services.api.problems import ApiError

Role = Literal["viewer", "operator", "admin"]
RANK: dict[str, int] = {"viewer": 1, "operator": 2, "admin": 3}
KEY_PREFIX = "envmon_"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    name: str | None  # None: anonymous
    role: Role | None


ANONYMOUS = Principal(None, None)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    conn: psycopg.Connection[TupleRow],
    name: str,
    role: Role,
    expires_at: datetime | None = None,
) -> str:
    """A new key for ``name`` with ``role``, valid until ``expires_at`` (None: until
    revoked); the key itself is returned once, never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO api_key (name, role, key_hash, expires_at) VALUES (%s, %s, %s, %s)",
        (name, role, hash_key(key), expires_at),
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


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def authenticate(conn: Conn, request: Request) -> Principal:
    """The caller: by API key when one is presented, else by the console's session cookie;
    anonymous when neither is."""
    key = _presented(request)
    if key is not None:
        return check_key(conn, request, key)
    token = request.cookies.get(SESSION_COOKIE)
    if token is None:
        return ANONYMOUS
    found = session(conn, token)
    request.state.console_session = found  # the page that renders needs its CSRF token
    if found is None:
        return ANONYMOUS  # expired or ended: the console asks the person to sign in again
    who = Principal(found.who, cast("Role", found.role))
    if request.method not in SAFE_METHODS and not hmac.compare_digest(
        request.headers.get(CSRF_HEADER, ""), found.csrf
    ):
        audit(conn, who, request, 403, after={"reason": "csrf token missing or wrong"})
        raise ApiError(403, "the console's CSRF token is missing or wrong; reload the page")
    return who


def check_key(conn: Conn, request: Request, key: str) -> Principal:
    """``key`` checked: unknown, revoked and expired keys are refused (401) and audited; an
    address or key with too many failures is refused (429) for a while."""
    digest = hash_key(key)
    address = client_address(request)
    throttle: AuthThrottle = request.app.state.auth_throttle
    ids = (f"address:{address}", f"key:{digest}")
    throttled(conn, request, *ids)
    row = conn.execute(
        "SELECT name, role, revoked_at IS NOT NULL, expires_at, expires_at <= now()"
        " FROM api_key WHERE key_hash = %s",
        (digest,),
    ).fetchone()
    if row is not None and not row[2] and not row[4]:
        return Principal(str(row[0]), row[1])
    why = "unknown key" if row is None else "revoked key" if row[2] else "expired key"
    throttle.failed(*ids)
    who = ANONYMOUS if row is None else Principal(str(row[0]), row[1])
    audit(
        conn, who, request, 401,
        after={"reason": why, "key_sha256": digest[:12], "address": address},
    )  # fmt: skip
    if row is not None and why == "expired key":
        raise ApiError(401, f"the API key expired at {row[3].isoformat()}; ask for a new one")
    raise ApiError(401, "unknown or revoked API key")


def throttled(conn: Conn, request: Request, *ids: str) -> None:
    """Refuse (429, audited) when one of ``ids`` has failed too often lately."""
    throttle: AuthThrottle = request.app.state.auth_throttle
    wait = throttle.retry_after(*ids)
    if wait is not None:
        retry = math.ceil(wait)
        address = client_address(request)
        audit(conn, ANONYMOUS, request, 429, after={"reason": "throttled", "address": address})
        raise ApiError(
            429,
            f"too many failed sign-ins from this address or for this account;"
            f" try again in {retry} s",
            headers={"Retry-After": str(retry)},
        )


def principal(request: Request, conn: Annotated[Conn, Depends(connection)]) -> Principal:
    return authenticate(conn, request)


def _authorize(conn: Conn, request: Request, role: Role, who: Principal) -> Principal:
    if who.role is None:
        if role == "viewer" and request.app.state.settings.api.anonymous_read:
            return who
        audit(conn, who, request, 401)
        raise ApiError(401, "an API key is required (Authorization: Bearer <key>)")
    if RANK[who.role] < RANK[role]:
        audit(conn, who, request, 403)
        raise ApiError(403, f"the {who.role} role may not do this; it needs {role}")
    return who


def require(role: Role) -> Any:
    """A dependency: the caller has at least ``role`` (a denial is audited)."""

    def check(
        request: Request,
        who: Annotated[Principal, Depends(principal)],
        conn: Annotated[Conn, Depends(connection)],
    ) -> Principal:
        return _authorize(conn, request, role, who)

    return check


def require_briefly(role: Role) -> Any:
    """As :func:`require`, with a connection held only while checking: for responses that
    outlast the request's dependencies (event streams), which must not keep one."""

    def check(request: Request) -> Principal:
        with pooled(request) as conn:
            return _authorize(conn, request, role, authenticate(conn, request))

    return check
