"""The HJ 212 gateway: data loggers over TCP in, the wire contract over MQTT out.

- :class:`Gateway` (``server.py``): the asyncio TCP server, one task per connection;
  :class:`GatewayThread` runs one for callers that are not asyncio;
- ``session.py``: one logger's connection — frames, checks, readings, replies;
- ``readings.py``: an upload's data area → the payload of its feed, units converted;
- ``publisher.py``: aiomqtt, QoS 1, a publish returns once the broker acknowledged it;
- ``directory.py``: the loggers served, by MN, from the registry (with the SM4 keys);
- ``edition2025.py``: HJ 212-2025's heartbeat, hardware serial and platform-assigned MN.

It never writes to the database: readings and dead letters go through the broker to the
collectors, like every other device's.
"""

from ingest.gateway.directory import Directory, Logger
from ingest.gateway.readings import Reading, Refused, build_reading
from ingest.gateway.reasons import Refusal
from ingest.gateway.server import Gateway, GatewayThread, new_event_loop
from ingest.gateway.session import idle_timeout
from ingest.gateway.stats import GatewayStats

__all__ = [
    "Directory",
    "Gateway",
    "GatewayStats",
    "GatewayThread",
    "Logger",
    "Reading",
    "Refusal",
    "Refused",
    "build_reading",
    "idle_timeout",
    "new_event_loop",
]
