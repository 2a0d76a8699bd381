"""Simulated devices of the Liudong district network: pure message generation.

Nothing here talks to a broker or a database; publishing loops sit on top of
``DistrictSimulator.messages`` (or a replayed recording) and a ``SimClock``.
"""

from simulators.clock import SimClock, start_for
from simulators.district import FEED_NAMES, DistrictSimulator
from simulators.load import LoadGenerator
from simulators.message import Message
from simulators.recording import read_recording, recording_line, replay, write_recording
from simulators.scenarios import SCENARIOS, ScenarioRun, UnknownScenarioError

__all__ = [
    "FEED_NAMES",
    "SCENARIOS",
    "DistrictSimulator",
    "LoadGenerator",
    "Message",
    "ScenarioRun",
    "SimClock",
    "UnknownScenarioError",
    "read_recording",
    "recording_line",
    "replay",
    "start_for",
    "write_recording",
]
