"""Scenario replay: simulated traffic stored without a broker, and the scenario files of
``envmon rules test`` run against the rule engine. Tests and benchmarks import this
package; it knows nothing of the command line."""

from envmon.replay.harness import run_scenario
from envmon.replay.scenario import Outcome, ScenarioError, ScenarioFile, load_scenario, subset
from envmon.replay.stored import StoredReplay

__all__ = [
    "Outcome",
    "ScenarioError",
    "ScenarioFile",
    "StoredReplay",
    "load_scenario",
    "run_scenario",
    "subset",
]
