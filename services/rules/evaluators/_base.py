"""What every evaluator shares: the base classes, subject selection and row fetching."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, ClassVar, Generic, TypeVar

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from ingest.feeds import kind_for
from ingest.registry.model import Device, Registry
from services.rules.conditions import judge
from services.rules.model import RuleBase, WindowRule, message_of
from services.rules.state import Verdict
from services.rules.types import Observation, Subject
from services.rules.windows import Span, length, local_time_in, spans

Conn = psycopg.Connection[TupleRow]
R = TypeVar("R", bound=RuleBase)


def selected(
    rule: RuleBase, registry: Registry, types: Iterable[str] | None = None
) -> list[Device]:
    """The registry devices a rule's selector picks, among the message kind's devices."""
    kind = kind_for(rule.feed, message_of(rule))
    allowed = set(types) if types is not None else (kind.device_types if kind else set())
    sel = rule.devices
    out = []
    for d in registry.devices():
        if d.feed != rule.feed or d.device_type not in allowed:
            continue
        if sel.ids and d.device_id not in sel.ids:
            continue
        if sel.areas and d.area not in sel.areas:
            continue
        if sel.types and d.device_type not in sel.types:
            continue
        out.append(d)
    return out


def device_subject(d: Device) -> Subject:
    return Subject(d.device_id, d.place.name_zh, d.place.name_en, d.area, (d.device_id,))


CLOCK_TICK = timedelta(microseconds=1)


class Evaluator(ABC, Generic[R]):
    """Evaluates one rule. ``mode``: ``window`` (closed windows of measurement time, once
    the subject's data has passed their end), ``instant`` (each stored reading) or ``clock``
    (the service clock: silence and online state)."""

    mode: ClassVar[str] = "window"
    # Group subjects: wait this long past a window's end for the slower members' data.
    group_grace: ClassVar[timedelta] = timedelta(minutes=2)

    def __init__(self, rule: R, registry: Registry) -> None:
        self.rule = rule
        kind = kind_for(rule.feed, message_of(rule))
        assert kind is not None  # checked when the rule file was loaded
        self.table = kind.table
        self.subjects = self.make_subjects(registry)

    def make_subjects(self, registry: Registry) -> list[Subject]:
        return [device_subject(d) for d in selected(self.rule, registry)]

    @property
    def window_length(self) -> timedelta:
        window = getattr(self.rule, "window", None)
        return length(window) if window is not None else timedelta(hours=1)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The tables whose new rows can change its verdicts (their fingerprints tell the
        engine, ``device_latest``'s per table; ``dead_letter``'s by its newest id)."""
        return (self.table,)

    def next_change(self, observations: Sequence[Observation], now: datetime) -> datetime | None:
        """Clock mode: the earliest time its verdicts could change with no new input, given
        the ``observations`` it just made at ``now`` (None: not by the clock alone). By
        default, as soon as the clock moves."""
        del observations
        return now + CLOCK_TICK

    @cached_property
    def by_id(self) -> dict[str, Subject]:
        return {s.id: s for s in self.subjects}

    @property
    def grouped(self) -> bool:
        return any(len(s.devices) > 1 for s in self.subjects)

    def spans(self, after: datetime, until: datetime) -> list[Span]:
        window = getattr(self.rule, "window", None)
        if window is None:
            return []
        out = spans(window, after, until)
        active = getattr(self.rule, "active_hours", None)
        if isinstance(self.rule, WindowRule) and active is not None:
            out = [s for s in out if local_time_in(s.end - timedelta(seconds=1), *active)]
        return out

    @abstractmethod
    def evaluate(
        self, conn: Conn, span: Span, subjects: Sequence[Subject], now: datetime
    ) -> list[Observation]:
        """Observations of ``subjects`` over ``span`` (window and clock modes)."""

    def observe(
        self, conn: Conn, cursors: Mapping[str, datetime], until: datetime
    ) -> list[Observation]:
        """Instant mode: one observation per reading after each subject's cursor."""
        raise NotImplementedError

    def threshold_verdict(
        self,
        subject: Subject,
        span: Span,
        value: float | None,
        evidence: dict[str, Any],
        companions: Mapping[str, float | None] | None = None,
    ) -> Observation:
        cond = getattr(self.rule, "condition", None)
        if value is None or cond is None:
            return Observation(
                subject.id, Verdict(span.start, span.end, None, False, value), evidence
            )
        j = judge(cond, self.rule.clear, value, span.start, companions)
        evidence = {**evidence, "value": value, "limit": j.limit}
        if j.edition:
            evidence["edition"] = j.edition
        return Observation(
            subject.id, Verdict(span.start, span.end, j.breach, j.cleared, value), evidence
        )


class InstantEvaluator(Evaluator[R]):
    """A rule judging each stored reading on its own (``observe``), not windows."""

    mode: ClassVar[str] = "instant"

    def evaluate(
        self, conn: Conn, span: Span, subjects: Sequence[Subject], now: datetime
    ) -> list[Observation]:
        raise TypeError(f"{self.rule.id}: an instant rule observes readings, not windows")


def aggregate_rows(
    conn: Conn,
    table: str,
    selects: Sequence[sql.Composable],
    devices: Sequence[str],
    span: Span,
    *,
    where: sql.Composable | None = None,
) -> dict[str, tuple[Any, ...]]:
    """``SELECT device_id, <selects> … GROUP BY device_id`` over a window, by device."""
    query = sql.SQL(
        "SELECT device_id, {sel} FROM {table} WHERE device_id = ANY(%s)"
        " AND ts >= %s AND ts < %s {extra} GROUP BY device_id"
    ).format(
        sel=sql.SQL(", ").join(selects),
        table=sql.Identifier(table),
        extra=sql.SQL("AND {}").format(where) if where is not None else sql.SQL(""),
    )
    rows = conn.execute(query, (list(devices), span.start, span.end)).fetchall()
    return {str(r[0]): tuple(r[1:]) for r in rows}


def readings_after(
    conn: Conn,
    table: str,
    columns: Sequence[str],
    cursors: Mapping[str, datetime],
    until: datetime,
) -> list[tuple[Any, ...]]:
    """``(device_id, ts, *columns)`` of every reading after its device's cursor and up to
    ``until``, in time order (one index range scan per device)."""
    query = sql.SQL(
        "SELECT t.device_id, t.ts, {cols} FROM {t} AS t"
        " JOIN unnest(%s::text[], %s::timestamptz[]) AS c(device_id, after)"
        " ON t.device_id = c.device_id AND t.ts > c.after"
        " WHERE t.ts <= %s ORDER BY t.ts, t.device_id"
    ).format(
        cols=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in columns),
        t=sql.Identifier(table),
    )
    return conn.execute(query, (list(cursors), list(cursors.values()), until)).fetchall()
