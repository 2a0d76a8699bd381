"""HJ 212-2025 in the codec: SM4 over the data area, the 2025 Flag bits, the heartbeat,
the hardware serial and the MN the platform sets."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.hj212 import (
    ACCEPT_ANY,
    DataArea,
    Edition,
    Fault,
    Frame,
    FrameBuffer,
    Packet,
    Sm4Key,
    crc_text,
    decode_frame,
    decode_packet,
    decrypt_segment,
    encode_packet,
    encode_segment,
    encrypt_segment,
    encrypts,
    hardware_serial,
    make_flag,
    needs_heartbeat_reply,
    needs_notification_reply,
    notification_reply,
    set_mn,
)
from ingest.hj212 import sm4 as sm4_codec
from tests.ingest.hj212_cases import packets

# GB/T 32907-2016 Appendix A, example 1: key = plaintext.
GBT_KEY = "0123456789abcdeffedcba9876543210"
GBT_CIPHER = "681edf34d206965e86b3e94f536e4246"

# HJ 212-2025 Appendix A.2 as transcribed by an open implementation (the 2025 text itself
# was not read): key "16 × 0x30", a minute upload whose data area is 13 whole blocks, its
# ciphertext, and the length and CRC of the packet in clear, which the encrypted one keeps.
A2_KEY = Sm4Key(b"0" * 16)
A2_SEGMENT = (
    b"QN=20240520210700000;ST=31;CN=2051;PW=123456;MN=010000A8900016F000169DC0;Flag=9;"
    b"CP=&&DataTime=20240520210600;a01011-Min=1.35,a01011-Avg=1.35,a01011-Max=1.35,"
    b"a01011-Flag=N;a01012-Min=9.3,a01012-Avg=9.3,a01012-Max=9.3,a01012-Flag=N;"
    b"a01014-Min=3.20,a01014-Avg=3.211,a01014-Max=3.212,a01014-Flag=N&&"
)
A2_CIPHER = bytes.fromhex(
    "E43E159ACFAB242CB53155FB8B9281A1A242577ABFAED881BE88B72D69FC55ED1A80119FAAC8B3CD"
    "33D285CC76F57F2CA7F88B9573C6647E0F07E24609BD6B63EB20C5B9784F28E71D2F4994FF61D9E1"
    "C2B3075592B4D1E09C4D8BB27BE97B559E3DA6643781A6F477769DEEB009B10DFFF3426922725D60"
    "7DC4480F0CAC5F70DB2587B124BCB281592721D6E4BC180A97E5E111499CBE822E31C8D776155354"
    "3AA24207C290997BBDE64F9266BC5F529A172E381C1D898CA1A0D771A914A7B2D7467C70B94F1D4A"
    "7B0350A48DBF8B41"
)
MN = "010000A8900016F000169DC0"
KEY = Sm4Key.from_hex("6c23c3a82fea5ab2c6dfd3d62cf00254")
OTHER = Sm4Key(bytes(range(16)))
NOW = datetime(2026, 6, 1, 2, 0, 5, 42000, tzinfo=UTC)


def keys_of(key: Sm4Key | None) -> dict[str, Sm4Key]:
    return {MN: key} if key is not None else {}


def upload(cn: str = "2011", flag: int = 9) -> Packet:
    cp = DataArea.of(
        {"DataTime": "20260601100000"},
        {"a21026": {"Rtd": "0.012", "Flag": "N"}, "a34004": {"Rtd": "35.5", "Flag": "C"}},
    )
    return Packet(st="22", cn=cn, cp=cp, qn="20260601100000000", pw="975953", mn=MN, flag=flag)


def test_sm4_gives_the_gbt_32907_vector() -> None:
    key = Sm4Key.from_hex(GBT_KEY)
    assert key is not None
    plain = bytes.fromhex(GBT_KEY)
    assert sm4_codec.encrypt(key, plain).hex() == GBT_CIPHER
    assert sm4_codec.decrypt(key, bytes.fromhex(GBT_CIPHER)) == plain


def test_the_2025_appendix_a2_example_encrypts_in_place() -> None:
    area = A2_SEGMENT[A2_SEGMENT.index(b"CP=&&") + 5 : -2]
    assert len(area) == 208  # 13 whole blocks
    assert sm4_codec.encrypt(A2_KEY, area) == A2_CIPHER
    example = decode_packet(b"##0295" + A2_SEGMENT + b"2200")  # the packet in clear
    assert example.ok
    assert example.packet is not None
    wire = encode_packet(example.packet, key=A2_KEY)
    assert wire.startswith(b"##0295")  # the length of the packet in clear
    assert wire.endswith(b"&&2200\r\n")  # and its CRC, as the example prints them
    assert A2_CIPHER in wire
    assert crc_text(A2_SEGMENT) == "2200"
    decoded = decode_packet(wire, keys=keys_of(A2_KEY).get)
    assert decoded.ok, decoded.detail
    assert decoded.encrypted
    assert decoded.packet == example.packet


def test_a_tail_shorter_than_a_block_travels_in_clear() -> None:
    assert KEY is not None
    data = b"DataTime=20240520210600;a01011-Flag=N"  # 37 bytes: two blocks and 5 in clear
    sealed = sm4_codec.encrypt(KEY, data)
    assert len(sealed) == len(data)
    assert sealed[:32] != data[:32]
    assert sealed[32:] == data[32:] == b"lag=N"
    assert sm4_codec.encrypt(KEY, b"short") == b"short"


def test_which_packets_are_encrypted() -> None:
    assert [cn for cn in ("2011", "2051", "2061", "2031", "2081", "2999") if encrypts(cn)] == [
        "2011",
        "2051",
        "2061",
        "2031",
        "2081",
        "2999",
    ]
    assert encrypts("1014")
    assert encrypts("3020")
    assert not [
        cn for cn in ("9014", "9013", "9015", "1001", "1002", "1013", "3019", "") if encrypts(cn)
    ]
    packet = upload(cn="9015")
    assert encode_packet(packet, key=KEY) == encode_packet(packet)  # sent in clear


def test_an_sm4_key_is_never_shown() -> None:
    assert KEY is not None
    assert repr(KEY) == str(KEY) == "Sm4Key(***)"
    assert f"{KEY}" == "Sm4Key(***)"
    assert Sm4Key.from_hex("6c23c3a82fea5ab2c6dfd3d62cf0025") is None  # 31 digits
    assert Sm4Key.from_hex("6c23c3a82fea5ab2c6dfd3d62cf0025g") is None
    assert Sm4Key.from_hex(" 6c23c3a82fea5ab2c6dfd3d62cf00254") is None
    with pytest.raises(ValueError, match="16 bytes") as caught:
        Sm4Key(b"\x01" * 15)
    assert "\\x01" not in str(caught.value)


@given(packet=packets().map(lambda p: replace(p, mn=p.mn or MN)))
def test_an_encrypted_packet_decodes_back_with_its_key(packet: Packet) -> None:
    assert KEY is not None
    keys = {packet.mn or "": KEY}.get
    wire = encode_packet(packet, key=KEY)
    plain = encode_packet(packet)
    assert len(wire) == len(plain)  # in place: the length field does not change
    assert wire[-6:] == plain[-6:]  # the CRC is the plaintext's
    decoded = decode_packet(wire, ACCEPT_ANY, keys)
    assert decoded.ok, decoded.detail
    assert decoded.packet == packet
    assert decoded.encrypted == encrypts(packet.cn)
    # from a stream, in pieces, with noise before: the same packet in clear
    buf = FrameBuffer(ACCEPT_ANY, keys=keys)
    events = buf.feed(b"AT+CSQ\r\n" + wire[:7]) + buf.feed(wire[7:])
    [frame] = [e for e in events if isinstance(e, Frame)]
    assert decode_frame(frame, ACCEPT_ANY).packet == packet
    assert frame.wire + b"\r\n" == wire


@given(key=st.binary(min_size=16, max_size=16), data=st.binary(max_size=300))
def test_encrypt_and_decrypt_are_inverse_and_keep_the_length(key: bytes, data: bytes) -> None:
    k = Sm4Key(key)
    sealed = sm4_codec.encrypt(k, data)
    assert len(sealed) == len(data)
    assert sm4_codec.decrypt(k, sealed) == data
    tail = len(data) % 16
    assert sealed[len(data) - tail :] == data[len(data) - tail :]


@given(segment=st.binary(max_size=200))
def test_decrypting_any_bytes_never_raises(segment: bytes) -> None:
    assert KEY is not None
    opened = decrypt_segment(segment, KEY)
    assert opened.ok or opened.error in (Fault.BAD_CP, Fault.BAD_CIPHER)
    decoded = decode_packet(b"##%04d" % len(segment) + segment + b"0000", ACCEPT_ANY, lambda _: KEY)
    assert decoded.ok or decoded.error is not None


def test_a_wrong_key_is_a_reason_not_an_exception() -> None:
    assert KEY is not None
    packet = upload()
    # CRC over the plaintext (the standard's example): a wrong key looks like a bad CRC
    wire = encode_packet(packet, key=OTHER)
    d = decode_packet(wire, ACCEPT_ANY, keys_of(KEY).get)
    assert (d.ok, d.error, d.packet) == (False, Fault.BAD_CRC, None)
    assert d.detail is not None
    assert "SM4" in d.detail
    assert d.mn == MN
    # CRC over the bytes sent (loggers that compute it last): the data area does not read
    segment = encode_segment(packet)
    sealed = encrypt_segment(segment, OTHER)
    assert sealed is not None
    crc_last = b"##%04d" % len(sealed) + sealed + crc_text(sealed).encode() + b"\r\n"
    d = decode_packet(crc_last, ACCEPT_ANY, keys_of(KEY).get)
    assert (d.ok, d.error, d.encrypted) == (False, Fault.BAD_CIPHER, True)
    assert d.detail is not None
    assert d.detail.startswith("the data area does not read once decrypted")
    # a logger that should encrypt but sends its data area in clear
    d = decode_packet(encode_packet(packet), ACCEPT_ANY, keys_of(KEY).get)
    assert (d.ok, d.error) == (False, Fault.BAD_CIPHER)
    # without the key the encrypted frame is garbage to a stream
    events = FrameBuffer(ACCEPT_ANY).feed(encode_packet(packet, key=KEY))
    assert [type(e).__name__ for e in events] == ["Garbage"]


@pytest.mark.parametrize(
    ("flag", "ack", "split"),
    [(8, False, False), (9, True, False), (10, False, True), (11, True, True)],
)
def test_the_2025_flag_bits(flag: int, ack: bool, split: bool) -> None:
    p = replace(upload(), flag=flag)
    assert p.edition is Edition.HJ212_2025
    assert p.ack_required is ack
    assert make_flag(Edition.HJ212_2025, ack=ack, split=split) == flag
    reply = notification_reply(p)
    assert (reply.flag, reply.edition) == (8, Edition.HJ212_2025)


def test_heartbeat_serial_and_mn_packets() -> None:
    beat = Packet(
        st="22", cn="9015", cp=DataArea.of(), qn="20260601100000001", pw="975953", mn=MN, flag=9
    )
    assert needs_heartbeat_reply(beat)
    assert not needs_heartbeat_reply(replace(beat, flag=8))
    assert b";CN=9015;" in encode_packet(beat)
    hello = Packet(
        st="91",
        cn="1001",
        cp=DataArea.of({"i23005-Info": "LD0001", "i23006-Info": "CPU1", "i23007-Info": "00-11"}),
        qn="20260601100000002",
        pw="975953",
        mn="",
        flag=9,
    )
    assert decode_packet(encode_packet(hello)).packet == hello  # no MN yet: "MN=;"
    assert needs_notification_reply(hello)
    assert hardware_serial(hello) == "LD0001"
    assert hardware_serial(beat) is None
    command = set_mn(hello, MN, "22", NOW)
    assert (command.cn, command.mn, command.st, command.flag, command.pw) == (
        "1002",
        MN,
        "22",
        9,
        "975953",
    )
    assert command.qn == "20260601100005042"
    assert command.cp.text == "i23005-Info=LD0001"
    assert decode_packet(encode_packet(command)).packet == command
