"""Each loop's failure counts and latest success, persisted to ``loop_health``.

The loops run in other processes than the API, so ``/metrics`` reads them from the
database. Counts are kept in memory and written as increments whenever the database
answers: a failure counted while the database is away is recorded once it is back, and
the counters survive a restart of the process (one row per loop and instance).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import psycopg
from psycopg.rows import TupleRow

from ingest.storage.errors import ErrorKind, describe

log = logging.getLogger(__name__)

_UPSERT = (
    "INSERT INTO loop_health (loop, instance, transient_failures, permanent_failures,"
    " last_error, last_error_kind, last_error_at, last_success_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (loop, instance) DO UPDATE SET"
    " transient_failures = loop_health.transient_failures + excluded.transient_failures,"
    " permanent_failures = loop_health.permanent_failures + excluded.permanent_failures,"
    " last_error = coalesce(excluded.last_error, loop_health.last_error),"
    " last_error_kind = coalesce(excluded.last_error_kind, loop_health.last_error_kind),"
    " last_error_at = coalesce(excluded.last_error_at, loop_health.last_error_at),"
    " last_success_at = greatest(loop_health.last_success_at, excluded.last_success_at)"
)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Delta:
    """What happened to one loop since the last write."""

    transient: int = 0
    permanent: int = 0
    last_error: str | None = None
    last_error_kind: str | None = None
    last_error_at: datetime | None = None
    last_success_at: datetime | None = None

    def then(self, newer: _Delta) -> _Delta:
        """This delta followed by ``newer``."""
        out = replace(self, transient=self.transient + newer.transient)
        out.permanent += newer.permanent
        if newer.last_error_at is not None:
            out.last_error = newer.last_error
            out.last_error_kind = newer.last_error_kind
            out.last_error_at = newer.last_error_at
        if newer.last_success_at is not None:
            out.last_success_at = newer.last_success_at
        return out


class LoopHealth:
    """Thread-safe; one per process (or service), shared by its loops."""

    def __init__(
        self,
        url: str,
        schema: str,
        *,
        connect_timeout_s: float = 5.0,
        flush_interval_s: float = 5.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._url = url
        self._schema = schema
        self._connect_timeout = max(1, int(connect_timeout_s))
        self._interval = flush_interval_s
        self._clock = clock
        self._lock = threading.Lock()  # guards _pending
        self._writing = threading.Lock()  # one write at a time, and the connection
        self._pending: dict[tuple[str, str], _Delta] = {}
        self._written: set[tuple[str, str]] = set()
        self._conn: psycopg.Connection[TupleRow] | None = None
        self._last_write = -math.inf
        self._last_refused = -math.inf
        self._refused = False

    def success(self, loop: str, instance: str) -> None:
        with self._lock:
            delta = self._pending.setdefault((loop, instance), _Delta())
            delta.last_success_at = self._clock()
            counted = any(d.transient or d.permanent for d in self._pending.values())
            first = (loop, instance) not in self._written
        # A loop's first success shows at once that it runs; and when the database answers
        # again, the failures counted while it was away go in now.
        if first or counted or time.monotonic() - self._last_write >= self._interval:
            self.write(wait=False)

    def failure(self, loop: str, instance: str, kind: ErrorKind, error: str) -> None:
        with self._lock:
            delta = self._pending.setdefault((loop, instance), _Delta())
            if kind is ErrorKind.TRANSIENT:
                delta.transient += 1
            else:
                delta.permanent += 1
            delta.last_error, delta.last_error_kind = error[:200], kind.value
            delta.last_error_at = self._clock()
        if kind is ErrorKind.PERMANENT:  # the process ends: record it now, whatever it takes
            self.write(wait=True)
        elif time.monotonic() - self._last_refused >= 1.0:  # an outage: try once a second
            self.write(wait=False)

    def write(self, *, wait: bool = True) -> bool:
        """Write what is pending; False when the database did not take it (kept for later)."""
        if not self._writing.acquire(blocking=wait):
            return False
        try:
            with self._lock:
                taken, self._pending = self._pending, {}
            if not taken:
                return True
            try:
                self._store(taken)
            except psycopg.Error as exc:
                self._give_back(taken)
                self._last_refused = time.monotonic()
                if not self._refused:  # once per outage, not once per loop pass
                    log.warning("loop health not recorded yet (%s); kept for later", describe(exc))
                self._refused = True
                return False
            self._last_write = time.monotonic()
            self._refused = False
            with self._lock:
                self._written.update(taken)
            return True
        finally:
            self._writing.release()

    def _store(self, taken: dict[tuple[str, str], _Delta]) -> None:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._url,
                autocommit=True,
                options=f"-c search_path={self._schema}",
                connect_timeout=self._connect_timeout,
            )
        conn = self._conn
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(
                    _UPSERT,
                    [
                        (loop, instance, d.transient, d.permanent, d.last_error,
                         d.last_error_kind, d.last_error_at, d.last_success_at)
                        for (loop, instance), d in sorted(taken.items())
                    ],
                )  # fmt: skip
        except psycopg.Error:
            conn.close()
            raise

    def _give_back(self, taken: dict[tuple[str, str], _Delta]) -> None:
        with self._lock:
            for key, older in taken.items():
                newer = self._pending.get(key)
                self._pending[key] = older.then(newer) if newer is not None else older

    def close(self) -> None:
        self.write()
        with self._writing:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
