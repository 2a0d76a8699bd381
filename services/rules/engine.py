"""The rule engine: evaluates every rule on measurement time and records what changed.

Window rules evaluate a window once the subject's own data has passed its end (its
watermark, from ``device_latest``): a device that buffered while offline has its windows
evaluated when its data arrives, with the same result as if it had come on time. Groups
(a district, a DMA) wait ``group_grace`` for their slower members. Instant rules take
each reading after the subject's cursor. Clock rules (silence, RSUs online) compare
with the service clock. Each rule's evaluation, state, alert transitions and outbox rows
commit in one transaction, so a restart neither repeats nor forgets anything.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from ingest.registry.model import Registry
from services.notify.routing import RoutingConfig
from services.rules import alerting
from services.rules.evaluators import Evaluator, evaluator_for, latest
from services.rules.model import RuleBase
from services.rules.state import SubjectState, step
from services.rules.types import Observation, Subject
from services.rules.windows import Span

log = logging.getLogger(__name__)

Conn = psycopg.Connection[TupleRow]
Clock = Callable[[], datetime]
ENGINE_LOCK = "envmon-rule-engine:"  # advisory lock name: one active engine per schema
MAX_SPANS_PER_CYCLE = 2000  # catching up is spread over cycles
FIRING_REFRESH = timedelta(minutes=1)  # how often a firing clock rule's figure is updated


def fingerprints(conn: Conn) -> dict[str, str]:
    """A fingerprint of each input table: for the tables of readings, how many devices
    have reported and the sum of their latest times (a new reading of any device moves
    it); for ``dead_letter`` and ``seq_gap``, their newest id. Equal fingerprints: nothing
    new."""
    rows = conn.execute(
        "SELECT table_name, count(*)::text || '/' || sum(extract(epoch FROM ts))::text"
        " FROM device_latest GROUP BY table_name"
        " UNION ALL SELECT 'dead_letter', coalesce(max(id), 0)::text FROM dead_letter"
        " UNION ALL SELECT 'seq_gap', coalesce(max(id), 0)::text FROM seq_gap"
    ).fetchall()
    return {str(t): str(f) for t, f in rows}


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Row:
    state: SubjectState
    cursor: datetime
    alert_id: int | None
    dirty: bool = False
    rearmed_at: datetime | None = None


@dataclass
class CycleStats:
    evaluations: int = 0
    transitions: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    rules_evaluated: int = 0  # the rules that had something to do


@dataclass
class _Memo:
    """What one rule's last evaluation left for the next pass to decide on."""

    busy: bool  # work left (spans cut off, inputs not ready, holds counting): due again
    next_due: datetime | None  # clock rules: when the clock alone could change a verdict
    inputs: tuple[str, ...]  # the fingerprints of its input tables when it ran


