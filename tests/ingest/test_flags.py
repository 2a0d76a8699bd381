"""Data flags in the wire contract: validated per field, stored with the row; relayed
dead letters of the HJ 212 gateway stored with the logger's bytes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ingest.collector.decode import Accepted, Decoder, Rejected
from ingest.collector.inbound import Inbound
from ingest.collector.writer import BatchWriter
from ingest.edge import EdgeDeadLetter, dead_letter_topic
from ingest.reasons import Reason
from tests.fixtures.servers import Database

NOW = datetime(2026, 6, 1, 2, 30, tzinfo=UTC)
TYPES = {"wwtp-guantang": "wwtp", "air-guantang": "air_station"}
TOPIC = b"liudong/wastewater/wwtp-guantang/reading"


def reading(**extra: object) -> bytes:
    body: dict[str, object] = {
        "v": 1,
        "ts": "2026-06-01T10:00:00+08:00",
        "seq": 1,
        "influent_flow_m3h": 3000.0,
        "bypass_flow_m3h": 0.0,
        "effluent_cod_mgl": 62.0,
    }
    return json.dumps({**body, **extra}).encode()


def decode(topic: bytes, payload: bytes) -> Accepted | Rejected:
    return Decoder(TYPES).decode(topic, payload, NOW)


def test_flags_travel_with_the_reading() -> None:
    r = decode(TOPIC, reading(flags={"effluent_cod_mgl": "C", "effluent_ph": "F"}))
    assert isinstance(r, Accepted)
    assert r.flags == {"effluent_cod_mgl": "C", "effluent_ph": "F"}
    assert "flags" not in r.kind.columns
    plain = decode(TOPIC, reading())
    assert isinstance(plain, Accepted)
    assert plain.flags is None


@pytest.mark.parametrize(
    "flags",
    [
        {"pm25_ugm3": "N"},  # not a field of wastewater readings
        {"effluent_cod_mgl": "X"},  # not an HJ 212 flag
        {"effluent_cod_mgl": "n"},
        {"v": "N"},
        ["effluent_cod_mgl"],
    ],
)
def test_bad_flags_are_a_schema_dead_letter(flags: object) -> None:
    r = decode(TOPIC, reading(flags=flags))
    assert isinstance(r, Rejected)
    assert r.reason == Reason.SCHEMA


def relayed(**fields: object) -> bytes:
    dead = EdgeDeadLetter(
        received_at=NOW,
        reason="bad_crc",
        detail="CRC valid under neither algorithm",
        raw_b64=EdgeDeadLetter.encode_raw(b"##0010QN=1;ST=32XXXX\r\n"),
        mn="010000A8900016FA1CBF821B",
        device_id="wwtp-guantang",
        feed="wastewater",
        peer="10.0.0.7:40001",
    )
    return dead.model_copy(update=fields).model_dump_json().encode()


def test_a_relayed_dead_letter_keeps_the_loggers_bytes_reason_and_mn() -> None:
    topic = dead_letter_topic("hj212-gateway").encode()
    r = decode(topic, relayed())
    assert isinstance(r, Rejected)
    assert r.reason == "bad_crc"
    assert r.raw == b"##0010QN=1;ST=32XXXX\r\n"
    assert r.device_id == "wwtp-guantang"
    assert r.feed == "wastewater"
    assert r.detail.startswith("MN=010000A8900016FA1CBF821B, from 10.0.0.7:40001: CRC")
    stranger = decode(topic, relayed(device_id="wwtp-nowhere", mn="X"))
    assert isinstance(stranger, Rejected)
    assert stranger.device_id is None
    assert stranger.feed is None
    bad = decode(topic, b'{"v": 1, "reason": "bad_crc"}')
    assert isinstance(bad, Rejected)
    assert bad.reason == Reason.SCHEMA
    assert bad.raw is None
    other = decode(b"liudong/hj212/hj212-gateway/other", relayed())
    assert isinstance(other, Rejected)
    assert other.reason == Reason.BAD_TOPIC


def test_flags_and_relayed_bytes_are_stored(database: Database) -> None:
    items = []
    for i, payload in enumerate(
        [reading(flags={"effluent_cod_mgl": "C"}), reading(ts="2026-06-01T10:01:00+08:00")]
    ):
        items.append(Inbound(TOPIC, payload, i, 1, NOW, decode(TOPIC, payload)))
    topic = dead_letter_topic("gw").encode()
    items.append(Inbound(topic, relayed(), 9, 1, NOW, decode(topic, relayed())))
    writer = BatchWriter(database.url, database.schema)
    try:
        out = writer.write(items)
    finally:
        writer.close()
    assert out.stored["wastewater"] == 2
    with database.connect() as conn:
        rows = conn.execute(
            "SELECT flags FROM wastewater_reading WHERE device_id = 'wwtp-guantang' ORDER BY ts"
        ).fetchall()
        dead = conn.execute("SELECT payload, reason, device_id, topic FROM dead_letter").fetchall()
    assert [r[0] for r in rows] == [{"effluent_cod_mgl": "C"}, None]
    assert dead == [
        (b"##0010QN=1;ST=32XXXX\r\n", "bad_crc", "wwtp-guantang", topic.decode()),
    ]
