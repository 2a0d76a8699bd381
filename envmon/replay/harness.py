"""``envmon rules test``: replay a scenario through a fresh database and compare the alerts.

Like ``promtool test rules`` for this domain. The stream is decoded and stored by
ingest's own decoder and writer, step by step, and the rule engine evaluates after each
step on the simulated clock — as the live service would, only faster. ``restart_every``
replaces the engine with a new one (state only from the database) to show a restart
changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from envmon.replay.scenario import (
    Action,
    Outcome,
    ScenarioError,
    ScenarioFile,
    Sent,
    Transition,
    subset,
)
from envmon.replay.stored import StoredReplay
from ingest.registry import load_registry
from ingest.storage.migrate import connect, migrate
from services.alerts import acknowledge, resolve
from services.notify.routing import default_routing
from services.rules.engine import RuleEngine
from services.rules.load import default_pack, load_rules
from services.storage import MIGRATIONS as SERVICE_MIGRATIONS
from simulators import DistrictSimulator, ScenarioRun


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


def run_scenario(
    spec: ScenarioFile,
    db_url: str,
    *,
    rule_files: Sequence[Path] = (),
    schema: str | None = None,
    timescaledb: str = "off",
    on_progress: Callable[[datetime], None] | None = None,
) -> Outcome:
    """Replay ``spec`` into a fresh schema and return the alert transitions it produced
    (``timescaledb``: the storage setting, auto | off | require)."""
    schema = schema or f"rules_test_{uuid.uuid4().hex[:10]}"
    district = load_registry()
    registry = subset(district, spec.devices)
    rules = load_rules(list(rule_files) or default_pack(), district)
    if spec.rules:
        if missing := sorted(set(spec.rules) - {r.id for r in rules}):
            raise ScenarioError(f"rules: {missing} are not in the rule files")
        rules = [r for r in rules if r.id in spec.rules]
    rules = [r for r in rules if r.feed in spec.feeds]
    migrate(db_url, schema, timescaledb, SERVICE_MIGRATIONS)
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
