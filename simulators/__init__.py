"""Simulated devices of the Liudong district network.

Message generation is pure: ``DistrictSimulator.messages`` (or a replayed recording)
paced by a ``SimClock``. The one I/O edge is ``simulators.publish``, which sends such a
stream through the broker; it is imported on its own so that generating messages never
loads an MQTT client. Nothing here writes to a database.
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
