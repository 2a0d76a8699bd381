"""Framing and cutting frames out of a TCP stream."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.hj212 import (
    ACCEPT_STANDARD,
    CrcVariant,
    EncodeError,
    Fault,
    Frame,
    FrameBuffer,
    Garbage,
    Packet,
    encode_frame,
    encode_packet,
)
from ingest.hj212.frame import check_frame
from ingest.hj212.stream import Event
from tests.ingest.hj212_cases import APPENDIX_A, APPENDIX_A_SEGMENT, packets

OTHER = encode_frame(b"ST=32;CN=2011;PW=123456;MN=A1;Flag=4;CP=&&w01018-Rtd=20.1&&")


def frames(events: list[Event]) -> list[Frame]:
    return [e for e in events if isinstance(e, Frame)]


def garbage(events: list[Event]) -> list[Garbage]:
    return [e for e in events if isinstance(e, Garbage)]


def run(*chunks: bytes, accept: frozenset[CrcVariant] | None = None) -> list[Event]:
    buffer = FrameBuffer() if accept is None else FrameBuffer(accept)
    out: list[Event] = []
    for chunk in chunks:
        out += buffer.feed(chunk)
    return out + buffer.close()


def test_encode_frame_gives_the_standards_example() -> None:
    assert encode_frame(APPENDIX_A_SEGMENT) == APPENDIX_A


def test_a_segment_over_1024_bytes_is_refused() -> None:
    encode_frame(b"x" * 1024)
    with pytest.raises(EncodeError) as exc:
        encode_frame(b"x" * 1025)
    assert exc.value.reason is Fault.OVERSIZE


@pytest.mark.parametrize("trailer", [b"\r\n", b"\n", b"\r", b""])
def test_cr_lf_is_optional_on_input(trailer: bytes) -> None:
    check = check_frame(APPENDIX_A[:-2] + trailer)
    assert check.error is None
    assert check.segment == APPENDIX_A_SEGMENT


def test_a_wrong_length_leaves_the_crc_checkable() -> None:
    check = check_frame(b"##0100" + APPENDIX_A[6:])
    assert check.error is Fault.BAD_LENGTH
    assert check.crc_ok is True
    assert check.length_ok is False


def test_a_frame_cut_in_halves_comes_out_once_whole() -> None:
    buffer = FrameBuffer()
    assert buffer.feed(APPENDIX_A[:40]) == []
    assert buffer.pending == 40
    events = buffer.feed(APPENDIX_A[40:])
    assert events == [Frame(APPENDIX_A_SEGMENT, "1C80", CrcVariant.HJ212)]
    assert frames(events)[0].wire == APPENDIX_A[:-2]
    assert buffer.pending == 0
    assert buffer.close() == []


def test_several_frames_in_one_read_without_cr_lf() -> None:
    events = run(APPENDIX_A[:-2] + OTHER[:-2] + APPENDIX_A)
    assert [f.segment for f in frames(events)] == [
        APPENDIX_A_SEGMENT,
        OTHER[6:-6],
        APPENDIX_A_SEGMENT,
    ]
    assert garbage(events) == []


def test_a_cr_lf_in_the_next_read_is_the_trailer_not_garbage() -> None:
    events = run(APPENDIX_A[:-2], b"\r", b"\n", OTHER)
    assert len(frames(events)) == 2
    assert garbage(events) == []


def test_line_noise_between_frames_is_reported() -> None:
    events = run(b"AT+CSQ\r\n+CSQ: 23,0\r\n" + APPENDIX_A + b"+++" + OTHER)
    assert events[0] == Garbage(b"AT+CSQ\r\n+CSQ: 23,0\r\n", Fault.NO_HEADER)
    assert events[2] == Garbage(b"+++", Fault.NO_HEADER)
    assert len(frames(events)) == 2


def test_an_oversize_length_is_reported_and_the_next_frame_found() -> None:
    bogus = b"##2000" + b"x" * 50
    events = run(bogus + APPENDIX_A)
    assert events[0] == Garbage(bogus, Fault.OVERSIZE)
    assert frames(events) == [Frame(APPENDIX_A_SEGMENT, "1C80", CrcVariant.HJ212)]


def test_a_corrupt_frame_is_one_span_of_garbage() -> None:
    corrupt = APPENDIX_A.replace(b"RtdInterval=30", b"RtdInterval=31")
    events = run(corrupt + OTHER)
    assert events[0] == Garbage(corrupt, Fault.BAD_CRC)
    assert len(frames(events)) == 1


def test_a_lost_byte_costs_only_its_frame() -> None:
    short = APPENDIX_A.replace(b"RtdInterval=30", b"RtdInterval=3")
    events = run(short + OTHER)
    assert events[0] == Garbage(short, Fault.BAD_LENGTH)
    assert [f.segment for f in frames(events)] == [OTHER[6:-6]]


def test_a_length_too_long_does_not_hold_the_next_frame_back() -> None:
    # the candidate would need 800 more bytes; the valid frame after it proves it wrong
    too_long = b"##0901" + APPENDIX_A[6:]
    buffer = FrameBuffer()
    events = buffer.feed(too_long + OTHER)
    assert events == [
        Garbage(too_long, Fault.BAD_LENGTH),
        Frame(OTHER[6:-6], OTHER[-6:-2].decode(), CrcVariant.HJ212),
    ]
    assert buffer.pending == 0


def test_the_end_of_the_stream_inside_a_frame() -> None:
    events = run(OTHER + APPENDIX_A[:30])
    assert events[-1] == Garbage(APPENDIX_A[:30], Fault.TRUNCATED)


def test_a_modbus_frame_is_garbage_where_only_the_standard_is_accepted() -> None:
    modbus = encode_frame(APPENDIX_A_SEGMENT, CrcVariant.MODBUS)
    assert frames(run(modbus))[0].crc_variant is CrcVariant.MODBUS
    events = run(modbus, accept=ACCEPT_STANDARD)
    assert frames(events) == []
    assert garbage(events)[0].reason is Fault.BAD_CRC


def test_the_buffer_holds_at_most_one_frame() -> None:
    buffer = FrameBuffer()
    buffer.feed(b"no header here " * 10_000)
    assert buffer.pending == 0
    buffer.feed(b"##1024")
    for _ in range(100):
        buffer.feed(b"#0 ab" * 20)
        assert buffer.pending <= 1034 + 100


@given(st.lists(st.binary(max_size=200), max_size=20))
def test_arbitrary_bytes_never_raise(chunks: list[bytes]) -> None:
    buffer = FrameBuffer()
    for chunk in chunks:
        buffer.feed(chunk)
    buffer.close()
    assert buffer.pending == 0


@given(
    st.lists(st.sampled_from([b"#", b"##", b"0", b"1", b"9", b"\r\n", b"A", b"&&"]), max_size=80)
)
def test_header_like_noise_never_raises(parts: list[bytes]) -> None:
    run(b"".join(parts))


@given(
    packets(),
    st.sampled_from(list(CrcVariant)),
    st.binary(max_size=300),
    st.binary(max_size=300),
    st.lists(st.integers(0, 2000), max_size=10),
)
def test_a_packet_in_garbage_cut_anywhere_is_found_exactly_once(
    packet: Packet,
    variant: CrcVariant,
    before: bytes,
    after: bytes,
    cuts: list[int],
) -> None:
    try:
        wire = encode_packet(packet, variant)
    except EncodeError:
        return  # over 1024 bytes: covered by the packet tests
    stream = before + wire + after
    points = sorted({min(c, len(stream)) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    found = [f for f in frames(run(*chunks)) if f.segment == wire[6:-6]]
    assert len(found) == 1
    assert found[0].crc_variant in {variant, CrcVariant.HJ212}
