"""Publishing into the pipeline from asyncio: QoS 1 with aiomqtt, confirmed or failed.

:meth:`Publisher.publish` returns once the broker has acknowledged the message (PUBACK),
and raises :class:`PublishError` otherwise — not connected, connection lost before the
PUBACK, or no PUBACK within the timeout. The session sends its 9014 only after every
reading of the packet returned, so an unconfirmed reading is never acknowledged to the
logger, which then sends it again.

The connection is kept by :meth:`Publisher.run`: it connects (a fresh client each time,
so nothing queued for a lost connection is sent twice behind our back), waits until the
connection drops, and reconnects with capped, jittered backoff. The gateway only
publishes, so a clean session is enough.

Dead letters go through :class:`DeadLetters`: a bounded queue drained in order while the
broker is there; a full queue drops its oldest entry (counted), never blocks a logger.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque

import aiomqtt

from ingest.backoff import Backoff
from ingest.edge import EdgeDeadLetter, dead_letter_topic
from ingest.settings import MqttSettings

log = logging.getLogger(__name__)


class PublishError(ConnectionError):
    """The broker did not acknowledge a publish."""


class Publisher:
    def __init__(self, settings: MqttSettings, name: str, *, timeout_s: float) -> None:
        self._settings = settings
        self._name = name
        self._timeout = timeout_s
        self._client: aiomqtt.Client | None = None
        self._lost = asyncio.Event()  # set when the current connection is gone
        self._lost.set()
        self.connected = asyncio.Event()
        self.confirmed = 0
        self.failed = 0

    async def run(self) -> None:
        """Keep a connection to the broker until cancelled."""
        host, port = self._settings.host_port()
        creds = self._settings.credentials()
        v5 = self._settings.protocol == 5
        protocol = aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311
        # Short: while the broker is away every logger's readings wait for it.
        backoff = Backoff(0.2, 5.0)
        while True:
            client = aiomqtt.Client(
                host,
                port,
                username=creds[0] if creds else None,
                password=creds[1] if creds else None,
                identifier=f"{self._name}-{uuid.uuid4().hex[:8]}",
                protocol=protocol,
                keepalive=self._settings.keepalive_s,
                timeout=self._timeout,
            )
            try:
                async with client:
                    self._up(client)
                    backoff.reset()
                    log.info("gateway connected to the MQTT broker at %s:%d", host, port)
                    # Publish-only: the message iterator ends when the connection does.
                    async for _ in client.messages:
                        pass
            except aiomqtt.MqttError as exc:
                log.warning("MQTT broker at %s:%d: %s", host, port, exc)
            finally:
                self._down()
            await asyncio.sleep(backoff.next())

    def _up(self, client: aiomqtt.Client) -> None:
        self._client = client
        self._lost = asyncio.Event()
        self.connected.set()

    def _down(self) -> None:
        self._client = None
        self._lost.set()
        self.connected.clear()

    async def publish(self, topic: str, payload: bytes) -> None:
        """Publish with QoS 1 and wait for the broker's acknowledgement."""
        client, lost = self._client, self._lost
        if client is None:
            self.failed += 1
            raise PublishError("not connected to the broker")
        sending = asyncio.ensure_future(client.publish(topic, payload, qos=1))
        gone = asyncio.ensure_future(lost.wait())
        try:
            done, _ = await asyncio.wait({sending, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not sending.done():
                sending.cancel()
        if sending not in done:
            self.failed += 1
            raise PublishError("connection to the broker lost before its acknowledgement")
        try:
            sending.result()
        except aiomqtt.MqttError as exc:
            self.failed += 1
            raise PublishError(str(exc)) from None
        self.confirmed += 1


class DeadLetters:
    """Refused traffic on its way to the collector, in order, bounded."""

    def __init__(self, publisher: Publisher, gateway_id: str, root: str, size: int) -> None:
        self._publisher = publisher
        self._topic = dead_letter_topic(gateway_id, root)
        self._queue: deque[EdgeDeadLetter] = deque()
        self._size = size
        self._ready = asyncio.Event()
        self.empty = asyncio.Event()  # set while nothing waits for the broker
        self.empty.set()
        self.published = 0
        self.dropped = 0

    def put(self, dead: EdgeDeadLetter) -> None:
        if len(self._queue) >= self._size:
            self._queue.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error(
                    "dead-letter queue full (%d): %d dropped so far", self._size, self.dropped
                )
        self._queue.append(dead)
        self._ready.set()

    def __len__(self) -> int:
        return len(self._queue)

    async def run(self) -> None:
        """Publish queued dead letters while the broker is there, until cancelled."""
        while True:
            await self._ready.wait()
            while self._queue:
                await self._publisher.connected.wait()
                dead = self._queue[0]
                try:
                    await self._publisher.publish(self._topic, dead.model_dump_json().encode())
                except PublishError:
                    await asyncio.sleep(0.5)
                    continue
                if self._queue and self._queue[0] is dead:
                    self._queue.popleft()
                self.published += 1
            self._ready.clear()
            self.empty.set()
