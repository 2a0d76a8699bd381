"""Every scenario file of the repository replays to exactly its expected alerts."""

from __future__ import annotations

from pathlib import Path

import pytest

from envmon.replay import load_scenario, run_scenario
from ingest.registry import load_registry
from services.rules import default_pack, load_rules
from tests.fixtures.servers import FLAVOURS, flavour_url, timescale_mode

SCENARIOS = Path(__file__).parents[1] / "scenarios"
FILES = sorted(SCENARIOS.glob("*.yaml"))
# On TimescaleDB, the scenarios whose figures come from the rollups (the monthly ones),
# late data (continuous aggregates refreshed behind the engine), and one of each feed:
# the rest judge raw windows the same way on both flavours, at about 20 s a replay.
ON_TIMESCALEDB = {
    "water-monthly-leakage", "ww-monthly-rate", "ww-nh3-late-data",
    "air-pm25-episode", "v2x-rsu-outage", "water-pipe-burst", "ww-bypass",
}  # fmt: skip
CASES = [
    pytest.param(path, flavour, id=f"{path.stem}-{flavour}")
    for path in FILES
    for flavour in FLAVOURS
    if flavour == "postgresql" or path.stem in ON_TIMESCALEDB
]

pytestmark = [pytest.mark.database]


def test_the_timescaledb_choice_names_existing_scenarios() -> None:
    assert {p.stem for p in FILES} >= ON_TIMESCALEDB


@pytest.mark.slow
@pytest.mark.parametrize(("path", "flavour"), CASES)
def test_scenario_gives_exactly_the_expected_alerts(
    path: Path, flavour: str, request: pytest.FixtureRequest
) -> None:
    spec = load_scenario(path)
    url = flavour_url(request, flavour)
    outcome = run_scenario(spec, url, timescaledb=timescale_mode(flavour))
    assert outcome.differences(spec.expect) == []


@pytest.mark.slow
def test_a_restarted_engine_changes_nothing(postgres_url: str) -> None:
    """The pipe-burst scenario with the engine replaced every 5 hours (fresh memory,
    state only from the database) gives the same transitions and notifications."""
    spec = load_scenario(SCENARIOS / "water-pipe-burst.yaml")
    restarted = spec.model_copy(update={"restart_every": spec.step * 20})
    outcome = run_scenario(restarted, postgres_url)
    assert outcome.differences(spec.expect) == []


def test_late_data_gives_the_alerts_of_on_time_data() -> None:
    on_time = load_scenario(SCENARIOS / "ww-nh3-exceedance.yaml")
    late = load_scenario(SCENARIOS / "ww-nh3-late-data.yaml")
    assert any(s.name == "device-buffered" for s in late.scenarios)
    assert late.expect == on_time.expect
    assert on_time.expect.transitions


def test_every_rule_of_the_default_pack_fires_in_a_scenario() -> None:
    fired = {t.rule for p in FILES for t in load_scenario(p).expect.transitions}
    rules = {r.id for r in load_rules(default_pack(), load_registry())}
    assert sorted(rules - fired) == []
