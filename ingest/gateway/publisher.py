"""Publishing into the pipeline from asyncio: QoS 1 with aiomqtt, confirmed or failed.

:meth:`Publisher.publish` returns once the broker has acknowledged the message (PUBACK),
and raises :class:`PublishError` otherwise — not connected, connection lost before the
PUBACK, or no PUBACK within the timeout. The session sends its 9014 only after every
reading of the packet returned, so an unconfirmed reading is never acknowledged to the
logger, which then sends it again.

A PUBACK is not always good news: an MQTT v5 broker acknowledges a message nobody is
subscribed to with reason 0x10 "No matching subscribers" and drops it. Mosquitto 2.0
does so after a restart until the collectors subscribe again, since it does not restore
shared subscriptions from its persistence file; such a PUBACK (and any failure code)
counts as not confirmed. aiomqtt does not hand the reason code over, and its publish
costs two tasks and a timer per message — a third of the gateway's time per upload — so
:class:`_ConfirmingClient` publishes through aiomqtt's paho client and resolves one
future per message from aiomqtt's ``_on_publish`` hook (internals checked at import;
aiomqtt is pinned to the 2.x line they were written against). Futures older than the
timeout are failed by a sweep twice a second, and every one still waiting fails when the
connection goes.

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
import math
import time
import uuid
from collections import deque

import aiomqtt
from paho.mqtt.client import MQTT_ERR_SUCCESS, Client, MQTTMessageInfo
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ingest.backoff import Backoff
from ingest.edge import EdgeDeadLetter, dead_letter_topic
from ingest.settings import MqttSettings

log = logging.getLogger(__name__)


NO_MATCHING_SUBSCRIBERS = 0x10
_INTERNALS = ("_on_publish",)  # methods of aiomqtt.Client
_STATE = ("_client",)  # attributes of an instance
SWEEP_S = 0.5
# QoS 1 messages out at once: no limit (0), since every logger's upload may be waiting —
# and with any limit paho scans its whole queue on every PUBACK until the limit is reached.
INFLIGHT = 0


class PublishError(ConnectionError):
    """The broker did not acknowledge a publish."""


class AiomqttInternalsError(ImportError):
    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            f"aiomqtt lacks what ingest/gateway/publisher.py uses: {', '.join(missing)};"
            " install the aiomqtt release pinned in pyproject.toml"
        )


def check_aiomqtt_internals() -> None:
    missing = [f"Client.{n}" for n in _INTERNALS if not callable(getattr(aiomqtt.Client, n, None))]
    if missing:
        raise AiomqttInternalsError(missing)


check_aiomqtt_internals()


Acked = asyncio.Future[ReasonCode | None]


class _ConfirmingClient(aiomqtt.Client):
    """aiomqtt's client with a QoS 1 publish whose future gives the PUBACK's reason code."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        missing = [f"Client.{n}" for n in _STATE if not hasattr(self, n)]
        if missing:
            raise AiomqttInternalsError(missing)
        self._waiting: dict[int, tuple[float, Acked]] = {}  # mid → (sent at, future)
        self._early: dict[int, ReasonCode] = {}  # PUBACKs met before publish returned

    def _on_publish(  # aiomqtt's hook, with paho's arguments
        self,
        client: Client,  # noqa: ARG002
        userdata: object,  # noqa: ARG002
        mid: int,
        reason: ReasonCode,
        props: Properties,  # noqa: ARG002
    ) -> None:
        entry = self._waiting.pop(mid, None)
        if entry is None:
            self._early[mid] = reason
        elif not entry[1].done():
            entry[1].set_result(reason)

    def publish_qos1(self, topic: str, payload: bytes) -> Acked:
        """Publish; the future resolves with the PUBACK's reason code (None over 3.1.1)."""
        info: MQTTMessageInfo = self._client.publish(topic, payload, 1)
        if info.rc != MQTT_ERR_SUCCESS:
            raise aiomqtt.MqttCodeError(info.rc, "Could not publish message")
        done: Acked = asyncio.get_running_loop().create_future()
        if info.mid in self._early:
            done.set_result(self._early.pop(info.mid))
        else:
            self._waiting[info.mid] = (time.monotonic(), done)
        return done

    def expire(self, older_than: float, why: str) -> int:
        """Fail the futures of messages sent before ``older_than`` (monotonic)."""
        expired = 0
        for mid, (sent, fut) in list(self._waiting.items()):
            if sent >= older_than:
                break  # in the order sent
            del self._waiting[mid]
            if not fut.done():
                fut.set_exception(PublishError(why))
                expired += 1
        return expired

    def fail_all(self, why: str) -> None:
        self.expire(math.inf, why)


def refusal(reason: ReasonCode | None) -> str | None:
    """Why a PUBACK does not make the message safe, or None when it does."""
    if reason is None:
        return None
    if reason.is_failure or reason.value == NO_MATCHING_SUBSCRIBERS:
        return f"the broker answered {reason} (the message is not kept)"
    return None


class Publisher:
    def __init__(self, settings: MqttSettings, name: str, *, timeout_s: float) -> None:
        self._settings = settings
        self._name = name
        self._timeout = timeout_s
        self._client: _ConfirmingClient | None = None
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
            client = _ConfirmingClient(
                host,
                port,
                username=creds[0] if creds else None,
                password=creds[1] if creds else None,
                identifier=f"{self._name}-{uuid.uuid4().hex[:8]}",
                protocol=protocol,
                keepalive=self._settings.keepalive_s,
                timeout=self._timeout,
                max_inflight_messages=INFLIGHT,
                tls_context=self._settings.tls_context(),
            )
            try:
                async with client, asyncio.TaskGroup() as tg:
                    self._up(client)
                    backoff.reset()
                    log.info("gateway connected to the MQTT broker at %s:%d", host, port)
                    sweep = tg.create_task(self._sweep(client))
                    # Publish-only: the message iterator ends when the connection does.
                    async for _ in client.messages:
                        pass
                    sweep.cancel()
            except* aiomqtt.MqttError as group:
                log.warning("MQTT broker at %s:%d: %s", host, port, group.exceptions[0])
            finally:
                self._down()
                client.fail_all("connection to the broker lost before its acknowledgement")
            await asyncio.sleep(backoff.next())

    async def _sweep(self, client: _ConfirmingClient) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            why = f"no acknowledgement within {self._timeout:g} s"
            self.failed += client.expire(time.monotonic() - self._timeout, why)

    def _up(self, client: _ConfirmingClient) -> None:
        self._client = client
        self.connected.set()

    def _down(self) -> None:
        self._client = None
        self.connected.clear()

    async def publish(self, topic: str, payload: bytes) -> None:
        """Publish with QoS 1 and wait for the broker's acknowledgement."""
        client = self._client
        if client is None:
            self.failed += 1
            raise PublishError("not connected to the broker")
        try:
            reason = await client.publish_qos1(topic, payload)
        except aiomqtt.MqttError as exc:
            self.failed += 1
            raise PublishError(str(exc)) from None
        except PublishError:
            self.failed += 1
            raise
        refused = refusal(reason)
        if refused is not None:
            self.failed += 1
            raise PublishError(refused)
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
