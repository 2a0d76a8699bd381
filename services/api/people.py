"""People who sign in to the console: password accounts and browser sessions.

A person signs in with a password (``envmon console user``) or with an API key; either
way the session carries the account's role, and the API's role checks, throttling and
audit apply to it exactly as to a key. Passwords are kept as scrypt hashes; a session
cookie holds a random token whose SHA-256 is stored, with an expiry and a CSRF token that
the console's scripts send back on every write.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

Conn = psycopg.Connection[TupleRow]
SESSION_COOKIE = "envmon_session"
CSRF_HEADER = "x-csrf-token"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD = 10


class PasswordError(ValueError):
    pass


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash``, salt and hash in base64."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def password_matches(stored: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), dklen=32, n=int(n), r=int(r),
            p=int(p),
        )  # fmt: skip
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


# Compared against when the name is unknown, so both answers take as long.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def set_user(conn: Conn, name: str, role: str, password: str) -> bool:
    """Create or update ``name``; True when it was new. Updating a person ends their
    sessions (a changed password or role applies at once)."""
    if len(password) < MIN_PASSWORD:
        raise PasswordError(f"a password needs at least {MIN_PASSWORD} characters")
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO console_user (name, role, password_hash) VALUES (%s, %s, %s)"
            " ON CONFLICT (name) DO UPDATE SET role = excluded.role,"
            " password_hash = excluded.password_hash, disabled_at = NULL"
            " RETURNING xmax = 0",
            (name, role, hash_password(password)),
        ).fetchone()
        end_sessions(conn, name)
    return bool(row and row[0])


def disable_user(conn: Conn, name: str) -> bool:
    with conn.transaction():
        row = conn.execute(
            "UPDATE console_user SET disabled_at = now() WHERE name = %s AND disabled_at IS NULL"
            " RETURNING name",
            (name,),
        ).fetchone()
        end_sessions(conn, name)
    return row is not None


def end_sessions(conn: Conn, name: str) -> None:
    conn.execute(
        "UPDATE console_session SET ended_at = now() WHERE who = %s AND ended_at IS NULL"
        " AND via = 'password'",
        (name,),
    )


def check_password(conn: Conn, name: str, password: str) -> str | None:
    """The person's role when the password is theirs and the account enabled, else None."""
    row = conn.execute(
        "SELECT role, password_hash FROM console_user WHERE name = %s AND disabled_at IS NULL",
        (name,),
    ).fetchone()
    if row is None:
        password_matches(_DUMMY_HASH, password)
        return None
    return str(row[0]) if password_matches(str(row[1]), password) else None


@dataclass(frozen=True)
class Session:
    who: str
    role: str
    csrf: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(conn: Conn, who: str, role: str, via: str, hours: float) -> tuple[str, Session]:
    """A new session; returns the cookie's token (shown once) and the session."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    expires = datetime.now(UTC) + timedelta(hours=hours)
    conn.execute(
        "INSERT INTO console_session (token_hash, who, role, via, csrf, expires_at)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (_digest(token), who, role, via, csrf, expires),
    )
    return token, Session(who, role, csrf, expires)


def session(conn: Conn, token: str) -> Session | None:
    """The live session of a cookie's token (None: unknown, ended or expired)."""
    row = conn.execute(
        "SELECT who, role, csrf, expires_at FROM console_session WHERE token_hash = %s"
        " AND ended_at IS NULL AND expires_at > now()",
        (_digest(token),),
    ).fetchone()
    return None if row is None else Session(str(row[0]), str(row[1]), str(row[2]), row[3])


def end_session(conn: Conn, token: str) -> None:
    conn.execute(
        "UPDATE console_session SET ended_at = now() WHERE token_hash = %s AND ended_at IS NULL",
        (_digest(token),),
    )
