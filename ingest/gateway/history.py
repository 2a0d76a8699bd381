"""History re-request: which periods a logger's readings miss, and asking it for them.

A data logger keeps its minute, hourly and daily data; what it would have sent in real
time while its link was down is gone (many loggers queue nothing while offline). So the
gateway watches each logger's readings: one that comes more than a period and a half after
the one before — a logger back after an outage, or a stretch that never arrived — leaves
the periods between them missing, and the gateway asks for them with the upload command
of the period data and a range (``CN=2051`` minute data or ``2061`` hourly,
``BeginTime``/``EndTime``, HJ 212-2017 §6.6). The logger answers 9011 (QnRtn), then the
data, each packet with the request's QN, then 9012 (ExeRtn). The answers are published
like any reading, ``seq`` their DataTime: what is already stored is a duplicate, the rest
lands at its measurement time and the rules judge it as late data.

For a logger whose readings are real-time data (2011) the minute data (2051) stands in for
what was lost: one value per missing period, dated at the period's start.

A gap is not asked for at once: a logger that got no 9014 sends its uploads again (HJ 212
Table 1: 3 times, 10 s apart), and what comes again within ``history_delay_s`` fills its
period. What is still missing then is asked for, a run of consecutive periods at a time,
one request per logger; a period stays missing until its exchange ends with ExeRtn 1 (or
100, "no data") and the broker acknowledged every answer. A refused, failed or unanswered
request is asked again ``history_retry_s`` later, on the logger's next upload. The gaps
live in the gateway process: a restarted gateway knows no past reading (what got no 9014
the loggers send again themselves).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ingest.gateway.directory import Logger
from ingest.hj212 import CommandReply

log = logging.getLogger(__name__)

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
DONE = frozenset({1, 100})  # ExeRtn: succeeded; no data (nothing to recover)


@dataclass(frozen=True, slots=True)
class Span:
    """Missing periods of one upload: starts ``begin`` to ``end``, both included."""

    cn: str
    begin: datetime
    end: datetime
    step: timedelta

    @property
    def periods(self) -> int:
        return (self.end - self.begin) // self.step + 1


@dataclass
class Request:
    span: Span
    qn: str
    sent_at: float
    answered: int = 0  # readings of the answer the broker acknowledged
    failed: bool = False  # an answer not acknowledged: ask again


def history_cn(logger: Logger) -> str:
    """The period data that stands for the logger's readings: minute data for real time."""
    return "2051" if logger.readings_cn == "2011" else logger.readings_cn


def period_of(cn: str, interval_s: int) -> timedelta:
    return {"2061": HOUR, "2031": DAY}.get(cn, timedelta(seconds=interval_s))


