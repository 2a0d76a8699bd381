"""``envmon bench broker-crash``: what a SIGKILL of Mosquitto loses of the messages it had
already acknowledged, and what each persistence setting costs in publish rate.

Per setting and run: a subscriber takes a persistent session and goes away; one publisher
sends QoS 1 messages as fast as the broker acknowledges them; after ``--seconds`` the
broker is killed (SIGKILL) mid-stream and started again on its data directory; the
subscriber returns and takes what the broker kept. ``lost`` = acknowledged − delivered:
messages a device was told were safe and that no one will ever receive.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envmon.runtime.mosquitto import MosquittoBroker
from ingest.mqtt import MqttPublisher, MqttReceiver
from ingest.settings import MqttSettings

TOPIC = "crash/bench"
QUIET_S = 3.0  # the drain is over when nothing arrived for this long


@dataclass(frozen=True)
class Variant:
    name: str
    overrides: dict[str, str]  # replacing or adding to deploy/'s persistence directives


VARIANTS = (
    Variant("autosave_interval 30 (Mosquitto's default 1800)", {"autosave_interval": "30"}),
    Variant("autosave_interval 5", {"autosave_interval": "5"}),
    Variant("autosave_interval 1", {"autosave_interval": "1"}),
    Variant(
        "autosave_on_changes, every 100 changes",
        {"autosave_on_changes": "true", "autosave_interval": "100"},
    ),
)


def _subscriber(settings: MqttSettings, got: set[int], lock: threading.Lock) -> MqttReceiver:
    mids: list[int] = []

    def handler(_topic: bytes, payload: bytes, mid: int, _qos: int) -> None:
        with lock:
            got.add(int(payload))
            mids.append(mid)

    receiver = MqttReceiver(settings, "bench-crash-subscriber", handler)
    receiver.start(TOPIC, attempts=10)
    receiver.connected.wait(30)

    def acker() -> None:
        while receiver.connected.is_set() or mids:
            time.sleep(0.05)
            with lock:
                batch, mids[:] = mids[:], []
            receiver.ack_many(batch)

    threading.Thread(target=acker, daemon=True).start()
    return receiver


def one_run(variant: Variant, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="envmon-crash-") as tmp:
        broker = MosquittoBroker(Path(tmp), overrides=variant.overrides)
        broker.start()
        settings = MqttSettings(url=broker.url)
        got: set[int] = set()
        lock = threading.Lock()
        _subscriber(settings, got, lock).stop()  # the session stays, queueing for it
        pub = MqttPublisher(settings, "bench-crash-publisher", max_inflight=100, max_backlog=1000)
        pub.start(attempts=10)
        began = time.monotonic()
        i = 0
        while time.monotonic() - began < seconds:
            pub.publish(TOPIC, str(i).encode())
            i += 1
        acked = pub.confirmed  # in order: messages 0 … acked-1 were acknowledged
        rate = acked / (time.monotonic() - began)
        broker.kill()
        broker.start()
        pub.stop()
        receiver = _subscriber(settings, got, lock)
        last, seen = time.monotonic(), -1
        while time.monotonic() - last < QUIET_S:
            time.sleep(0.2)
            with lock:
                if len(got) != seen:
                    seen, last = len(got), time.monotonic()
        receiver.stop()
        broker.stop()
        delivered = len({n for n in got if n < acked})
        return {"acked": acked, "delivered": delivered, "lost": acked - delivered, "rate": rate}


def run(seconds: float, runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {"seconds": seconds, "runs": runs, "settings": {}}
    for variant in VARIANTS:
        results = []
        for k in range(runs):
            r = one_run(variant, seconds)
            results.append(r)
            print(
                f"{variant.name}, run {k + 1}: acknowledged {r['acked']:,}, delivered after"
                f" the restart {r['delivered']:,}, lost {r['lost']:,}, {r['rate']:,.0f} msg/s",
                file=sys.stderr,
                flush=True,
            )
        out["settings"][variant.name] = {
            "lost": [r["lost"] for r in results],
            "acked": [r["acked"] for r in results],
            "lost_median": statistics.median(r["lost"] for r in results),
            "rate_median": round(statistics.median(r["rate"] for r in results)),
        }
    return out


def main(seconds: float, runs: int) -> int:
    print(json.dumps(run(seconds, runs), ensure_ascii=False))
    return 0
