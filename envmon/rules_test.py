"""``envmon rules test``: replay a scenario through a fresh database and compare the alerts.

Like ``promtool test rules`` for this domain. A scenario file names a stretch of
measurement time, the devices and feeds to simulate, the simulator scenarios to overlay
(with their targets and times), the rules under test, and the exact alert transitions
and notifications expected. The stream is decoded and stored by ingest's own decoder and
writer, step by step, and the rule engine evaluates after each step on the simulated
clock — as the live service would, only faster. ``restart_every`` replaces the engine
with a new one (state only from the database) to show a restart changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import psycopg
import yaml
from psycopg import sql
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from ingest.collector.decode import Decoder
from ingest.collector.writer import BatchWriter, Inbound
from ingest.registry import Registry, load_registry, sync_registry
from ingest.registry.store import device_types
from ingest.storage.migrate import connect, migrate
from services.alerts import acknowledge, resolve
from services.notify.routing import default_routing
from services.rules.engine import RuleEngine
from services.rules.load import default_pack, load_rules
from services.rules.model import Duration
from services.storage import MIGRATIONS as SERVICE_MIGRATIONS
from simulators import DistrictSimulator, ScenarioRun

log = logging.getLogger(__name__)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Overlay(_Model):
    name: str
    targets: tuple[str, ...] = ()
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    params: dict[str, float] = Field(default_factory=dict)


class Action(_Model):
    """An operator action at a moment of the replay."""

    at: AwareDatetime
    action: Literal["acknowledge", "resolve"]
    rule: str
    subject: str
    who: str = "duty-officer"
    comment: str = ""


class Transition(_Model):
    at: AwareDatetime
    rule: str
    subject: str
    transition: Literal["firing", "acknowledged", "resolved"]


class Sent(_Model):
    rule: str
    subject: str
    transition: Literal["firing", "resolved"]
    receiver: str


class Expect(_Model):
    transitions: tuple[Transition, ...] = ()
    notifications: tuple[Sent, ...] = ()


class ScenarioFile(_Model):
    name: str
    description: str = ""
    seed: int = 0
    start: AwareDatetime
    duration: Duration
    step: Duration = timedelta(minutes=1)
    feeds: tuple[str, ...] = ("wastewater", "air", "water", "v2x")
    devices: tuple[str, ...] = Field(
        default=(), description="registry subset: plant, station, DMA or intersection ids"
    )
    scenarios: tuple[Overlay, ...] = ()
    malformed_rate: float = 0.0
    rules: tuple[str, ...] = Field(default=(), description="rule ids under test; default all")
    restart_every: Duration | None = None
    actions: tuple[Action, ...] = ()
    expect: Expect = Expect()


class ScenarioError(ValueError):
    pass


def load_scenario(path: Path) -> ScenarioFile:
    try:
        return ScenarioFile.model_validate(yaml.safe_load(path.read_text("utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise ScenarioError(f"{path}: {problems}") from None


def subset(registry: Registry, ids: Sequence[str]) -> Registry:
    """The registry cut down to the named sites (with their meters, loggers and RSUs)."""
    if not ids:
        return registry
    try:
        return registry.restricted_to(set(ids))
    except ValueError as exc:
        raise ScenarioError(f"devices: {exc}") from None


@dataclass
class Outcome:
    transitions: list[Transition]
    notifications: list[Sent]

    def differences(self, expect: Expect) -> list[str]:
        out = []
        want_t, got_t = list(expect.transitions), self.transitions
        if want_t != got_t:
            out.append("transitions differ:")
            out += [f"  - expected {t.model_dump(mode='json')}" for t in want_t if t not in got_t]
            out += [f"  + got      {t.model_dump(mode='json')}" for t in got_t if t not in want_t]
            if sorted(map(str, want_t)) == sorted(map(str, got_t)):
                out.append("  (same transitions, different order)")
        want_n, got_n = sorted(expect.notifications, key=str), sorted(self.notifications, key=str)
        if want_n != got_n:
            out.append("notifications differ:")
            out += [f"  - expected {n.model_dump(mode='json')}" for n in want_n if n not in got_n]
            out += [f"  + got      {n.model_dump(mode='json')}" for n in got_n if n not in want_n]
        return out

    def as_yaml(self) -> str:
        """The outcome as an ``expect:`` block (to write a new scenario file)."""
        body = {
            "expect": {
                "transitions": [t.model_dump(mode="json") for t in self.transitions],
                "notifications": [n.model_dump(mode="json") for n in self.notifications],
            }
        }
        return yaml.safe_dump(body, allow_unicode=True, sort_keys=False)


def _outcome(conn: psycopg.Connection[Any]) -> Outcome:
    rows = conn.execute(
        "SELECT e.at, a.rule_id, a.subject, e.transition FROM alert_event e"
        " JOIN alert a ON a.id = e.alert_id"
        " WHERE e.transition IN ('firing', 'acknowledged', 'resolved')"
        " ORDER BY e.at, a.rule_id, a.subject, e.id"
    ).fetchall()
    transitions = [Transition(at=r[0], rule=r[1], subject=r[2], transition=r[3]) for r in rows]
    sent = conn.execute(
        "SELECT n.rule_id, a.subject, n.transition, n.receiver FROM notification n"
        " JOIN alert a ON a.id = n.alert_id ORDER BY n.id"
    ).fetchall()
    notifications = [Sent(rule=r[0], subject=r[1], transition=r[2], receiver=r[3]) for r in sent]
    return Outcome(transitions, notifications)


def _act(conn: psycopg.Connection[Any], action: Action) -> None:
    row = conn.execute(
        "SELECT id FROM alert WHERE rule_id = %s AND subject = %s AND state <> 'resolved'",
        (action.rule, action.subject),
    ).fetchone()
    if row is None:
        raise ScenarioError(f"{action.at}: no open alert of {action.rule} for {action.subject}")
    with conn.transaction():
        if action.action == "acknowledge":
            acknowledge(conn, row[0], action.who, action.comment, action.at)
        else:
            resolve(conn, row[0], action.who, action.comment, action.at)


class StoredReplay:
    """A simulated stream decoded and stored by ingest's own decoder and writer, one
    stretch of time at a time (no broker: as fast as the database takes it)."""

    def __init__(
        self, db_url: str, schema: str, registry: Registry, sim: DistrictSimulator
    ) -> None:
        self.sim = sim
        self.messages = 0
        self._writer = BatchWriter(db_url, schema)
        with connect(db_url, schema) as conn:
            sync_registry(conn, registry)
            self._decoder = Decoder(device_types(conn))

    def store(self, t0: datetime, t1: datetime) -> int:
        """Store every message sent in ``[t0, t1)``; returns how many."""
        batch = []
        for m in self.sim.messages(t0, t1):
            topic = m.topic.encode()
            batch.append(
                Inbound(topic, m.payload, 0, 1, m.ts, self._decoder.decode(topic, m.payload, m.ts))
            )
        if batch:
            self._writer.write(batch)
        self.messages += len(batch)
        return len(batch)

    def close(self) -> None:
        self._writer.close()


def run_scenario(
    spec: ScenarioFile,
    db_url: str,
    *,
    rule_files: Sequence[Path] = (),
    schema: str | None = None,
    on_progress: Callable[[datetime], None] | None = None,
) -> Outcome:
    """Replay ``spec`` into a fresh schema and return the alert transitions it produced."""
    schema = schema or f"rules_test_{uuid.uuid4().hex[:10]}"
    district = load_registry()
    registry = subset(district, spec.devices)
    rules = load_rules(list(rule_files) or default_pack(), district)
    if spec.rules:
        if missing := sorted(set(spec.rules) - {r.id for r in rules}):
            raise ScenarioError(f"rules: {missing} are not in the rule files")
        rules = [r for r in rules if r.id in spec.rules]
    rules = [r for r in rules if r.feed in spec.feeds]
    migrate(db_url, schema, "off", SERVICE_MIGRATIONS)
    end = spec.start + spec.duration
    sim = DistrictSimulator(
        registry,
        spec.seed,
        [ScenarioRun(o.name, o.targets, o.start, o.end, o.params) for o in spec.scenarios],
        spec.malformed_rate,
        spec.feeds,
        run_window=(spec.start, end),
    )
    now = spec.start
    routing = default_routing()

    def clock() -> datetime:
        return now

    replay = StoredReplay(db_url, schema, registry, sim)
    try:
        with connect(db_url, schema, autocommit=True) as conn:
            engine = RuleEngine(rules, registry, routing, clock)
            actions = sorted(spec.actions, key=lambda a: a.at)
            last_restart = spec.start
            while now < end:
                t1 = min(end, now + spec.step)
                replay.store(now, t1)
                now = t1
                while actions and actions[0].at <= now:
                    _act(conn, actions.pop(0))
                if spec.restart_every and now - last_restart >= spec.restart_every:
                    engine = RuleEngine(rules, registry, routing, clock)  # state from the database
                    last_restart = now
                engine.cycle(conn)
                if on_progress is not None:
                    on_progress(now)
            return _outcome(conn)
    finally:
        replay.close()
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
