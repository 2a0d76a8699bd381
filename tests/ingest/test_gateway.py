"""The HJ 212 gateway between bare TCP loggers and the real pipeline (Mosquitto, a
collector, PostgreSQL): rows with converted units and flags, replies only for what is
safe, every kind of bad input a dead letter with no 9014."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingest.hj212 import CrcVariant, DataArea, Packet, encode_frame, parse_time
from ingest.settings import Settings
from tests.fixtures.collectors import CollectorFactory, wait_until
from tests.fixtures.hj212 import GatewayFactory, LoggerLink, logger_of, upload, wire
from tests.fixtures.servers import Database

BASE = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=6)
Links = Callable[[tuple[str, int]], LoggerLink]

PLANT = {  # wwtp-guantang: 2017, standard CRC
    "w99001": {"Rtd": "3000.5", "Flag": "N"},
    "w99002": {"Rtd": "0.0"},
    "w00000": {"Rtd": "800.0"},  # L/s
    "w01018": {"Rtd": "62.1", "Flag": "C"},
    "w21003": {"Rtd": "1.25", "Flag": "N"},
    "w01001": {"Rtd": "7.10"},
    "SB1-RS": {"Rtd": "1"},  # a facility state: not a field, left out
}


def rows(database: Database, table: str, device: str) -> list[tuple[Any, ...]]:
    with database.connect() as conn:
        return conn.execute(
            f"SELECT * FROM {table} WHERE device_id = %s ORDER BY ts",
            (device,),
        ).fetchall()


def column(database: Database, table: str, device: str, name: str) -> list[Any]:
    with database.connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                f"SELECT {name} FROM {table} WHERE device_id = %s ORDER BY ts",
                (device,),
            ).fetchall()
        ]


def dead_letters(database: Database) -> list[tuple[str, bytes, str | None, str]]:
    with database.connect() as conn:
        return [
            (r[0], bytes(r[1]), r[2], r[3])
            for r in conn.execute(
                "SELECT reason, payload, device_id, detail FROM dead_letter ORDER BY id"
            ).fetchall()
        ]


@pytest.fixture
def pipeline(
    settings: Settings, start_collector: CollectorFactory, start_gateway: GatewayFactory
) -> tuple[str, int]:
    start_collector(settings)
    gateway = start_gateway(settings)
    assert wait_until(gateway.gateway.broker_connected, 10)
    return gateway.address


def test_uploads_become_rows_with_units_converted_and_flags(
    pipeline: tuple[str, int], database: Database, links: Links
) -> None:
    plant = links(pipeline)
    p = upload("wwtp-guantang", BASE, PLANT)
    plant.send(wire("wwtp-guantang", p))
    [reply] = plant.replies(1)
    assert (reply.cn, reply.qn, reply.st) == ("9014", p.qn, "91")

    # MODBUS vendor, PM in mg/m3: its reply carries a MODBUS CRC too
    station = links(pipeline)
    items = {"a34004": {"Rtd": "0.035", "Flag": "N"}, "a21026": {"Rtd": "8.0"}}
    q = upload("air-luorong", BASE, items)
    raw = wire("air-luorong", q)
    station.send(raw)
    assert [r.cn for r in station.replies(1)] == ["9014"]

    # PM in ng/m3, readings from minute data (-Avg)
    luobu = links(pipeline)
    minute = {"a34004": {"Avg": "75600.000", "Min": "70000", "Max": "80000", "Flag": "N"}}
    luobu.send(wire("air-luobu", upload("air-luobu", BASE, minute, cn="2051")))
    assert [r.cn for r in luobu.replies(1)] == ["9014"]

    # HJ/T 212-2005: no Flag (a reply is still due), 2005 codes, the QN answered in CP
    legacy = links(pipeline)
    old = {"B01": {"Rtd": "5.0"}, "011": {"Rtd": "20.5"}, "060": {"Rtd": "0.80"}}
    old |= {"w99001": {"Rtd": "18.2"}, "w99002": {"Rtd": "0"}}
    r = upload("wwtp-xiajintian", BASE, old)
    legacy.send(wire("wwtp-xiajintian", r))
    [reply05] = legacy.replies(1)
    assert reply05.cn == "9014"
    assert reply05.cp.get("QN") == r.qn
    assert reply05.cp.get("CN") == "2011"

    assert wait_until(lambda: len(rows(database, "wastewater_reading", "wwtp-xiajintian")) == 1)
    assert wait_until(lambda: len(rows(database, "air_reading", "air-luobu")) == 1)
    with database.connect() as conn:
        got = conn.execute(
            "SELECT ts, seq, influent_flow_m3h, effluent_flow_m3h, bypass_flow_m3h,"
            " effluent_cod_mgl, effluent_nh3n_mgl, effluent_ph, effluent_tn_mgl, flags"
            " FROM wastewater_reading WHERE device_id = 'wwtp-guantang'"
        ).fetchall()
        air = conn.execute(
            "SELECT device_id, pm25_ugm3, so2_ugm3, flags FROM air_reading ORDER BY device_id"
        ).fetchall()
        old_row = conn.execute(
            "SELECT effluent_flow_m3h, effluent_cod_mgl, effluent_nh3n_mgl, flags"
            " FROM wastewater_reading WHERE device_id = 'wwtp-xiajintian'"
        ).fetchone()
    assert got == [
        (
            BASE,
            int(BASE.timestamp()),
            3000.5,
            2880.0,
            0.0,
            62.1,
            1.25,
            7.1,
            None,
            {"influent_flow_m3h": "N", "effluent_cod_mgl": "C", "effluent_nh3n_mgl": "N"},
        )
    ]
    assert air == [
        ("air-luobu", 75.6, None, {"pm25_ugm3": "N"}),
        ("air-luorong", 35.0, 8.0, {"pm25_ugm3": "N"}),
    ]
    assert old_row == (18.0, 20.5, 0.8, None)
    assert dead_letters(database) == []


def test_split_and_coalesced_reads_and_split_packets(
    pipeline: tuple[str, int], database: Database, links: Links
) -> None:
    link = links(pipeline)
    packets = [upload("wwtp-guantang", BASE + timedelta(minutes=i), PLANT) for i in range(6)]
    frames = [wire("wwtp-guantang", p) for p in packets]
    for byte in frames[0]:  # one packet, a byte per read
        link.send(bytes([byte]))
    link.send(frames[1] + frames[2] + frames[3][:40])  # several, and half of the next
    link.send(frames[3][40:] + frames[4] + b"+++AT\r\n" + frames[5])
    replies = link.replies(6)
    assert [r.qn for r in replies] == [p.qn for p in packets]

    # one upload in two parts: no reply until both are in, then one 9014 each
    at = BASE + timedelta(minutes=30)
    whole = upload("wwtp-guantang", at, PLANT)
    first, second = whole.cp.items_raw[:4], whole.cp.items_raw[4:]
    parts = [
        Packet(
            st=whole.st,
            cn=whole.cn,
            cp=DataArea.build(cp),
            qn=whole.qn,
            pw=whole.pw,
            mn=whole.mn,
            flag=(whole.flag or 0) | 0b10,
            pnum=2,
            pno=n,
        )
        for n, cp in ((1, first), (2, second))
    ]
    link.send(wire("wwtp-guantang", parts[0]))
    assert len(link.quiet(0.5)) == 6
    link.send(wire("wwtp-guantang", parts[1]))
    assert [r.qn for r in link.replies(8)[6:]] == [whole.qn, whole.qn]
    assert wait_until(lambda: len(rows(database, "wastewater_reading", "wwtp-guantang")) == 7)
    assert column(database, "wastewater_reading", "wwtp-guantang", "effluent_cod_mgl")[-1] == 62.1


def test_other_uploads_time_calibration_and_resends(
    pipeline: tuple[str, int], database: Database, links: Links
) -> None:
    link = links(pipeline)
    hourly = upload("wwtp-guantang", BASE, {"w01018": {"Avg": "20.0"}}, cn="2061")
    link.send(wire("wwtp-guantang", hourly))
    assert [r.cn for r in link.replies(1)] == ["9014"]  # acknowledged, not a reading

    ask = upload("wwtp-guantang", BASE, {}, cn="1013", extra={"PolId": "w01018"})
    link.send(wire("wwtp-guantang", ask))
    notice, set_time = link.replies(3)[1:]
    assert (notice.cn, notice.qn) == ("9013", ask.qn)
    assert set_time.cn == "1012"
    assert set_time.cp.get("PolId") == "w01018"
    system_time = parse_time(set_time.cp.get("SystemTime") or "").at
    assert system_time is not None
    assert abs(system_time - datetime.now(UTC)) < timedelta(minutes=1)

    again = upload("wwtp-guantang", BASE + timedelta(minutes=1), PLANT)
    for _ in range(3):  # the logger got no 9014 in time and sends it again
        link.send(wire("wwtp-guantang", again))
    assert [r.qn for r in link.replies(6)[3:]] == [again.qn] * 3
    assert wait_until(lambda: len(rows(database, "wastewater_reading", "wwtp-guantang")) == 1)
    link.quiet(0.3)
    assert len(rows(database, "wastewater_reading", "wwtp-guantang")) == 1


def _plant(packet: Packet) -> bytes:
    return wire("wwtp-guantang", packet)


def _mangled_length(frame: bytes) -> bytes:
    return frame[:2] + b"%04d" % (int(frame[2:6]) + 7) + frame[6:]


GUANTANG_MN = "010000A8900016FA1CBF821B"
Case = tuple[str, Callable[[], bytes], str | None, str | None]  # reason, bytes, MN, device


def _bad_cases() -> dict[str, Case]:
    at = BASE + timedelta(hours=1)
    good = upload("wwtp-guantang", at, PLANT)
    frame = wire("wwtp-guantang", good)
    stranger = upload("wwtp-guantang", at, PLANT, mn="010000A89000FFFFFFFFFFFF")
    over = DataArea.of({"DataTime": "20260601100000"}, {"w01018": {"Rtd": "1" * 1100}})
    big_segment = (
        f"QN={good.qn};ST=32;CN=2011;PW={good.pw};MN={good.mn};Flag=5;CP=&&{over.text}&&"
    ).encode()
    plant = "wwtp-guantang"
    return {
        "bad-crc": ("bad_crc", lambda: frame[:-6] + b"0000\r\n", GUANTANG_MN, plant),
        "modbus-from-an-hj212-logger": (
            "bad_crc",
            lambda: wire("wwtp-guantang", good, CrcVariant.MODBUS),
            GUANTANG_MN,
            plant,
        ),
        "bad-length": ("bad_length", lambda: _mangled_length(frame), GUANTANG_MN, plant),
        "unknown-mn": (
            "unknown_mn",
            lambda: _plant(stranger),
            "010000A89000FFFFFFFFFFFF",
            None,
        ),
        "mn-of-an-mqtt-site": (
            "unknown_mn",
            lambda: _plant(upload("wwtp-pangu", at, PLANT)),
            logger_of("wwtp-pangu").mn,
            None,
        ),
        "wrong-pw": (
            "wrong_pw",
            lambda: _plant(upload(plant, at, PLANT, pw="999999")),
            None,
            plant,
        ),
        "wrong-st": ("wrong_st", lambda: _plant(upload(plant, at, PLANT, st="22")), None, plant),
        "unknown-cn": ("unknown_cn", lambda: _plant(upload(plant, at, {}, cn="3015")), None, plant),
        "nan": (
            "bad_value",
            lambda: _plant(upload(plant, at, {"w01018": {"Rtd": "NaN"}})),
            GUANTANG_MN,
            plant,
        ),
        "no-mapped-code": (
            "no_values",
            lambda: _plant(upload(plant, at, {"SB1-RS": {"Rtd": "1"}})),
            GUANTANG_MN,
            plant,
        ),
        "oversize": (
            "oversize",
            lambda: b"##%04d" % len(big_segment) + big_segment + b"1C80\r\n",
            GUANTANG_MN,
            plant,
        ),
        "oversize-length-field": (
            "oversize",
            lambda: encode_frame(b"x" * 10).replace(b"##0010", b"##1500"),
            None,
            None,
        ),
        "garbage": ("no_header", lambda: b"\x00\xffAT+CSQ\r\n+CSQ: 23,99\r\n", None, None),
        "bad-cp": (
            "bad_cp",
            lambda: encode_frame(b"QN=1;ST=32;CN=2011;PW=1;MN=2;CP=&&oops&&"),
            "2",
            None,
        ),
        "bad-field": ("bad_field", lambda: encode_frame(b"QN=1;XX=1;CP=&&&&"), None, None),
        "bad-encoding": (
            "bad_encoding",
            lambda: encode_frame(b"QN=1;ST=32;CN=2011;CP=&&\xff\xfe&&"),
            None,
            None,
        ),
    }


BAD = _bad_cases()


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_a_dead_letter_and_gets_no_reply(
    pipeline: tuple[str, int], database: Database, links: Links, case: str
) -> None:
    reason, make, mn, device = BAD[case]
    link = links(pipeline)
    bad = make()
    after = upload("wwtp-guantang", BASE + timedelta(hours=2), PLANT)
    link.send(bad + wire("wwtp-guantang", after))  # the next good packet still gets through
    replies = link.replies(1)
    assert [r.qn for r in link.quiet(0.3)] == [after.qn], replies
    assert wait_until(lambda: len(dead_letters(database)) >= 1)
    [(got_reason, raw, got_device, detail)] = dead_letters(database)
    assert got_reason == reason
    assert raw.strip(b"\r\n") in bad or bad.strip(b"\r\n") in raw
    assert got_device == device
    if mn is not None:
        assert detail.startswith(f"MN={mn}")
    assert wait_until(lambda: len(rows(database, "wastewater_reading", "wwtp-guantang")) == 1)


def test_garbage_only_idle_and_broken_connections_leave_the_others_alone(
    settings: Settings,
    start_collector: CollectorFactory,
    start_gateway: GatewayFactory,
    database: Database,
    links: Links,
) -> None:
    start_collector(settings)
    gateway = start_gateway(settings, first_packet_timeout_s=1.0, idle_min_s=0.1, idle_factor=0.02)
    assert wait_until(gateway.gateway.broker_connected, 10)
    address = gateway.address
    good = links(address)
    done = threading.Event()
    sent: list[str] = []

    def steady() -> None:  # a healthy logger (HJ 212-2017, no heartbeat) uploading all along
        for i in range(20):
            p = upload("air-luorong", BASE + timedelta(minutes=i), {"a21026": {"Rtd": "0.01"}})
            good.send(wire("air-luorong", p))
            sent.append(p.qn or "")
            done.wait(0.05)

    worker = threading.Thread(target=steady)
    worker.start()
    noisy = links(address)
    noisy.send(b"\x00" * 5000)  # garbage only: closed past the limit
    assert noisy.closed_by_peer(5)
    silent = links(address)
    assert not silent.closed_by_peer(0.5)  # no packet yet: 1 s
    assert silent.closed_by_peer(2)
    worker.join()
    assert [r.qn for r in good.replies(20)] == sent
    # idle after a valid packet: factor x the logger's 60 s interval = 1.2 s
    assert not good.closed_by_peer(0.8)
    assert good.closed_by_peer(2)
    stats = gateway.stop()
    assert stats.closed_for_garbage == 1
    assert stats.idle_timeouts == 2
    assert stats.replied["9014"] == 20
    assert wait_until(lambda: len(rows(database, "air_reading", "air-luorong")) == 20)
    # 5000 bytes in at most a few reads: a dead letter each, no more
    assert 1 <= len(dead_letters(database)) <= 5
    assert {r for r, *_ in dead_letters(database)} == {"no_header"}


def test_no_reply_while_the_broker_is_unreachable(
    settings: Settings, start_gateway: GatewayFactory, links: Links
) -> None:
    nowhere = settings.mqtt.model_copy(update={"url": "mqtt://127.0.0.1:9"})
    gateway = start_gateway(settings.model_copy(update={"mqtt": nowhere}))
    link = links(gateway.address)
    link.send(wire("wwtp-guantang", upload("wwtp-guantang", BASE, PLANT)))
    assert link.quiet(1.0) == []
    assert gateway.stop().unconfirmed == 1


def test_no_reply_while_no_collector_subscribes_then_one_on_the_resend(
    settings: Settings,
    database: Database,
    start_collector: CollectorFactory,
    start_gateway: GatewayFactory,
    links: Links,
) -> None:
    # MQTT v5: a message nobody subscribes to gets PUBACK 0x10 and is dropped; Mosquitto
    # 2.0 answers so after a restart, until the collectors subscribe again
    gateway = start_gateway(settings)
    assert wait_until(gateway.gateway.broker_connected, 10)
    link = links(gateway.address)
    p = upload("wwtp-guantang", BASE, PLANT)
    link.send(wire("wwtp-guantang", p))
    assert link.quiet(1.0) == []
    assert gateway.gateway.stats.unconfirmed == 1
    start_collector(settings)
    link.send(wire("wwtp-guantang", p))  # the logger sends it again
    assert [r.qn for r in link.replies(1)] == [p.qn]
    assert wait_until(lambda: len(rows(database, "wastewater_reading", "wwtp-guantang")) == 1)


def test_connections_past_the_limit_are_closed_and_the_others_served(
    settings: Settings,
    start_collector: CollectorFactory,
    start_gateway: GatewayFactory,
    database: Database,
    links: Links,
) -> None:
    start_collector(settings)
    gateway = start_gateway(settings, max_connections=2)
    assert wait_until(gateway.gateway.broker_connected, 10)
    first, second = links(gateway.address), links(gateway.address)
    assert not first.closed_by_peer(0.3)
    third = links(gateway.address)
    assert third.closed_by_peer(5)
    for i, link in enumerate((first, second)):
        p = upload("wwtp-guantang", BASE + timedelta(minutes=i), {"w00000": {"Rtd": "800"}})
        link.send(wire("wwtp-guantang", p))
        assert [r.cn for r in link.replies(1)] == ["9014"]
    first.close()
    assert wait_until(lambda: gateway.gateway.stats.open == 1, 5)
    fourth = links(gateway.address)  # room again
    p = upload("wwtp-guantang", BASE + timedelta(minutes=5), {"w00000": {"Rtd": "800"}})
    fourth.send(wire("wwtp-guantang", p))
    assert [r.cn for r in fourth.replies(1)] == ["9014"]
    assert gateway.stop().refused_connections == 1
