"""The one module that talks to paho-mqtt: a receiver with manual acks and a publisher.

paho-mqtt 2.x is used on both paths because it can acknowledge a QoS 1 message
after the fact (``manual_ack``): the collector acks only once the row is committed.
(aiomqtt acks on receipt and drops when its queue is full, so it cannot give that
guarantee.) Both classes run paho's network loop in its own thread.

Two fast paths use paho internals (see ``_ReceiverClient`` and ``ack_many``); paho is
pinned to the minor release they were written against, and the module refuses to load
with a message naming what is missing if an installed paho lacks one of them.
"""

from __future__ import annotations

import inspect
import logging
import ssl
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ingest.backoff import Backoff
from ingest.settings import MqttSettings

log = logging.getLogger(__name__)

_PUBACK = 0x40
# topic, payload, mid, qos
MessageHandler = Callable[[bytes, bytes, int, int], None]


# What the fast paths touch inside paho-mqtt 2.2: methods (with their leading parameters),
# per-client state, and the raw topic of a message.
_CLIENT_METHODS: dict[str, tuple[str, ...]] = {
    "_handle_publish": (),
    "_packet_queue": ("command", "packet", "mid", "qos"),
}
_CLIENT_STATE = ("_protocol", "_in_packet")
_IN_PACKET_KEYS = ("command", "packet")


class PahoInternalsError(ImportError):
    """The installed paho-mqtt lacks an internal that ingest/mqtt.py relies on."""

    def __init__(self, missing: list[str]) -> None:
        version = getattr(paho, "__version__", "?")
        super().__init__(
            f"paho-mqtt {version} lacks what ingest/mqtt.py uses: {', '.join(missing)};"
            " install the paho-mqtt release pinned in pyproject.toml"
        )
        self.missing = missing


def check_paho_internals(client_cls: type[paho.Client] = paho.Client) -> None:
    """Raise ``PahoInternalsError`` naming each internal the fast paths need but lack."""
    missing = []
    for name, params in _CLIENT_METHODS.items():
        method = getattr(client_cls, name, None)
        got = (
            tuple(inspect.signature(method).parameters)[1 : 1 + len(params)]
            if callable(method)
            else None
        )
        if got != params:
            missing.append(f"Client.{name}({', '.join(params)})")
    if not hasattr(paho.MQTTMessage(0, b"t"), "_topic"):
        missing.append("MQTTMessage._topic")
    if missing:
        raise PahoInternalsError(missing)


def _check_client_state(client: paho.Client) -> None:
    missing = [f"Client.{name}" for name in _CLIENT_STATE if not hasattr(client, name)]
    in_packet = getattr(client, "_in_packet", {})
    missing += [f"Client._in_packet[{k!r}]" for k in _IN_PACKET_KEYS if k not in in_packet]
    if missing:
        raise PahoInternalsError(missing)


check_paho_internals()


def _refusal_hint(reason: ReasonCode) -> str:
    # 4/5 are MQTT 3.1.1's return codes, 134/135 MQTT 5's reason codes
    if reason.value in (4, 5, 134, 135):
        return "check the user name and secret in ENVMON_MQTT_URL (envmon broker config)"
    return "see the broker's log"


class BrokerUnavailableError(ConnectionError):
    """The broker could not be reached within the allowed attempts."""


def _new_client(
    settings: MqttSettings,
    client_id: str,
    *,
    manual_ack: bool,
    cls: type[paho.Client] = paho.Client,
) -> paho.Client:
    protocol = paho.MQTTv5 if settings.protocol == 5 else paho.MQTTv311
    kwargs: dict[str, Any] = {}
    if protocol != paho.MQTTv5:
        kwargs["clean_session"] = False
    client = cls(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=protocol,
        manual_ack=manual_ack,
        **kwargs,
    )
    creds = settings.credentials()
    if creds:
        client.username_pw_set(*creds)
    if (tls := settings.tls_context()) is not None:
        client.tls_set_context(tls)
    client.reconnect_delay_set(1, 30)
    _check_client_state(client)
    return client


