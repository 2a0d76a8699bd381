"""HJ 212-2025 loggers at the gateway, over bare TCP: the 1001 serial gets a 9013 and the
MN (1002), heartbeats are answered and keep the connection open, SM4 uploads become rows,
and what does not decrypt is a dead letter with no 9014."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingest.gateway import Directory, GatewayThread, idle_timeout
from ingest.hj212 import (
    DataArea,
    Edition,
    Packet,
    Sm4Key,
    crc_text,
    encode_packet,
    encode_segment,
    encrypt_segment,
    make_flag,
    make_qn,
)
from ingest.registry import load_registry
from ingest.settings import Hj212Settings, Settings
from tests.fixtures.collectors import CollectorFactory, wait_until
from tests.fixtures.hj212 import GatewayFactory, LoggerLink, logger_of, upload, wire
from tests.fixtures.servers import Database

BASE = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=6)
SITE = "air-jiuziling"  # HJ 212-2025, SM4, a heartbeat every 30 s
CFG = logger_of(SITE)
Links = Callable[[tuple[str, int]], LoggerLink]
ITEMS = {  # SO2 in mg/m3 at this station, PM2.5 in ug/m3
    "a21026": {"Rtd": "0.012", "Flag": "N"},
    "a34004": {"Rtd": "35.5", "Flag": "C"},
    "a01001": {"Rtd": "21.4"},
}


def serial_upload(serial: str, mn: str, at: datetime, st: str = "22") -> Packet:
    params = {"i23005-Info": serial, "i23006-Info": "CPU0001", "i23007-Info": "00-1A-2B-3C-4D-5E"}
    return Packet(
        st=st,
        cn="1001",
        cp=DataArea.of(params),
        qn=make_qn(at),
        pw=CFG.pw,
        mn=mn,
        flag=make_flag(Edition.HJ212_2025, ack=True),
    )


def heartbeat(at: datetime, *, ack: bool) -> Packet:
    return Packet(
        st=CFG.st,
        cn="9015",
        cp=DataArea.of(),
        qn=make_qn(at),
        pw=CFG.pw,
        mn=CFG.mn,
        flag=make_flag(Edition.HJ212_2025, ack=ack),
    )


def answer(to: Packet, cn: str, params: dict[str, str]) -> Packet:
    return Packet(st="91", cn=cn, cp=DataArea.of(params), qn=to.qn, pw=CFG.pw, mn=CFG.mn, flag=8)


def dead_letters(database: Database) -> list[tuple[str, str | None, str]]:
    with database.connect() as conn:
        return [
            (r[0], r[1], r[2])
            for r in conn.execute(
                "SELECT reason, device_id, detail FROM dead_letter ORDER BY id"
            ).fetchall()
        ]


def air_rows(database: Database) -> list[tuple[Any, ...]]:
    with database.connect() as conn:
        return conn.execute(
            "SELECT ts, so2_ugm3, pm25_ugm3, air_temp_c, flags FROM air_reading"
            " WHERE device_id = %s ORDER BY ts",
            (SITE,),
        ).fetchall()


@pytest.fixture
def gateway(
    settings: Settings, start_collector: CollectorFactory, start_gateway: GatewayFactory
) -> GatewayThread:
    start_collector(settings)
    started = start_gateway(settings)
    assert wait_until(started.gateway.broker_connected, 10)
    return started


def test_a_serial_gets_a_9013_and_its_mn(
    gateway: GatewayThread, database: Database, links: Links
) -> None:
    assert CFG.serial is not None
    link = links(gateway.address)
    hello = serial_upload(CFG.serial, "", BASE)  # no MN yet
    link.send(wire(SITE, hello))
    notice, command = link.replies(2)
    assert (notice.cn, notice.qn, notice.st, notice.flag, notice.mn) == (
        "9013",
        hello.qn,
        "91",
        8,
        "",
    )
    assert (command.cn, command.mn, command.st, command.flag) == ("1002", CFG.mn, "22", 9)
    assert command.cp.get("i23005-Info") == CFG.serial
    # the logger takes it (9011, 9012 under its new MN): nothing more to answer
    link.send(wire(SITE, answer(command, "9011", {"QnRtn": "1"})))
    link.send(wire(SITE, answer(command, "9012", {"ExeRtn": "1"})))
    # on its next connection it sends its serial again, now with the MN (and ST 91)
    again = serial_upload(CFG.serial, CFG.mn, BASE + timedelta(minutes=1), st="91")
    link.send(wire(SITE, again))
    assert [(r.cn, r.mn) for r in link.replies(4)[2:]] == [("9013", CFG.mn), ("1002", CFG.mn)]
    # a serial the registry does not know, from a logger it knows by MN: 9013, no MN
    other = serial_upload("LD-REPLACED-BOARD", CFG.mn, BASE + timedelta(minutes=2))
    link.send(wire(SITE, other))
    # a serial and an MN it does not know: a dead letter, no reply
    stranger = serial_upload("LD-NOBODY", "", BASE + timedelta(minutes=3))
    link.send(wire(SITE, stranger))
    replies = link.replies(5)
    assert [r.qn for r in link.quiet(0.5)[4:]] == [other.qn], replies
    assert wait_until(lambda: len(dead_letters(database)) == 1)
    [(reason, device, detail)] = dead_letters(database)
    assert (reason, device) == ("unknown_serial", None)
    assert "LD-NOBODY" in detail
    stats = gateway.stop()
    assert (stats.serials, stats.replied["1002"], stats.replied["9013"]) == (3, 2, 3)
    assert stats.command_replies == 2


def test_heartbeats_are_answered_and_keep_a_2025_logger_connected(
    settings: Settings, start_gateway: GatewayFactory, links: Links
) -> None:
    # idle after 0.05 x the heartbeat's 30 s = 1.5 s (a 2017 logger: 0.05 x 60 s = 3 s)
    gateway = start_gateway(settings, idle_min_s=0.1, idle_factor=0.05)
    link = links(gateway.address)
    asked = heartbeat(BASE, ack=True)
    link.send(wire(SITE, asked))
    [reply] = link.replies(1)
    assert (reply.cn, reply.qn, reply.flag, reply.st) == ("9013", asked.qn, 8, "91")
    start = time.monotonic()
    for i in range(1, 7):  # 3 s of heartbeats, not asking for a reply
        link.send(wire(SITE, heartbeat(BASE + timedelta(seconds=i), ack=False)))
        assert not link.closed_by_peer(0.5)
    assert time.monotonic() - start > 2.5  # twice its idle timeout, and still open
    silent = time.monotonic()
    assert link.closed_by_peer(5)
    assert 1.0 < time.monotonic() - silent < 4.0
    assert len(link.received) == 1
    stats = gateway.stop()
    assert (stats.heartbeats, stats.replied["9013"], stats.idle_timeouts) == (7, 1, 1)
    assert sum(stats.dead_lettered.values()) == 0


def test_the_idle_timeout_follows_the_heartbeat() -> None:
    directory = Directory(load_registry())
    cfg = Hj212Settings(idle_min_s=1, idle_factor=3)
    assert idle_timeout(cfg, directory.get(CFG.mn)) == 90  # 3 x its 30 s heartbeat
    assert idle_timeout(cfg, directory.get(logger_of("wwtp-guantang").mn)) == 180  # 3 x 60 s
    assert idle_timeout(Hj212Settings(), directory.get(CFG.mn)) == 120  # at least idle_min_s


def test_an_sm4_upload_becomes_a_row_and_gets_its_9014(
    gateway: GatewayThread, database: Database, links: Links
) -> None:
    link = links(gateway.address)
    p = upload(SITE, BASE, ITEMS)
    raw = wire(SITE, p)
    plain = encode_packet(p)
    assert b"a21026" not in raw  # the data area is encrypted on the wire …
    assert raw[:6] == plain[:6]  # … in place: the length is the plaintext's
    assert raw[-6:] == plain[-6:]  # and so is the CRC
    link.send(raw)
    [reply] = link.replies(1)
    assert (reply.cn, reply.qn, reply.flag) == ("9014", p.qn, 8)  # 2025 Flag bits
    assert wait_until(lambda: len(air_rows(database)) == 1)
    assert air_rows(database) == [(BASE, 12.0, 35.5, 21.4, {"so2_ugm3": "N", "pm25_ugm3": "C"})]
    # hourly data (a history answer, or the period's upload): encrypted too, acknowledged
    hourly = upload(SITE, BASE, {"a34004": {"Avg": "30.0"}}, cn="2061")
    link.send(wire(SITE, hourly))
    assert [r.qn for r in link.replies(2)] == [p.qn, hourly.qn]
    assert dead_letters(database) == []
    stats = gateway.stop()
    assert (stats.published, stats.skipped["2061"]) == (1, 1)


WRONG = Sm4Key(bytes(range(16)))


def _crc_of_what_is_sent(packet: Packet, key: Sm4Key) -> bytes:
    sealed = encrypt_segment(encode_segment(packet), key)
    assert sealed is not None
    return b"##%04d" % len(sealed) + sealed + crc_text(sealed).encode() + b"\r\n"


BAD: dict[str, tuple[str, Callable[[Packet], bytes]]] = {
    # the CRC of the plaintext, as the standard's example: a wrong key fails the CRC
    "wrong-key": ("bad_crc", lambda p: encode_packet(p, CFG.crc, WRONG)),
    # a CRC over the bytes sent: the frame holds, the data area does not read
    "wrong-key-crc-sent": ("bad_cipher", lambda p: _crc_of_what_is_sent(p, WRONG)),
    "in-clear": ("bad_cipher", lambda p: wire(SITE, p, encrypt=False)),
    "corrupt-ciphertext": ("bad_crc", lambda p: _flip(wire(SITE, p))),
}


def _flip(frame: bytes) -> bytes:
    at = frame.index(b"CP=&&") + 9
    return frame[:at] + bytes([frame[at] ^ 0x55]) + frame[at + 1 :]


@pytest.mark.parametrize("case", list(BAD))
def test_what_does_not_decrypt_is_a_dead_letter_with_no_9014(
    gateway: GatewayThread, database: Database, links: Links, case: str
) -> None:
    reason, make = BAD[case]
    link = links(gateway.address)
    bad = upload(SITE, BASE, ITEMS)
    good = upload(SITE, BASE + timedelta(minutes=1), ITEMS)
    link.send(make(bad) + wire(SITE, good))  # the next good packet still gets through
    link.replies(1)
    assert [r.qn for r in link.quiet(0.3)] == [good.qn]
    assert wait_until(lambda: len(dead_letters(database)) == 1)
    [(got, device, detail)] = dead_letters(database)
    assert (got, device) == (reason, SITE)
    assert ("SM4" if reason == "bad_crc" else "does not read once decrypted") in detail
    assert wait_until(lambda: len(air_rows(database)) == 1)
    assert air_rows(database)[0][0] == BASE + timedelta(minutes=1)
