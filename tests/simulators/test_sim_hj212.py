"""Simulated HJ 212 loggers: their packets read back as the feed simulator's readings,
their bad traffic is what it claims to be, and they resend and answer like loggers do."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.gateway import Directory, Reading, build_reading
from ingest.hj212 import (
    ACCEPT_ANY,
    DataArea,
    Fault,
    Frame,
    FrameBuffer,
    Garbage,
    Packet,
    Reassembler,
    data_reply,
    decode_frame,
    encode_packet,
    format_time,
    make_flag,
    make_qn,
)
from ingest.registry import load_registry
from simulators import DistrictSimulator, SimClock
from simulators.hj212 import FleetStats, LoggerOptions, SimulatedLogger
from simulators.hj212_packets import MALFORMED, LoggerProfile, malformed, profiles, split

REGISTRY = load_registry()
PROFILES = {p.device_id: p for p in profiles(REGISTRY)}
DIRECTORY = Directory(REGISTRY)
T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def district(start: datetime = T0, end: datetime = T0 + timedelta(days=2)) -> DistrictSimulator:
    return DistrictSimulator(REGISTRY, 0, (), 0.0, run_window=(start, end))


SIM = district()


def readback(profile: LoggerProfile, packet: Packet) -> dict[str, object]:
    logger = DIRECTORY.get(profile.cfg.mn)
    assert logger is not None
    built = build_reading(logger, packet, "liudong")
    assert isinstance(built, Reading), built
    body: dict[str, object] = json.loads(built.payload)
    return body


@settings(max_examples=60, deadline=None)
@given(
    device=st.sampled_from(sorted(PROFILES)),
    minutes=st.integers(min_value=0, max_value=2 * 24 * 60 - 1),
)
def test_a_loggers_upload_reads_back_as_the_simulators_reading(device: str, minutes: int) -> None:
    profile = PROFILES[device]
    at = T0 + timedelta(minutes=minutes)
    payload = SIM.sample(device, "reading", at, 0)
    cn = profile.cfg.readings_cn
    packet = profile.packet(cn, at, profile.items(payload, cn, 0), make_qn(at))
    decoded = decode_frame(_only_frame(profile.frame(packet)), ACCEPT_ANY)
    assert decoded.ok
    assert decoded.crc_variant == profile.crc
    assert decoded.packet is not None
    body = readback(profile, decoded.packet)
    assert body["ts"] == at.isoformat().replace("+00:00", "Z")
    expected = payload.model_dump(exclude={"v", "ts", "seq", "flags"}, exclude_none=True)
    got = {k: v for k, v in body.items() if k in expected}
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-6)  # six decimals on the wire
    flags = body.get("flags")
    if profile.legacy:
        assert flags is None  # 2005 loggers send no flags
    else:
        assert isinstance(flags, dict)
        assert set(flags) == set(expected)
        assert set(flags.values()) <= {"N", "C"}


def _only_frame(data: bytes) -> Frame:
    # the gateway's view: it opens the data areas of the loggers that encrypt (SM4)
    buf = FrameBuffer(ACCEPT_ANY, keys=DIRECTORY.sm4_key)
    [frame] = [e for e in buf.feed(data) if isinstance(e, Frame)]
    return frame


def test_units_codes_and_editions_are_the_loggers_own() -> None:
    at = T0 + timedelta(hours=3)
    luobu = PROFILES["air-luobu"]  # PM in ng/m3, minute data
    payload = SIM.sample("air-luobu", "reading", at, 0)
    items = luobu.items(payload, "2051", 0)
    assert float(items["a34004"]["Avg"]) == pytest.approx(payload.pm25_ugm3 * 1000)  # type: ignore[attr-defined]
    assert "Rtd" not in items["a34004"]
    luorong = PROFILES["air-luorong"]  # PM in mg/m3, MODBUS
    pm = luorong.items(SIM.sample("air-luorong", "reading", at, 0), "2011", 0)["a34004"]
    assert float(pm["Rtd"]) < 1
    assert luorong.crc == "modbus"
    old = PROFILES["wwtp-xiajintian"]  # HJ/T 212-2005
    sent = old.items(SIM.sample("wwtp-xiajintian", "reading", at, 0), "2011", 0)
    assert {"011", "060", "B01", "w99001"} <= set(sent)
    assert "w01018" not in sent
    assert old.packet("2011", at, sent, "1").flag is None


def test_analysers_calibrate_ten_minutes_a_day() -> None:
    guantang = PROFILES["wwtp-guantang"]
    day = [T0 + timedelta(minutes=m) for m in range(24 * 60)]
    flagged = [t for t in day if guantang.flag_for("effluent_cod_mgl", t, 0) == "C"]
    assert len(flagged) == 10
    assert flagged[-1] - flagged[0] == timedelta(minutes=9)
    assert all(guantang.flag_for("influent_flow_m3h", t, 0) == "N" for t in flagged)


@pytest.mark.parametrize("reason", MALFORMED)
def test_malformed_traffic_is_refused_for_its_reason(reason: str) -> None:
    for device, profile in PROFILES.items():
        at = T0 + timedelta(minutes=7)
        good = profile.packet("2011", at, {"w01018": {"Rtd": "1"}}, make_qn(at))
        bad = malformed(profile, good, reason, 0.37)
        events = FrameBuffer(ACCEPT_ANY, keys=DIRECTORY.sm4_key).feed(bad + profile.frame(good))
        frames = [e for e in events if isinstance(e, Frame)]
        junk = [e for e in events if isinstance(e, Garbage)]
        if reason in ("unknown_mn", "wrong_pw"):
            assert len(frames) == 2
            assert not junk
            odd = decode_frame(frames[0], ACCEPT_ANY).packet
            assert odd is not None
            if reason == "unknown_mn":
                assert DIRECTORY.get(odd.mn) is None
            else:
                assert (odd.mn, odd.pw) != (profile.cfg.mn, profile.cfg.pw)
                assert odd.mn == profile.cfg.mn
        else:
            assert [g.reason for g in junk] == [Fault(reason)], device
            assert len(frames) == 1


def test_a_split_upload_joins_back_into_the_upload() -> None:
    profile = PROFILES["wwtp-guantang"]
    payload = SIM.sample("wwtp-guantang", "reading", T0, 0)
    whole = profile.packet("2011", T0, profile.items(payload, "2011", 0), make_qn(T0))
    parts = split(whole, 2)
    assert [(p.pnum, p.pno) for p in parts] == [(2, 1), (2, 2)]
    assert all(p.flag is not None and p.flag & 0b11 == 0b11 for p in parts)
    joiner = Reassembler()
    assert joiner.add(parts[1]).packet is None
    joined = joiner.add(parts[0]).packet
    assert joined is not None
    assert joined.cp.items == whole.cp.items
    assert joined.flag == whole.flag


def test_the_schedule_covers_the_window_once() -> None:
    end = T0 + timedelta(hours=3)
    clock = SimClock(T0, 0)
    stats = FleetStats()

    def logger(device: str, start: datetime = T0) -> SimulatedLogger:
        return SimulatedLogger(
            PROFILES[device], SIM.sample, ("127.0.0.1", 9), clock=clock,
            window=(start, end), options=LoggerOptions(), stats=stats,
        )  # fmt: skip

    plan = list(logger("wwtp-guantang").schedule())
    readings = [d for _, cn, d in plan if cn == "2011"]
    assert len(readings) == 180
    assert len(set(readings)) == 180
    hours = [T0 + timedelta(hours=h) for h in (-1, 0, 1)]  # each sent once it is over
    assert [d for _, cn, d in plan if cn == "2061"] == hours
    minute = [(s, d) for s, cn, d in logger("air-luobu").schedule() if cn == "2051"]
    assert all(d.second == 0 and s > d for s, d in minute)  # a period's data, after it
    # chunked windows give the same uploads
    half = T0 + timedelta(minutes=97)
    first = logger("wwtp-guantang")
    first._window = (T0, half)
    both = list(first.schedule()) + list(logger("wwtp-guantang", half).schedule())
    assert both == plan


def test_excluded_devices_send_nothing_over_mqtt() -> None:
    hj = {s.id for _, s in REGISTRY.hj212_sites()}
    sim = DistrictSimulator(
        REGISTRY.restricted_to({s.id for _, s in REGISTRY.reporting_sites()}),
        0, (), 0.5, run_window=(T0, T0 + timedelta(hours=1)), exclude=hj,
    )  # fmt: skip
    devices = {m.topic.split("/")[2] for m in sim.messages(T0, T0 + timedelta(hours=1))}
    assert devices
    assert not devices & hj
    assert sim.sample("wwtp-guantang", "reading", T0, 0).ts == T0


class Platform:
    """A platform side for one logger: replies only when told to, sends commands."""

    def __init__(self) -> None:
        self.received: list[Packet] = []
        self.answer = False
        self.writer: asyncio.StreamWriter | None = None
        self.connections = 0
        self.mark = 0
        self.arrived = asyncio.Event()

    async def until(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            self.arrived.clear()
            await self.arrived.wait()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.connections += 1
        buf = FrameBuffer(ACCEPT_ANY)
        while chunk := await reader.read(4096):
            for event in buf.feed(chunk):
                if isinstance(event, Frame) and (p := decode_frame(event, ACCEPT_ANY).packet):
                    self.received.append(p)
                    self.arrived.set()
                    if self.answer and p.cn == "2011":
                        writer.write(encode_packet(data_reply(p)))
        writer.close()

    def uploads(self, cn: str = "2011") -> list[Packet]:
        return [p for p in self.received if p.cn == cn]


@pytest.fixture
def platform() -> Iterator[tuple[Platform, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    yield Platform(), loop
    loop.close()


def test_a_logger_resends_until_confirmed_and_answers_history(
    platform: tuple[Platform, asyncio.AbstractEventLoop],
) -> None:
    side, loop = platform

    async def scenario() -> FleetStats:
        server = await asyncio.start_server(side.handle, "127.0.0.1", 0)
        address = server.sockets[0].getsockname()[:2]
        stats = FleetStats()
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
        logger = SimulatedLogger(
            PROFILES["wwtp-guantang"], district(start, start + timedelta(minutes=3)).sample,
            address, clock=SimClock(start, 3600), window=(start, start + timedelta(minutes=3)),
            options=LoggerOptions(resend_s=0.3, summaries=False, split_packet_rate=0),
            stats=stats,
        )  # fmt: skip
        stop = asyncio.Event()
        task = asyncio.create_task(logger.run(stop))
        await side.until(lambda: len(side.uploads()) >= 3 * 2)  # each sent, and sent again
        assert len(logger.pending) == 3
        # a history request meanwhile: the hourly data of two hours
        assert side.writer is not None
        begin = start.replace(minute=0, second=0) - timedelta(hours=2)
        request = Packet(
            st="32", cn="2061", qn=make_qn(start), pw=logger.profile.cfg.pw,
            mn=logger.profile.cfg.mn, flag=make_flag(logger.profile.edition, ack=True),
            cp=DataArea.of({"BeginTime": format_time(begin),
                            "EndTime": format_time(begin + timedelta(hours=1))}),
        )  # fmt: skip
        side.mark = len(side.received)
        side.writer.write(encode_packet(request))
        await side.until(lambda: any(p.cn == "9012" for p in side.received))
        side.answer = True
        await task
        server.close()
        return stats

    stats = loop.run_until_complete(asyncio.wait_for(scenario(), 30))
    assert stats.sent["2011"] == 3
    assert stats.acked["2011"] == 3
    assert stats.resent >= 3
    assert stats.unacked == 0
    answer = [p for p in side.received[side.mark :] if p.cn != "2011"]
    assert [p.cn for p in answer] == ["9011", "2061", "2061", "9012"]
    assert answer[0].cp.get("QnRtn") == "1"
    assert answer[-1].cp.get("ExeRtn") == "1"
    assert all(p.qn == answer[0].qn for p in answer)  # the request's QN
    assert all(p.flag is not None and not p.flag & 1 for p in answer[1:3])  # no 9014 asked
    assert stats.history_answers == 1
    assert side.received[0].cn == "1013"  # time calibration asked on connecting
