"""A long-running loop never dies silently: the failure policy every service loop shares.

Each loop (the collector's writer and rollup maintainer, the rule engine, the
notification dispatcher) wraps its passes in a :class:`LoopGuard`. A failure is logged
with its traceback and the loop's name, counted as transient or permanent
(``ingest.storage.errors``) in ``loop_health``; a transient one is retried after a
capped, jittered backoff; a permanent one stops the loop and sets the process's
:class:`LoopWatch`, which the entry point waits on to exit with ``EXIT_LOOP_FAILED`` so
that a supervisor restarts the process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol, TypeVar

from ingest.backoff import Backoff
from ingest.storage.errors import ErrorKind, classify, describe
from ingest.storage.health import LoopHealth

log = logging.getLogger(__name__)

EXIT_LOOP_FAILED = 70  # sysexits EX_SOFTWARE: the process cannot go on, restart it


class LoopFailedError(RuntimeError):
    """A loop stopped on a permanent failure; the process must exit non-zero."""

    def __init__(self, loop: str, instance: str, cause: BaseException) -> None:
        super().__init__(
            f"{loop} ({instance}) failed permanently: {describe(cause)}: {_first_line(cause)}"
        )
        self.loop = loop
        self.instance = instance
        self.cause = cause


class LoopWatch:
    """The first permanent failure among the loops of one process.

    A service creates one unless given one; an entry point running several services
    gives them the same watch, and ``wake`` makes a failure end its wait on its stop
    event."""

    def __init__(self) -> None:
        self.failed = threading.Event()
        self.error: LoopFailedError | None = None
        self._lock = threading.Lock()
        self._wake: list[threading.Event] = []

    def fail(self, error: LoopFailedError) -> None:
        with self._lock:
            if self.error is None:
                self.error = error
            wake = list(self._wake)
        self.failed.set()
        for event in wake:
            event.set()

    def wake(self, event: threading.Event) -> None:
        """Set ``event`` too when a loop fails (at once if one already has)."""
        with self._lock:
            self._wake.append(event)
            failed = self.error is not None
        if failed:
            event.set()

    def check(self) -> None:
        """Raise the first loop's ``LoopFailedError``, if any loop failed."""
        if self.error is not None:
            raise self.error

    def wait(self, timeout: float | None = None) -> None:
        """Block until a loop fails (raises its ``LoopFailedError``) or ``timeout`` passes."""
        self.failed.wait(timeout)
        self.check()


class LoopGuard:
    """The failure policy of one loop; not shared between threads."""

    def __init__(
        self,
        name: str,
        instance: str,
        *,
        watch: LoopWatch,
        backoff: Backoff,
        health: LoopHealth | None = None,
        logger: logging.Logger = log,
    ) -> None:
        self.name = name
        self.instance = instance
        self.watch = watch
        self.failure: LoopFailedError | None = None
        self._backoff = backoff
        self._health = health
        self._log = logger
        self._streak = 0
        self._last = ""

    def succeeded(self) -> None:
        """A pass went through: ends a streak of transient failures."""
        if self._streak:
            self._log.info(
                "%s: recovered after %d failed attempts", self.name, self._streak, extra=self._extra
            )
        self._streak = 0
        self._backoff.reset()
        if self._health is not None:
            self._health.success(self.name, self.instance)

    def failed(self, exc: BaseException) -> float | None:
        """Log and count a failed pass; the delay before retrying it, or None: stop the loop.

        The first failure of a streak (or one unlike the previous) is logged with its
        traceback; the retries after it with one line each."""
        kind = classify(exc)
        what = describe(exc)
        if self._health is not None:
            self._health.failure(self.name, self.instance, kind, what)
        if kind is ErrorKind.TRANSIENT:
            delay = self._backoff.next()
            self._streak += 1
            self._log.warning(
                "%s: transient failure %d in a row, %s: %s; retrying in %.2f s",
                self.name,
                self._streak,
                what,
                _first_line(exc),
                delay,
                exc_info=exc if self._streak == 1 or what != self._last else None,
                extra=self._extra,
            )
            self._last = what
            return delay
        self._fail(exc, what)
        return None

    def fatal(self, exc: BaseException) -> LoopFailedError:
        """The loop ends on ``exc`` whatever its kind (e.g. a bug outside its passes)."""
        what = describe(exc)
        if self._health is not None:
            self._health.failure(self.name, self.instance, ErrorKind.PERMANENT, what)
        return self._fail(exc, what)

    def _fail(self, exc: BaseException, what: str) -> LoopFailedError:
        self.failure = LoopFailedError(self.name, self.instance, exc)
        self._log.error(
            "%s: permanent failure, %s: %s; the loop stops and the process must exit",
            self.name,
            what,
            _first_line(exc),
            exc_info=exc,
            extra=self._extra,
        )
        self.watch.fail(self.failure)
        return self.failure

    @property
    def _extra(self) -> dict[str, str]:
        return {"loop": self.name, "instance": self.instance}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


class _Connection(Protocol):
    @property
    def closed(self) -> bool: ...

    def close(self) -> None: ...


C = TypeVar("C", bound=_Connection)


def run_connected(
    step: Callable[[C], object],
    connect: Callable[[], C],
    stop: threading.Event,
    interval_s: float,
    guard: LoopGuard,
) -> None:
    """Call ``step`` on a connection every ``interval_s`` until ``stop`` is set. A failed
    pass is judged by ``guard``: after a transient one the connection is made anew after
    its backoff; a permanent one ends the loop (and sets the guard's watch)."""
    conn: C | None = None
    while not stop.is_set():
        delay: float | None = interval_s
        try:
            if conn is None or conn.closed:
                conn = connect()
            step(conn)
            guard.succeeded()
        except Exception as exc:
            delay = guard.failed(exc)
            if conn is not None:
                conn.close()
            conn = None
        if delay is None:
            break
        stop.wait(delay)
    if conn is not None:
        conn.close()