class RuleEngine:
    """Evaluates ``rules`` against the database; ``cycle(conn)`` does one pass."""

    def __init__(
        self,
        rules: Sequence[RuleBase],
        registry: Registry,
        routing: RoutingConfig,
        clock: Clock = utcnow,
    ) -> None:
        self.evaluators: list[Evaluator[RuleBase]] = [evaluator_for(r, registry) for r in rules]
        self.routing = routing
        self.clock = clock
        self.started: datetime | None = None
        self.last = CycleStats()
        # Each rule's state rows, kept between passes: reloaded only when someone else
        # changed rule_state (an operator's manual clear bumps rule_engine.generation).
        self._rows: dict[str, dict[str, _Row]] = {}
        self._generation: int | None = None
        self._memo: dict[str, _Memo] = {}

    def cycle(self, conn: Conn) -> CycleStats:
        """One pass: the rules with something to do — new input, a clock rule's next
        change come, work left from the last pass — each in its own transaction."""
        t0 = time.perf_counter()
        now = self.clock()
        stats = CycleStats()
        try:
            if self.started is None:
                self.started = self._started(conn, now)
            if self._generation_now(conn) != self._generation:
                self._forget()  # rule_state changed behind the engine: every rule is due
            prints = fingerprints(conn)
            for ev in self.evaluators:
                if self._due(ev, now, prints):
                    with conn.transaction():
                        self._evaluate(conn, ev, now, stats, prints)
                    stats.rules_evaluated += 1
        except BaseException:
            self._forget()  # a rolled-back pass: the cached state may be ahead of the table
            raise
        stats.seconds = time.perf_counter() - t0
        with conn.transaction():
            conn.execute(
                "UPDATE rule_engine SET last_pass_s = %s, last_pass_at = now() WHERE id = 1",
                (stats.seconds,),
            )
        self.last = stats
        return stats

    @staticmethod
    def _generation_now(conn: Conn, *, lock: bool = False) -> int:
        query = "SELECT generation FROM rule_engine WHERE id = 1"
        row = conn.execute(query + " FOR SHARE" if lock else query).fetchone()
        return int(row[0]) if row is not None else 0

    def _forget(self) -> None:
        self._rows.clear()
        self._memo.clear()
        self._generation = None

    def _due(self, ev: Evaluator[RuleBase], now: datetime, prints: dict[str, str]) -> bool:
        memo = self._memo.get(ev.rule.id)
        if memo is None or memo.busy:
            return True
        if memo.inputs != tuple(prints.get(t, "") for t in ev.inputs):
            return True
        return ev.mode == "clock" and memo.next_due is not None and now >= memo.next_due

    def _rows_for(self, conn: Conn, rule_id: str) -> dict[str, _Row]:
        """The rule's state rows: cached, unless rule_state changed behind the engine. The
        share lock on rule_engine holds off a manual clear until this rule's transaction
        ends (a clear bumps the generation first, then resets its rows)."""
        generation = self._generation_now(conn, lock=True)
        if generation != self._generation:
            self._forget()
            self._generation = generation
        rows = self._rows.get(rule_id)
        if rows is None:
            rows = self._rows[rule_id] = self._load(conn, rule_id)
        return rows

    def _started(self, conn: Conn, now: datetime) -> datetime:
        """When evaluation began on this database; a restart keeps it (no second warm-up),
        a replay that goes back in time starts afresh."""
        with conn.transaction():
            row = conn.execute("SELECT started_at FROM rule_engine WHERE id = 1").fetchone()
            if row is not None and row[0] <= now:
                return row[0]  # type: ignore[no-any-return]
            conn.execute(
                "INSERT INTO rule_engine (id, started_at) VALUES (1, %s)"
                " ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at",
                (now,),
            )
        return now

    # -- state ---------------------------------------------------------------------------

    def _load(self, conn: Conn, rule_id: str) -> dict[str, _Row]:
        rows = conn.execute(
            "SELECT subject, cursor, phase, breach_since, breach_streak, clear_since,"
            " clear_streak, alert_id, rearmed_at FROM rule_state WHERE rule_id = %s FOR UPDATE",
            (rule_id,),
        ).fetchall()
        return {
            str(r[0]): _Row(SubjectState(r[2], r[3], r[4], r[5], r[6]), r[1], r[7], rearmed_at=r[8])
            for r in rows
        }

    def _save(self, conn: Conn, rule_id: str, rows: dict[str, _Row]) -> None:
        dirty = [(s, r) for s, r in rows.items() if r.dirty]
        if not dirty:
            return
        for _, r in dirty:
            r.dirty = False
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO rule_state (rule_id, subject, cursor, phase, breach_since,"
                " breach_streak, clear_since, clear_streak, alert_id, rearmed_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())"
                " ON CONFLICT (rule_id, subject) DO UPDATE SET cursor = excluded.cursor,"
                " phase = excluded.phase, breach_since = excluded.breach_since,"
                " breach_streak = excluded.breach_streak, clear_since = excluded.clear_since,"
                " clear_streak = excluded.clear_streak, alert_id = excluded.alert_id,"
                " rearmed_at = excluded.rearmed_at,"
                " updated_at = now()",
                [
                    (
                        rule_id,
                        s,
                        r.cursor,
                        r.state.phase,
                        r.state.breach_since,
                        r.state.breach_streak,
                        r.state.clear_since,
                        r.state.clear_streak,
                        r.alert_id,
                        r.rearmed_at,
                    )
                    for s, r in dirty
                ],
            )

    # -- evaluation ------------------------------------------------------------------------

    def _evaluate(
        self,
        conn: Conn,
        ev: Evaluator[RuleBase],
        now: datetime,
        stats: CycleStats,
        prints: dict[str, str],
    ) -> None:
        rows = self._rows_for(conn, ev.rule.id)
        subjects = ev.by_id
        inputs = tuple(prints.get(t, "") for t in ev.inputs)

        def apply(obs: Observation, cursor: datetime) -> None:
            self._apply(
                conn, ev, subject=subjects[obs.subject], rows=rows, obs=obs, cursor=cursor,
                stats=stats,
            )  # fmt: skip

        if ev.mode == "clock":
            assert self.started is not None
            if now - self.started < ev.window_length:
                self._memo[ev.rule.id] = _Memo(False, self.started + ev.window_length, inputs)
                return  # warming up: devices have not had the time to report yet
            observations = ev.evaluate(conn, Span(now - ev.window_length, now), ev.subjects, now)
            for obs in observations:
                apply(obs, now)
            self._memo[ev.rule.id] = _Memo(
                self._holding(rows), self._clock_due(ev, observations, rows, now), inputs
            )
        else:
            marks = self._watermarks(conn, ev)
            for sid, mark in marks.items():
                if sid not in rows:
                    start = mark - max(ev.window_length, timedelta(hours=1))
                    rows[sid] = _Row(SubjectState(), start, None, dirty=True)
            if ev.mode == "instant":
                cursors = {s: rows[s].cursor for s in marks}
                seen = ev.observe(conn, cursors, max(marks.values(), default=now))
                for obs in seen:
                    apply(obs, obs.verdict.end)
                busy = bool(seen)  # until a pass finds nothing after the cursors
            else:
                busy = self._windows(conn, ev, rows, marks, now=now, apply=apply)
            self._memo[ev.rule.id] = _Memo(busy, None, inputs)
        self._save(conn, ev.rule.id, rows)

    @staticmethod
    def _holding(rows: dict[str, _Row]) -> bool:
        """A clock rule with a hold or a clear counting: every pass, as the streaks count
        evaluations."""
        return any(
            r.state.phase == "pending" or r.state.clear_since is not None for r in rows.values()
        )

    @staticmethod
    def _clock_due(
        ev: Evaluator[RuleBase],
        observations: Sequence[Observation],
        rows: dict[str, _Row],
        now: datetime,
    ) -> datetime | None:
        due = ev.next_change(observations, now)
        if any(r.state.phase == "firing" for r in rows.values()):
            # a firing alert's figure (minutes silent, RSUs online) is brought up to date
            refresh = now + FIRING_REFRESH
            due = refresh if due is None else min(due, refresh)
        return due

    def _watermarks(self, conn: Conn, ev: Evaluator[RuleBase]) -> dict[str, datetime]:
        """How far each subject's data has arrived (measurement time)."""
        seen = latest(conn, ev.table, sorted({d for s in ev.subjects for d in s.devices}))
        out = {}
        for s in ev.subjects:
            stamps = [seen[d] for d in s.devices if d in seen]
            if stamps:
                out[s.id] = max(stamps) - (ev.group_grace if len(s.devices) > 1 else timedelta(0))
        return out

    def _windows(
        self,
        conn: Conn,
        ev: Evaluator[RuleBase],
        rows: dict[str, _Row],
        marks: dict[str, datetime],
        *,
        now: datetime,
        apply: Callable[[Observation, datetime], None],
    ) -> bool:
        """Evaluate the windows due; True when some are left for the next pass."""
        subjects = ev.by_id
        due: dict[Span, list[Subject]] = {}
        for sid, mark in marks.items():
            for span in ev.spans(rows[sid].cursor, mark):
                due.setdefault(span, []).append(subjects[sid])
        blocked: set[str] = set()
        for span in sorted(due, key=lambda s: (s.end, s.start))[:MAX_SPANS_PER_CYCLE]:
            ready = [s for s in due[span] if s.id not in blocked]
            if not ready:
                continue
            for obs in ev.evaluate(conn, span, ready, now):
                if not obs.ready:  # e.g. the day's bills are not in yet: ask again later
                    blocked.add(obs.subject)
                    continue
                apply(obs, span.end)
        return bool(blocked) or len(due) > MAX_SPANS_PER_CYCLE

    def _apply(
        self,
        conn: Conn,
        ev: Evaluator[RuleBase],
        *,
        subject: Subject,
        rows: dict[str, _Row],
        obs: Observation,
        cursor: datetime,
        stats: CycleStats,
    ) -> None:
        rule = ev.rule
        row = rows.get(subject.id) or _Row(SubjectState(), cursor, None)
        rows[subject.id] = row
        stats.evaluations += 1
        new, change = step(row.state, obs.verdict, rule.hold, rule.clear)
        began = new.breach_since
        if change == "pending" and row.rearmed_at and began and began < row.rearmed_at:
            # windows judged after a manual clear but ending before it: hold from the clear
            new = replace(new, breach_since=row.rearmed_at)
        if ev.mode != "clock" or change is not None or new != row.state:
            row.dirty = True
        row.cursor = max(row.cursor, cursor)
        if change is None:
            row.state = new
            return
        stats.transitions[change] = stats.transitions.get(change, 0) + 1
        ctx = alerting.Context(rule, subject, self.routing)
        since = new.breach_since or row.state.breach_since or obs.verdict.start
        if change in ("pending", "firing") and row.alert_id is None:
            row.alert_id = alerting.open_alert(conn, ctx, obs, since, change)
        elif change == "firing":
            assert row.alert_id is not None
            alerting.fire(conn, ctx, row.alert_id, obs)
        elif change == "update" and row.alert_id is not None:
            alerting.update(conn, ctx, row.alert_id, obs)
        elif change in ("resolved", "discarded") and row.alert_id is not None:
            alerting.close(conn, ctx, row.alert_id, obs, discarded=change == "discarded")
            row.alert_id = None
        row.state = new
        log.log(
            logging.DEBUG if change == "update" else logging.INFO,
            "%s %s: %s (value %s)",
            rule.id,
            subject.id,
            change,
            obs.verdict.value,
            extra={"rule": rule.id, "subject": subject.id, "change": change},
        )