def _connect_properties(settings: MqttSettings) -> Properties | None:
    if settings.protocol != 5:
        return None
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = settings.session_expiry_s
    props.ReceiveMaximum = settings.receive_maximum
    return props


def connect_with_retry(
    client: paho.Client,
    settings: MqttSettings,
    *,
    attempts: int | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Connect, retrying with capped jittered backoff; one log line per failed attempt."""
    host, port = settings.host_port()
    backoff = Backoff(0.5, 15.0)
    attempt = 0
    while True:
        attempt += 1
        try:
            if settings.protocol == 5:
                client.connect(
                    host,
                    port,
                    settings.keepalive_s,
                    clean_start=False,
                    properties=_connect_properties(settings),
                )
            else:
                client.connect(host, port, settings.keepalive_s)
        except OSError as exc:
            hint = "check ENVMON_MQTT_URL"
            if isinstance(exc, ssl.SSLCertVerificationError):
                hint = "its certificate is not trusted: set ENVMON_MQTT__CA_FILE to its CA"
            if attempts is not None and attempt >= attempts:
                raise BrokerUnavailableError(
                    f"MQTT broker at {host}:{port} is not reachable ({exc}); {hint}"
                ) from None
            delay = backoff.next()
            log.warning(
                "MQTT broker at %s:%d not reachable (%s; %s); retrying in %.1f s",
                host,
                port,
                exc,
                hint,
                delay,
            )
            if stop is not None and stop.wait(delay):
                raise BrokerUnavailableError("stopped while waiting for the broker") from None
            if stop is None:
                time.sleep(delay)
        else:
            return


class _ReceiverClient(paho.Client):
    """paho's client with a lean path for the collector's inbound QoS 0/1 PUBLISH.

    paho builds a full ``Properties`` object for every MQTT v5 PUBLISH and routes it
    through its callback matching; at tens of thousands of messages a second that
    costs a third of the collector's CPU (measured: 20k msg/s with, 32k msg/s
    without). Here a PUBLISH without properties goes straight to the handler;
    anything else (properties present, QoS 2) takes paho's own path.
    """

    handler: MessageHandler | None = None

    def _handle_publish(self) -> MQTTErrorCode:
        header: int = self._in_packet["command"]
        packet: bytes | bytearray = self._in_packet["packet"]
        qos = (header & 0x06) >> 1
        handler = self.handler
        if handler is None or qos > 1:
            return super()._handle_publish()
        try:
            tlen = (packet[0] << 8) | packet[1]
            pos = 2 + tlen
            topic = bytes(packet[2:pos])
            mid = 0
            if qos:
                mid = (packet[pos] << 8) | packet[pos + 1]
                pos += 2
            if self._protocol == paho.MQTTv5:
                if packet[pos] != 0:  # properties present: let paho parse them
                    return super()._handle_publish()
                pos += 1
        except IndexError:
            log.exception("malformed PUBLISH packet from the broker; reconnecting")
            return MQTTErrorCode.MQTT_ERR_PROTOCOL
        handler(topic, bytes(packet[pos:]), mid, qos)
        return MQTTErrorCode.MQTT_ERR_SUCCESS


class MqttReceiver:
    """Subscribes with QoS 1 on a persistent session; the caller acks (``ack_many``)."""

    def __init__(self, settings: MqttSettings, client_id: str, handler: MessageHandler) -> None:
        self._settings = settings
        self._handler = handler
        self._client = _new_client(settings, client_id, manual_ack=True, cls=_ReceiverClient)
        self._client.handler = handler  # type: ignore[attr-defined]
        self._client.on_message = self._on_message
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._subscription: str | None = None
        self.connected = threading.Event()

    def start(
        self,
        subscription: str,
        *,
        stop: threading.Event | None = None,
        attempts: int | None = None,
    ) -> None:
        self._subscription = subscription
        connect_with_retry(self._client, self._settings, stop=stop, attempts=attempts)
        self._client.loop_start()

    def ack_many(self, mids: list[int]) -> None:
        """Acknowledge many QoS 1 messages in one write.

        ``Client.ack`` queues one 4-byte PUBACK per call, each waking the network
        thread and costing a send(); at tens of thousands of messages a second that
        dominates. The PUBACKs are concatenated and queued as one buffer through
        paho's packet queue (pinned: paho-mqtt 2.x; the delivery tests cover it).
        """
        if mids:
            packets = b"".join(struct.pack("!BBH", _PUBACK, 2, mid) for mid in mids)
            self._client._packet_queue(_PUBACK, packets, 0, 0)

    def stop(self) -> None:
        """Stop receiving; what was not acked stays with the broker for the next session."""
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        props: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error("MQTT broker refused the connection: %s; %s", reason, _refusal_hint(reason))
            return
        log.info("connected to MQTT broker (session present: %s)", flags.session_present)
        assert self._subscription is not None
        # Subscribing again on a present session is harmless and covers a lost one.
        client.subscribe(self._subscription, qos=1)

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: object,
        mid: int,
        reasons: list[ReasonCode],
        props: Properties | None,
    ) -> None:
        if any(r.is_failure for r in reasons):
            log.error("the broker refused the subscription %s: %s", self._subscription, reasons)
            return
        log.info("subscribed to %s", self._subscription)
        self.connected.set()

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.DisconnectFlags,
        reason: ReasonCode,
        props: Properties | None,
    ) -> None:
        self.connected.clear()
        if reason.is_failure:
            log.warning("MQTT connection lost (%s); paho reconnects", reason)

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        # Raw topic bytes: a topic that is not UTF-8 is a bad message, not a crash.
        self._handler(msg._topic, bytes(msg.payload), msg.mid, msg.qos)


class MqttPublisher:
    """QoS 1 publisher that counts what the broker confirmed (PUBACK)."""

    def __init__(
        self,
        settings: MqttSettings,
        client_id: str,
        max_inflight: int = 50,
        max_backlog: int = 200,
    ) -> None:
        self._settings = settings
        self._client = _new_client(settings, client_id, manual_ack=False)
        self._client.max_inflight_messages_set(max_inflight)
        self._client.max_queued_messages_set(0)
        self._client.on_publish = self._on_publish
        self._lock = threading.Lock()
        # Unconfirmed publishes at most. Kept small on purpose: paho scans its whole
        # outgoing queue on every PUBACK (measured: 29k msg/s with 100 queued, 2.6k/s
        # with 20,000), and a slow broker should slow the publisher, not fill memory.
        self._max_backlog = max(max_backlog, max_inflight)
        self.sent = 0
        self.confirmed = 0  # answered by the broker, refusals included
        self.refused = 0  # answered with a failure reason code (e.g. not authorised)

    def start(self, *, attempts: int | None = None) -> None:
        connect_with_retry(self._client, self._settings, attempts=attempts)
        self._client.loop_start()

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Queue a publish; blocks while too many are unconfirmed."""
        while self.backlog() >= self._max_backlog:
            time.sleep(0.001)
        info = self._client.publish(topic, payload, qos=qos)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise ConnectionError(f"publish failed: {paho.error_string(info.rc)}")
        with self._lock:
            self.sent += 1
            if qos == 0:
                self.confirmed += 1

    def backlog(self) -> int:
        with self._lock:
            return self.sent - self.confirmed

    def wait_confirmed(self, timeout: float) -> bool:
        """Wait until every QoS 1 publish has been acknowledged by the broker."""
        deadline = time.monotonic() + timeout
        while self.backlog() > 0:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_publish(
        self,
        client: paho.Client,
        userdata: object,
        mid: int,
        reason: ReasonCode,
        props: Properties,
    ) -> None:
        refused = 0
        with self._lock:
            self.confirmed += 1
            if reason.is_failure:
                self.refused += 1
                refused = self.refused
        if refused == 1 or (refused and refused % 1000 == 0):
            log.warning(
                "the broker refused a publish (%s; %d so far): is this account allowed"
                " to publish for that device?",
                reason,
                refused,
            )
