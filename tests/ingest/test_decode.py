"""Every kind of bad input gets its own dead-letter reason; good input becomes a row."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.collector.decode import Accepted, Decoder, Rejected
from ingest.reasons import Reason

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
TYPES = {"air-guantang": "air_station", "ll-0001": "leak_logger", "rsu-0001": "rsu"}


def air(**fields: object) -> bytes:
    body: dict[str, object] = {
        "v": 1,
        "ts": "2026-06-01T10:00:00+08:00",
        "seq": 7,
        "pm25_ugm3": 35.5,
    }
    body.update(fields)
    return json.dumps(body).encode()


def decode(topic: str | bytes, payload: bytes) -> Accepted | Rejected:
    t = topic.encode() if isinstance(topic, str) else topic
    return Decoder(TYPES).decode(t, payload, NOW)


def test_valid_reading_becomes_a_typed_row() -> None:
    r = decode("liudong/air/air-guantang/reading", air(co_mgm3=0.8))
    assert isinstance(r, Accepted)
    assert r.device_id == "air-guantang"
    assert r.ts == datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    assert r.seq == 7
    row = dict(zip(r.kind.columns, r.values, strict=True))
    assert row["pm25_ugm3"] == 35.5
    assert row["co_mgm3"] == 0.8
    assert row["o3_ugm3"] is None  # optional measures may be omitted


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("liudong/air/air-guantang", air(), Reason.BAD_TOPIC),
        ("liudong/air/air-guantang/reading/x", air(), Reason.BAD_TOPIC),
        ("liudong/soil/air-guantang/reading", air(), Reason.BAD_TOPIC),
        ("liudong/air/air-guantang/heartbeat", air(), Reason.BAD_TOPIC),
        ("liudong/air/AIR/reading", air(), Reason.BAD_TOPIC),
        (b"liudong/air/\xff\xfe/reading", air(), Reason.BAD_TOPIC),
        ("liudong/air/air-nowhere/reading", air(), Reason.UNKNOWN_DEVICE),
        ("liudong/water/ll-0001/flow", b'{"v":1}', Reason.WRONG_KIND),
        ("liudong/air/air-guantang/reading", b"{not json", Reason.INVALID_JSON),
        ("liudong/air/air-guantang/reading", b"\xff\xfe\x00", Reason.INVALID_JSON),
        ("liudong/air/air-guantang/reading", b"[1, 2]", Reason.INVALID_JSON),
        ("liudong/air/air-guantang/reading", b"", Reason.INVALID_JSON),
        ("liudong/air/air-guantang/reading", air(v=2), Reason.SCHEMA),
        ("liudong/air/air-guantang/reading", air(ts="2026-06-01T10:00:00"), Reason.SCHEMA),
        ("liudong/air/air-guantang/reading", air(pm25_ugm3="high"), Reason.SCHEMA),
        ("liudong/air/air-guantang/reading", air(colour="blue"), Reason.SCHEMA),
        ("liudong/air/air-guantang/reading", air(seq=None), Reason.SCHEMA),
        (
            "liudong/air/air-guantang/reading",
            air(pm25_ugm3=1.0).replace(b"1.0", b"NaN"),
            Reason.NON_FINITE,
        ),
        (
            "liudong/air/air-guantang/reading",
            air(pm25_ugm3=1.0).replace(b"1.0", b"Infinity"),
            Reason.NON_FINITE,
        ),
        ("liudong/air/air-guantang/reading", air(pm25_ugm3=1e999), Reason.NON_FINITE),
        ("liudong/air/air-guantang/reading", air(rh_pct=140), Reason.IMPOSSIBLE_VALUE),
        ("liudong/air/air-guantang/reading", air(pm25_ugm3=-3), Reason.IMPOSSIBLE_VALUE),
        (
            "liudong/air/air-guantang/reading",
            air(ts=(NOW + timedelta(minutes=11)).isoformat()),
            Reason.FUTURE_TIMESTAMP,
        ),
        # strict JSON types: no string for a number, no boolean for an integer
        ("liudong/air/air-guantang/reading", air(seq="14"), Reason.SCHEMA),
        ("liudong/air/air-guantang/reading", air(pm25_ugm3="12.5"), Reason.SCHEMA),
        ("liudong/air/air-guantang/reading", air(v=True), Reason.SCHEMA),
        ("liudong/air/air-guantang/reading", air(seq=True), Reason.SCHEMA),
        ("liudong/air/air-guantang/reading", air(seq=14.0), Reason.SCHEMA),
        ("liudong/air/air-guantang/reading", air(pm25_ugm3=True), Reason.SCHEMA),
        ("liudong/air/air-guantang/reading", air(ts="1970-01-01T00:00:00Z"), Reason.TOO_OLD),
        ("liudong/air/air-guantang/reading", air(ts="0001-01-01T00:00:00+08:00"), Reason.TOO_OLD),
        (
            "liudong/air/air-guantang/reading",
            air().replace(b'"seq": 7', b'"seq": 7, "pm25_ugm3": 999'),
            Reason.DUPLICATE_KEY,
        ),
        (
            "liudong/air/air-guantang/reading",
            air(flags={"pm25_ugm3": "C"}).replace(b'"C"', b'"C", "pm25_ugm3" : "N"'),
            Reason.DUPLICATE_KEY,
        ),
    ],
)
def test_bad_input_is_rejected_with_its_reason(
    topic: str | bytes, payload: bytes, reason: Reason
) -> None:
    r = decode(topic, payload)
    assert isinstance(r, Rejected), r
    assert r.reason == reason, r.detail
    assert r.detail


def test_nine_minutes_ahead_is_still_accepted() -> None:
    r = decode("liudong/air/air-guantang/reading", air(ts=(NOW + timedelta(minutes=9)).isoformat()))
    assert isinstance(r, Accepted)


def test_old_data_is_accepted_up_to_the_max_age() -> None:
    year_ago = (NOW - timedelta(days=365)).isoformat()
    r = decode("liudong/air/air-guantang/reading", air(ts=year_ago))
    assert isinstance(r, Accepted)
    strict = Decoder(TYPES, max_age=timedelta(days=30))
    r = strict.decode(b"liudong/air/air-guantang/reading", air(ts=year_ago), NOW)
    assert isinstance(r, Rejected)
    assert r.reason == Reason.TOO_OLD
    assert "ENVMON_INGEST__MAX_AGE_DAYS" in r.detail


def test_a_repeated_key_is_named_and_lookalikes_are_not_repeats() -> None:
    r = decode(
        "liudong/air/air-guantang/reading",
        air().replace(b'"seq": 7', b'"seq": 7, "seq": 8'),
    )
    assert isinstance(r, Rejected)
    assert r.detail == "the key 'seq' appears more than once"
    # an explicit null and extra spaces: no repeat
    ok = decode("liudong/air/air-guantang/reading", air(o3_ugm3=None).replace(b" ", b"  "))
    assert isinstance(ok, Accepted)


def test_a_text_with_nul_cannot_reach_the_database() -> None:
    payload = json.dumps(
        {
            "v": 1,
            "ts": "2026-06-01T10:00:00+08:00",
            "seq": 1,
            "event_id": "ev\u0000x",
            "msg_type": "RSI",
            "event_type": "accident",
            "lat": 24.4,
            "lon": 109.5,
            "start_ts": "2026-06-01T09:58:00+08:00",
        }
    ).encode()
    r = decode("liudong/v2x/rsu-0001/event", payload)
    assert isinstance(r, Rejected)
    assert r.reason == Reason.SCHEMA


@settings(max_examples=300, deadline=None)
@given(
    topic=st.one_of(
        st.binary(max_size=80),
        st.sampled_from([b"liudong/air/air-guantang/reading", b"liudong/v2x/rsu-0001/event"]),
    ),
    payload=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=12), inner, max_size=6)
            ),
            max_leaves=12,
        ).map(lambda v: json.dumps(v).encode()),
    ),
)
def test_no_input_makes_the_decoder_raise(topic: bytes, payload: bytes) -> None:
    """Whatever arrives becomes a row or a dead letter with a reason — never an exception."""
    r = Decoder(TYPES).decode(topic, payload, NOW)
    assert isinstance(r, Accepted | Rejected)
    if isinstance(r, Rejected):
        assert r.reason in set(Reason)
        assert len(r.detail) <= 300


def test_billing_ts_must_be_the_start_of_its_local_day() -> None:
    types = {"dma-01": "dma"}
    good = b'{"v":1,"ts":"2026-06-01T00:00:00+08:00","seq":1,"day":"2026-06-01","billed_m3":5e3}'
    late = good.replace(b"T00:00:00", b"T00:05:00")
    other_day = good.replace(b'"day":"2026-06-01"', b'"day":"2026-05-31"')
    decoder = Decoder(types)
    assert isinstance(decoder.decode(b"liudong/water/dma-01/billing", good, NOW), Accepted)
    for payload in (late, other_day):
        r = decoder.decode(b"liudong/water/dma-01/billing", payload, NOW)
        assert isinstance(r, Rejected)
        assert r.reason == Reason.SCHEMA


def test_a_road_event_cannot_end_before_it_starts() -> None:
    payload = json.dumps(
        {
            "v": 1,
            "ts": "2026-06-01T10:00:00+08:00",
            "seq": 1,
            "event_id": "ev-1",
            "msg_type": "RSI",
            "event_type": "roadworks",
            "lat": 24.4,
            "lon": 109.5,
            "start_ts": "2026-06-01T09:00:00+08:00",
            "end_ts": "2026-06-01T08:00:00+08:00",
        }
    ).encode()
    r = decode("liudong/v2x/rsu-0001/event", payload)
    assert isinstance(r, Rejected)
    assert r.reason == Reason.SCHEMA
    assert "end_ts" in r.detail
