"""The platform's replies and commands, and split packets put back together."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.hj212 import (
    DataArea,
    Edition,
    Packet,
    Reassembler,
    data_reply,
    decode_packet,
    encode_packet,
    needs_data_reply,
    needs_notification_reply,
    notification_reply,
    parse_command_reply,
    set_time,
)

MN = "010000A8900016F000169DC0"
NOW = datetime(2026, 6, 1, 2, 0, 5, 42000, tzinfo=UTC)


def upload(flag: int | None = 5, qn: str | None = "20160801085000001", cn: str = "2011") -> Packet:
    cp = DataArea.of({"DataTime": "20160801085000"}, {"w01018": {"Rtd": "50.1", "Flag": "N"}})
    return Packet(st="32", cn=cn, cp=cp, qn=qn, pw="123456", mn=MN, flag=flag)


def test_the_9014_reply_echoes_the_qn() -> None:
    wire = encode_packet(data_reply(upload()))
    assert wire == (
        b"##0087QN=20160801085000001;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;"
        b"Flag=4;CP=&&&&C241\r\n"
    )
    assert decode_packet(wire).ok


@pytest.mark.parametrize(
    ("flag", "cn", "needed"),
    [
        (5, "2011", True),
        (4, "2011", False),
        (None, "2011", True),  # 2005-era: no Flag, still expects its 9014
        (0, "2011", False),
        (9, "2061", True),
        (7, "2051", True),
        (5, "1062", False),  # not an upload
    ],
)
def test_which_uploads_need_a_9014(flag: int | None, cn: str, needed: bool) -> None:
    assert needs_data_reply(upload(flag, cn=cn)) is needed


def test_a_2025_upload_gets_a_2025_reply() -> None:
    reply = data_reply(upload(flag=9))
    assert reply.flag == 8
    assert reply.edition is Edition.HJ212_2025


def test_a_2005_reply_carries_qn_and_cn_in_the_data_area() -> None:
    reply = data_reply(upload(flag=None, qn=None))
    assert (reply.qn, reply.flag, reply.cp.text) == (None, None, "CN=2011")
    reply = notification_reply(upload(flag=None, qn="20040516010101001", cn="1013"))
    assert reply.cp.text == "QN=20040516010101001"
    assert reply.cn == "9013"


def test_a_time_request_gets_9013_then_1012() -> None:
    request = Packet(
        st="32",
        cn="1013",
        cp=DataArea.of({"PolId": "w01018"}),
        qn="20260601100000000",
        pw="123456",
        mn=MN,
        flag=5,
    )
    assert needs_notification_reply(request)
    assert not needs_data_reply(request)
    ack = notification_reply(request)
    assert (ack.cn, ack.st, ack.qn, ack.flag, ack.cp.text) == ("9013", "91", request.qn, 4, "")
    command = set_time(request, NOW)
    assert command.cn == "1012"
    assert command.st == "32"
    assert command.qn == "20260601100005042"
    assert command.flag == 5  # 2017, answer (9011) required
    assert command.cp.text == "PolId=w01018;SystemTime=20260601100005"
    assert decode_packet(encode_packet(command)).packet == command


def test_command_replies() -> None:
    base = Packet(st="91", cn="9011", cp=DataArea.of({"QnRtn": "1"}), qn="Q1", flag=4)
    r = parse_command_reply(base)
    assert (r.ok, r.cn, r.qn, r.code, r.accepted) == (True, "9011", "Q1", 1, True)
    r = parse_command_reply(replace(base, cp=DataArea.of({"QnRtn": "3"})))
    assert (r.code, r.meaning, r.accepted) == (3, "wrong PW", False)
    r = parse_command_reply(replace(base, cn="9012", cp=DataArea.of({"ExeRtn": "100"})))
    assert (r.code, r.meaning) == (100, "no data")
    old = replace(base, qn=None, flag=None, cp=DataArea.of({"QN": "Q0", "QnRtn": "1"}))
    assert parse_command_reply(old).qn == "Q0"
    assert parse_command_reply(replace(base, cp=DataArea.of())).error == "missing_code"
    assert parse_command_reply(replace(base, cp=DataArea.of({"QnRtn": "x"}))).error == "bad_code"
    assert parse_command_reply(upload()).error == "not_a_command_reply"


def part(pno: int, pnum: int = 3, qn: str = "20260601100000000", mn: str = MN) -> Packet:
    cp = DataArea.of({"DataTime": "20260601090000"}, {f"w0{pno}": {"Avg": str(pno)}})
    return Packet(st="32", cn="2061", cp=cp, qn=qn, mn=mn, flag=7, pnum=pnum, pno=pno)


def test_split_packets_come_back_as_one() -> None:
    r = Reassembler()
    assert r.add(part(2)).packet is None
    assert r.add(part(2)).packet is None  # sent again: counted once
    assert r.add(part(1)).packet is None
    assert r.pending == ((MN, "20260601100000000"),)
    whole = r.add(part(3)).packet
    assert whole is not None
    assert (whole.pnum, whole.pno, whole.flag) == (None, None, 5)
    assert list(whole.cp.items) == ["w01", "w02", "w03"]
    assert not r.pending
    assert decode_packet(encode_packet(whole)).packet == whole


def test_an_unsplit_packet_passes_through() -> None:
    assert Reassembler().add(upload()).packet == upload()


def test_memory_is_bounded_and_what_is_given_up_is_said() -> None:
    r = Reassembler(max_pending=2)
    r.add(part(1, qn="A"))
    r.add(part(1, qn="B"))
    result = r.add(part(1, qn="C"))
    assert result.abandoned == ((MN, "A"),)
    assert r.pending == ((MN, "B"), (MN, "C"))
    restarted = r.add(part(1, pnum=2, qn="B"))
    assert restarted.abandoned == ((MN, "B"),)
    assert r.discard((MN, "C"))
    assert not r.discard((MN, "C"))


@given(st.permutations(range(1, 6)), st.lists(st.integers(1, 4), max_size=8))
def test_any_order_with_repeats_completes_once(order: list[int], repeats: list[int]) -> None:
    # part 5 only in `order`, so the packet completes there, once
    r = Reassembler()
    done = [r.add(part(n, pnum=5)).packet for n in [*repeats, *order]]
    complete = [p for p in done if p is not None]
    assert len(complete) == 1
    assert list(complete[0].cp.items) == ["w01", "w02", "w03", "w04", "w05"]
