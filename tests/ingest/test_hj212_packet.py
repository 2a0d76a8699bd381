"""Decoding and encoding data segments: fields, Flag bits, data area, editions, faults."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.hj212 import (
    ACCEPT_ANY,
    MAX_SEGMENT,
    CrcVariant,
    DataArea,
    Edition,
    EncodeError,
    Fault,
    Packet,
    TimeFault,
    crc_text,
    decode_packet,
    describe,
    encode_frame,
    encode_packet,
    encode_segment,
    format_time,
    make_flag,
    make_qn,
    parse_time,
)
from tests.ingest.hj212_cases import APPENDIX_A, APPENDIX_A_SEGMENT, packets

MN = "010000A8900016F000169DC0"


def segment(text: str) -> bytes:
    """A well-framed packet around ``text`` (standard CRC, length in bytes)."""
    return encode_frame(text.encode())


def test_the_standards_example() -> None:
    d = decode_packet(APPENDIX_A)
    assert d.ok
    assert (d.crc_ok, d.crc_variant, d.length_ok) == (True, CrcVariant.HJ212, True)
    p = d.packet
    assert p is not None
    assert (p.qn, p.st, p.cn, p.pw, p.mn, p.flag) == (
        "20160801085857223",
        "32",
        "1062",
        "100000",
        MN,
        5,
    )
    assert p.edition is Edition.HJ212_2017
    assert p.ack_required
    assert not p.split
    assert p.cp.params == {"RtdInterval": "30"}
    assert encode_packet(p) == APPENDIX_A


def test_the_check_value_printed_in_the_standards_text_fails() -> None:
    d = decode_packet(APPENDIX_A.replace(b"1C80", b"1C08"))
    assert not d.ok
    assert d.error is Fault.BAD_CRC
    assert d.crc_ok is False
    assert d.crc_variant is None
    assert d.mn == MN


def test_a_modbus_packet_is_recognised_and_accepted_only_when_allowed() -> None:
    wire = encode_frame(APPENDIX_A_SEGMENT, CrcVariant.MODBUS)
    d = decode_packet(wire)
    assert (d.ok, d.error, d.crc_ok, d.crc_variant) == (
        False,
        Fault.BAD_CRC,
        False,
        CrcVariant.MODBUS,
    )
    assert d.packet is not None  # still read, for the log
    d = decode_packet(wire, frozenset({CrcVariant.MODBUS}))
    assert d.ok
    assert d.crc_ok is False  # the standard's verdict does not change
    assert decode_packet(APPENDIX_A, frozenset({CrcVariant.MODBUS})).error is Fault.BAD_CRC


@pytest.mark.parametrize(
    ("flag", "edition", "ack", "split"),
    [
        (None, Edition.HJT212_2005, False, False),
        (0, Edition.HJT212_2005, False, False),
        (3, Edition.HJT212_2005, True, True),
        (4, Edition.HJ212_2017, False, False),
        (5, Edition.HJ212_2017, True, False),
        (7, Edition.HJ212_2017, True, True),
        (8, Edition.HJ212_2025, False, False),
        (9, Edition.HJ212_2025, True, False),
        (16, None, False, False),
    ],
)
def test_flag_bits(flag: int | None, edition: Edition | None, ack: bool, split: bool) -> None:
    p = Packet(st="32", cn="2011", cp=DataArea.of(), flag=flag)
    assert p.edition is edition
    assert p.ack_required is ack
    if flag is not None and edition is not None:
        assert make_flag(edition, ack=ack, split=split) == flag


def test_a_2005_packet_without_qn_and_flag_with_old_codes() -> None:
    wire = segment(
        "ST=32;CN=2011;PW=123456;MN=88888880000001;"
        "CP=&&DataTime=20040516020111;011-Rtd=50.5,011-Flag=N;060-Rtd=2.1;B01-Rtd=30.2&&"
    )
    d = decode_packet(wire)
    assert d.ok
    p = d.packet
    assert p is not None
    assert (p.qn, p.flag, p.edition) == (None, None, Edition.HJT212_2005)
    assert p.cp.items == {
        "w01018": {"Rtd": "50.5", "Flag": "N"},
        "w21003": {"Rtd": "2.1"},
        "w00000": {"Rtd": "30.2"},
    }
    assert p.cp.legacy_codes == {"w01018": "011", "w21003": "060", "w00000": "B01"}
    assert encode_packet(p) == wire


def test_data_area_items_and_fields() -> None:
    cp = DataArea.parse(
        "DataTime=20260601100000;w01018-Rtd=20.10,w01018-Flag=N;SB1-RS=1;a34004-ZsRtd=35;"
    )
    assert isinstance(cp, DataArea)
    assert cp.data_time == "20260601100000"
    assert cp.items == {
        "w01018": {"Rtd": "20.10", "Flag": "N"},
        "SB1": {"RS": "1"},
        "a34004": {"ZsRtd": "35"},
    }
    assert cp.text.endswith(";")  # kept as sent
    assert DataArea.of({"DataTime": "20260601100000"}, {"w01018": {"Rtd": "20.1"}}).text == (
        "DataTime=20260601100000;w01018-Rtd=20.1"
    )


def test_chinese_in_the_data_area_is_counted_in_bytes() -> None:
    cp = DataArea.of({"DataTime": "20260601100000"}, {"i12001": {"Info": "设备维护"}})
    p = Packet(st="32", cn="3020", cp=cp, qn="20260601100000000", mn=MN, flag=4)
    wire = encode_packet(p)
    text = wire[6:-6].decode()
    assert int(wire[2:6]) == len(text.encode()) == len(text) + 8  # 4 characters, 12 bytes
    d = decode_packet(wire)
    assert d.ok
    assert d.packet == p
    by_characters = b"##%04d" % len(text) + wire[6:]
    d = decode_packet(by_characters)
    assert (d.error, d.crc_ok, d.length_ok) == (Fault.BAD_LENGTH, True, False)
    assert d.detail is not None
    assert "characters" in d.detail


def test_an_oversize_data_segment_is_refused() -> None:
    cp = DataArea.of({"Info": "x" * 1000})
    big = Packet(st="32", cn="3020", cp=cp, qn="20260601100000000", mn=MN, flag=4)
    with pytest.raises(EncodeError) as exc:
        encode_packet(big)
    assert exc.value.reason is Fault.OVERSIZE
    seg = b"ST=32;CN=3020;CP=&&Info=" + b"x" * 1010 + b"&&"
    wire = b"##%04d" % len(seg) + seg + crc_text(seg).encode()
    assert decode_packet(wire).error is Fault.OVERSIZE
    assert decode_packet(b"##2000" + APPENDIX_A[6:]).error is Fault.OVERSIZE


@pytest.mark.parametrize(
    ("data", "fault"),
    [
        (b"", Fault.BAD_HEADER),
        (b"#0101" + APPENDIX_A[5:], Fault.BAD_HEADER),
        (b"##0101MN=X;ST=32", Fault.BAD_LENGTH),
        (b"##01a1" + APPENDIX_A[6:], Fault.BAD_HEADER),
        (b"##0101QN=1", Fault.BAD_LENGTH),
        (APPENDIX_A[:-6] + b"1C8G", Fault.BAD_CRC),
        (segment("QN=1;CN=2011;MN=X;CP=&&&&"), Fault.BAD_FIELD),  # no ST
        (segment("ST=32;CN=201;MN=X;CP=&&&&"), Fault.BAD_FIELD),
        (segment("ST=32;CN=2011;MN=X;Bogus=1;CP=&&&&"), Fault.BAD_FIELD),
        (segment("ST=32;CN=2011;MN=X;MN=Y;CP=&&&&"), Fault.BAD_FIELD),
        (segment("ST=32;CN=2011;MN;CP=&&&&"), Fault.BAD_FIELD),
        (segment("ST=32;CN=2011;MN=X;Flag=256;CP=&&&&"), Fault.BAD_FIELD),
        (segment("ST=32;CN=2011;MN=X;Flag=x;CP=&&&&"), Fault.BAD_FIELD),
        (segment("ST=32;CN=2011;MN=X;Flag=7;PNUM=2;CP=&&&&"), Fault.BAD_FIELD),
        (segment("ST=32;CN=2011;MN=X;Flag=7;PNUM=2;PNO=3;CP=&&&&"), Fault.BAD_FIELD),
        (segment("ST=32;CN=2011;MN=X;Flag=7;PNUM=2;PNO=0;CP=&&&&"), Fault.BAD_FIELD),
        (segment("ST=32;CN=2011;MN=X;Flag=4"), Fault.BAD_CP),
        (segment("ST=32;CN=2011;MN=X;Flag=4;CP=w01018-Rtd=1"), Fault.BAD_CP),
        (segment("ST=32;CN=2011;MN=X;Flag=4;CP=&&w01018-Rtd=1"), Fault.BAD_CP),
        (segment("ST=32;CN=2011;MN=X;Flag=4;CP=&&w01018-Rtd&&"), Fault.BAD_CP),
        (segment("ST=32;CN=2011;MN=X;Flag=4;CP=&&=1&&"), Fault.BAD_CP),
        (encode_frame(b"ST=32;CN=2011;MN=X;CP=&&Info=\xb2\xe2&&"), Fault.BAD_ENCODING),
    ],
)
def test_faults_are_reasons_never_exceptions(data: bytes, fault: Fault) -> None:
    d = decode_packet(data)
    assert not d.ok
    assert d.error is fault
    assert d.detail
    if b"MN=X;" in data:
        assert d.mn == "X"


@given(packets(), st.sampled_from(list(CrcVariant)))
def test_encode_then_decode_gives_the_packet_back(p: Packet, variant: CrcVariant) -> None:
    if len(encode_segment(p)) > MAX_SEGMENT:
        with pytest.raises(EncodeError, match="at most 1024"):
            encode_packet(p, variant)
        return
    wire = encode_packet(p, variant)
    d = decode_packet(wire, ACCEPT_ANY)
    assert d.ok, d.detail
    assert d.packet == p
    assert encode_packet(p, variant) == wire
    assert decode_packet(wire[:-2]).packet == p  # without CR LF
    json.dumps(describe(d), ensure_ascii=False)


@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    d = decode_packet(data, ACCEPT_ANY)
    json.dumps(describe(d))


@given(packets(), st.integers(0, 2000), st.binary(min_size=1, max_size=3))
def test_a_corrupted_packet_never_raises(p: Packet, at: int, junk: bytes) -> None:
    try:
        wire = bytearray(encode_packet(p))
    except EncodeError:
        return
    wire[at % len(wire) : at % len(wire) + 1] = junk
    d = decode_packet(bytes(wire), ACCEPT_ANY)
    json.dumps(describe(d), ensure_ascii=False)


def test_encoding_refuses_text_that_would_not_read_back() -> None:
    for bad in (
        Packet(st="32", cn="2011", cp=DataArea.of(), mn="A;B"),
        Packet(st="32", cn="20111", cp=DataArea.of()),
        Packet(st="32", cn="2011", cp=DataArea.of(), flag=256),
        Packet(st="32", cn="2011", cp=DataArea.of(), pnum=2),
    ):
        with pytest.raises(EncodeError):
            encode_packet(bad)
    for items in ([[("a;b", "1")]], [[("k", "1,2")]], [[("k", "&&")]]):
        with pytest.raises(EncodeError):
            DataArea.build(items)


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("20260601100000", datetime(2026, 6, 1, 2, 0, tzinfo=UTC)),
        ("20260601100000123", datetime(2026, 6, 1, 2, 0, 0, 123000, tzinfo=UTC)),
        ("202606011000", datetime(2026, 6, 1, 2, 0, tzinfo=UTC)),
        ("2026-06-01 10:00:00", datetime(2026, 6, 1, 2, 0, tzinfo=UTC)),
        ("2026-06-01T10:00:00.500", datetime(2026, 6, 1, 2, 0, 0, 500000, tzinfo=UTC)),
        ("20260101050000", datetime(2025, 12, 31, 21, 0, tzinfo=UTC)),
    ],
)
def test_logger_times_are_china_standard_time(text: str, at: datetime) -> None:
    parsed = parse_time(text)
    assert parsed.error is None
    assert parsed.at == at
    assert parsed.at is not None
    assert parsed.at.utcoffset() is not None


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("", TimeFault.BAD_TIME_FORMAT),
        ("2026060110", TimeFault.BAD_TIME_FORMAT),
        ("202606011000001", TimeFault.BAD_TIME_FORMAT),
        ("2026-06-01", TimeFault.BAD_TIME_FORMAT),
        ("\uff12\uff10\uff12\uff160601100000", TimeFault.BAD_TIME_FORMAT),
        ("20261301100000", TimeFault.BAD_TIME_VALUE),
        ("20260231100000", TimeFault.BAD_TIME_VALUE),
        ("20260601250000", TimeFault.BAD_TIME_VALUE),
    ],
)
def test_other_times_give_a_reason(text: str, fault: TimeFault) -> None:
    assert parse_time(text).at is None
    assert parse_time(text).error is fault


def test_times_are_written_in_china_standard_time() -> None:
    at = datetime(2026, 6, 1, 2, 0, 5, 42000, tzinfo=UTC)
    assert format_time(at) == "20260601100005"
    assert make_qn(at) == "20260601100005042"
    with pytest.raises(ValueError, match="naive"):
        format_time(datetime(2026, 6, 1))  # noqa: DTZ001 - the mistake under test


def test_describe_gives_the_parse_commands_keys() -> None:
    out = describe(decode_packet(APPENDIX_A))
    keys = [
        "ok",
        "crc_ok",
        "crc_variant",
        "length_ok",
        "edition",
        "qn",
        "st",
        "cn",
        "mn",
        "flag",
        "cp",
        "error",
    ]
    assert set(keys) <= set(out)
    assert "pw" not in out
    wire = segment("ST=32;CN=2011;MN=X;Flag=4;CP=&&DataTime=20260601100000;w01018-Rtd=1&&")
    out = describe(decode_packet(wire))
    assert out["cp"] == {"DataTime": "20260601100000", "w01018": {"Rtd": "1"}}
    assert out["data_time"] == "2026-06-01T10:00:00+08:00"
