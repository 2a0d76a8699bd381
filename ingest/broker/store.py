"""Broker accounts of the devices registered through the API, kept in the database.

``POST /api/v1/devices`` issues the device its secret (shown once, in the answer) and keeps
the hash here; ``envmon broker config``, given the database, adds these devices to the
broker's security file with that hash, and leaves out the devices retired since.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.broker.dynsec import Hashed, hash_secret, new_secret

if TYPE_CHECKING:
    import psycopg
    from psycopg.rows import TupleRow


def issue_device_account(conn: psycopg.Connection[TupleRow], device_id: str, feed: str) -> str:
    """A new secret for the device (replacing any earlier one); returns it, keeps its hash."""
    secret = new_secret()
    h = hash_secret(secret)
    conn.execute(
        "INSERT INTO broker_account (username, feed, password, salt, iterations)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (username) DO UPDATE SET"
        " feed = excluded.feed, password = excluded.password, salt = excluded.salt,"
        " iterations = excluded.iterations, issued_at = now()",
        (device_id, feed, h.password, h.salt, h.iterations),
    )
    return secret


def api_devices(conn: psycopg.Connection[TupleRow]) -> tuple[dict[str, str], set[str]]:
    """(device id → feed of the devices in service that the API registered, the ids of
    every retired device)."""
    rows = conn.execute(
        "SELECT device_id, feed, retired_at IS NOT NULL FROM device"
        " WHERE retired_at IS NOT NULL OR attrs->>'source' = 'api'"
    ).fetchall()
    live = {str(d): str(f) for d, f, retired in rows if not retired}
    return live, {str(d) for d, _, retired in rows if retired}


def issued_hashes(conn: psycopg.Connection[TupleRow]) -> dict[str, Hashed]:
    rows = conn.execute("SELECT username, password, salt, iterations FROM broker_account")
    return {str(u): Hashed(str(p), str(s), int(i)) for u, p, s, i in rows.fetchall()}