def floor_to(at: datetime, step: timedelta) -> datetime:
    """The start of the period of ``step`` (from midnight UTC) that holds ``at``."""
    origin = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return origin + ((at - origin) // step) * step


def missing(last: datetime, at: datetime, step: timedelta) -> Iterator[datetime]:
    """The periods after the one of ``last`` up to the one a period before ``at`` (the next
    reading): the periods whose reading did not come."""
    t = floor_to(last, step) + step
    end = floor_to(at - step, step)
    while t <= end:
        yield t
        t += step


class History:
    """For one gateway: each logger's newest reading, its missing periods (with when each
    was found), its request in flight."""

    def __init__(
        self,
        *,
        max_span: timedelta,
        delay_s: float,
        timeout_s: float,
        retry_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_span = max_span
        self._delay_s = delay_s
        self._timeout_s = timeout_s
        self._retry_s = retry_s
        self._now = monotonic
        self._seen: dict[str, datetime] = {}
        # MN → period start → when found; oldest first (gaps are found in time order)
        self._missing: dict[str, dict[datetime, float]] = {}
        self._inflight: dict[str, Request] = {}
        self._not_before: dict[str, float] = {}
        self.found = 0  # periods found missing
        self.filled = 0  # of those, filled by an upload sent again
        self.requested = 0
        self.recovered = 0  # readings published from answers
        self.failed = 0  # requests refused, failed, or unanswered in time

    def observe(self, logger: Logger, at: datetime) -> None:
        """A live reading of ``logger`` at ``at`` was published: a gap before it is found,
        or a period found missing is filled."""
        mn = logger.mn
        step = period_of(history_cn(logger), logger.interval_s)
        last = self._seen.get(mn)
        if last is None or at > last:
            self._seen[mn] = at
        gaps = self._missing.setdefault(mn, {})
        if last is not None and at <= last:
            if gaps.pop(floor_to(at, step), None) is not None:
                self.filled += 1
            return
        if last is None or at - last <= period_of(logger.readings_cn, logger.interval_s) * 1.5:
            return
        now = self._now()
        new = [t for t in missing(last, at, step) if t >= at - self._max_span]
        for t in new:
            gaps[t] = now
        self.found += len(new)
        limit = self._max_span // step
        while len(gaps) > limit:  # the oldest go first
            del gaps[next(iter(gaps))]
        if new:
            log.info(
                "%s: %d periods missing from %s to %s",
                logger.device_id,
                len(new),
                new[0].isoformat(),
                new[-1].isoformat(),
                extra={"device_id": logger.device_id},
            )

    def due(self, logger: Logger) -> Span | None:
        """The run of missing periods to ask ``logger`` for now, if none is in flight."""
        now = self._now()
        req = self._inflight.get(logger.mn)
        if req is not None:
            if now - req.sent_at < self._timeout_s:
                return None
            self._end(logger, req, f"no 9012 within {self._timeout_s:.0f} s")
        if now < self._not_before.get(logger.mn, 0.0):
            return None
        gaps = self._missing.get(logger.mn)
        step = period_of(history_cn(logger), logger.interval_s)
        begin = end = None
        for t, found in (gaps or {}).items():
            if found + self._delay_s > now or (end is not None and t != end + step):
                break
            begin, end = begin or t, t
        if begin is None or end is None:
            return None
        return Span(history_cn(logger), begin, end, step)

    def asked(self, logger: Logger, span: Span, qn: str) -> None:
        self.requested += 1
        self._inflight[logger.mn] = Request(span, qn, self._now())

    def answering(self, mn: str, qn: str | None, cn: str) -> Request | None:
        """The request an upload answers, if it is one."""
        req = self._inflight.get(mn)
        return req if req is not None and req.qn == qn and req.span.cn == cn else None

    def published(self, req: Request) -> None:
        """The broker acknowledged a reading of ``req``'s answer."""
        req.answered += 1
        self.recovered += 1

    def replied(self, logger: Logger, reply: CommandReply) -> None:
        """A 9011 or 9012 of ``logger``: a refusal, or the end of an exchange."""
        req = self._inflight.get(logger.mn)
        if req is None or reply.qn != req.qn:
            return
        if reply.cn == "9011":
            if not reply.accepted:
                self._end(logger, req, f"refused: QnRtn {reply.code} ({reply.meaning})")
            return
        if reply.code not in DONE or req.failed:
            why = "an answer was not acknowledged" if req.failed else f"ExeRtn {reply.code}"
            self._end(logger, req, f"{why} ({reply.meaning})")
            return
        del self._inflight[logger.mn]
        gaps, span = self._missing.get(logger.mn, {}), req.span
        for t in [t for t in gaps if span.begin <= t <= span.end]:
            del gaps[t]
        log.info(
            "%s: %d readings recovered from %s to %s (%s)",
            logger.device_id,
            req.answered,
            span.begin.isoformat(),
            span.end.isoformat(),
            reply.meaning,
            extra={"device_id": logger.device_id},
        )

    def _end(self, logger: Logger, req: Request, why: str) -> None:
        """A request that did not recover its gap: the gap is asked for again later."""
        self._inflight.pop(logger.mn, None)
        self.failed += 1
        self._not_before[logger.mn] = self._now() + self._retry_s
        log.warning(
            "%s: history request %s failed, %s; asking again in %.0f s",
            logger.device_id,
            req.qn,
            why,
            self._retry_s,
            extra={"device_id": logger.device_id},
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "missing_found": self.found,
            "filled_by_resends": self.filled,
            "requested": self.requested,
            "recovered": self.recovered,
            "failed": self.failed,
            "missing_now": sum(len(g) for g in self._missing.values()),
        }
