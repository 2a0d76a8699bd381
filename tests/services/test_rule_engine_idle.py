"""The rule engine idles: a pass with nothing new evaluates no rule, a silence rule is
evaluated again when its deadline comes (not before), new data wakes the rules that read
it, and a manual clear makes the engine reload the state it keeps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from envmon.replay import StoredReplay, subset
from ingest.registry import Registry, load_registry
from ingest.storage.migrate import connect
from services.alerts import resolve
from services.notify.routing import default_routing
from services.rules import RuleEngine, default_pack, load_rules
from simulators import DistrictSimulator
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.database]
START = datetime(2026, 11, 2, 2, tzinfo=UTC)
STATION = "air-hualing"
SILENCE = timedelta(minutes=10)  # air-stale: 10 missing periods of 60 s


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def registry() -> Registry:
    return subset(load_registry(), [STATION])


@pytest.fixture
def conn(database: Database) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with connect(database.url, database.schema, autocommit=True) as c:
        yield c


def _store(database: Database, registry: Registry, start: datetime, end: datetime) -> None:
    replay = StoredReplay(database.url, database.schema, registry, DistrictSimulator(registry, 0))
    try:
        replay.store(start, end)
    finally:
        replay.close()


def _engine(registry: Registry, clock: Clock, rule_ids: set[str] | None = None) -> RuleEngine:
    rules = [r for r in load_rules(default_pack(), registry) if not rule_ids or r.id in rule_ids]
    return RuleEngine(rules, registry, default_routing(), clock)


def test_a_pass_with_nothing_new_evaluates_no_rule(
    database: Database, registry: Registry, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    clock = Clock(START + timedelta(hours=2))
    _store(database, registry, START, clock.now)
    engine = _engine(registry, clock)
    busy = engine.cycle(conn)
    assert busy.rules_evaluated == len(engine.evaluators)
    assert busy.evaluations > 0
    while engine.cycle(conn).rules_evaluated:  # catch up what one pass leaves
        pass
    idle = engine.cycle(conn)
    assert (idle.rules_evaluated, idle.evaluations) == (0, 0)

    _store(database, registry, clock.now, clock.now + timedelta(minutes=1))
    clock.now += timedelta(minutes=1)
    woken = engine.cycle(conn)
    assert woken.rules_evaluated > 0
    assert woken.evaluations > 0


def test_a_silence_is_judged_when_its_deadline_comes(
    database: Database, registry: Registry, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    last = START + timedelta(minutes=30)
    _store(database, registry, START, last)
    seen: datetime = database.scalar("SELECT max(ts) FROM air_reading")
    clock = Clock(START)
    engine = _engine(registry, clock, {"air-stale"})
    engine.cycle(conn)  # the engine's start: silence is judged after one silence limit
    clock.now = last
    assert engine.cycle(conn).rules_evaluated == 1
    clock.now = seen + SILENCE  # silent exactly the limit: not yet a breach
    assert engine.cycle(conn).rules_evaluated == 0
    clock.now += timedelta(seconds=1)
    stats = engine.cycle(conn)
    assert stats.rules_evaluated == 1
    assert stats.transitions in ({"pending": 1}, {"firing": 1})


def test_a_manual_clear_makes_the_engine_reload_its_state(
    database: Database, registry: Registry, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    last = START + timedelta(minutes=30)
    _store(database, registry, START, last)
    clock = Clock(START)
    engine = _engine(registry, clock, {"air-stale"})
    engine.cycle(conn)
    clock.now = last + timedelta(hours=1)
    engine.cycle(conn)
    alert = conn.execute("SELECT id, state FROM alert WHERE rule_id = 'air-stale'").fetchone()
    assert alert is not None
    assert alert[1] == "firing"  # silent for an hour; the rule has no hold
    with conn.transaction():
        resolve(conn, alert[0], "duty officer", "checked", clock.now)  # type: ignore[arg-type]
    clock.now += timedelta(seconds=1)
    engine.cycle(conn)  # the station is still silent: a new alert, not an update of the old
    rows = conn.execute(
        "SELECT id, state FROM alert WHERE rule_id = 'air-stale' ORDER BY id"
    ).fetchall()
    assert [state for _, state in rows] == ["resolved", "firing"]
