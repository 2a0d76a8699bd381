"""A simulated HJ 212-2025 logger: it uploads its serial on connecting, takes the MN of
the platform's 1002 (also for the uploads still waiting), sends heartbeats, and encrypts
the data areas of its uploads with its key."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ingest.hj212 import (
    ACCEPT_ANY,
    DataArea,
    Frame,
    FrameBuffer,
    Packet,
    data_reply,
    decode_frame,
    encode_packet,
    make_flag,
    make_qn,
    notification_reply,
)
from ingest.registry import load_registry
from simulators import DistrictSimulator, SimClock
from simulators.hj212 import FleetStats, LoggerOptions, SimulatedLogger
from simulators.hj212_packets import profiles

REGISTRY = load_registry()
PROFILE = next(p for p in profiles(REGISTRY) if p.device_id == "air-jiuziling")
NEW_MN = "010000A89000122E00000001"


class Platform:
    """The platform side for one 2025 logger: it holds the MN back, then gives a new one."""

    def __init__(self) -> None:
        self.received: list[tuple[Packet, bool]] = []  # packet, came encrypted
        self.writer: asyncio.StreamWriter | None = None
        self.answer = False
        self.arrived = asyncio.Event()

    async def until(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            self.arrived.clear()
            await self.arrived.wait()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        buf = FrameBuffer(ACCEPT_ANY, keys=lambda _mn: PROFILE.key)  # under any MN
        while chunk := await reader.read(4096):
            for event in buf.feed(chunk):
                if not isinstance(event, Frame):
                    continue
                p = decode_frame(event, ACCEPT_ANY).packet
                assert p is not None
                self.received.append((p, event.sealed is not None))
                self.arrived.set()
                if p.cn == "1001":
                    writer.write(encode_packet(notification_reply(p)))
                if self.answer and p.cn == "2011":
                    writer.write(encode_packet(data_reply(p)))
        writer.close()

    def seen(self, cn: str) -> list[Packet]:
        return [p for p, _ in self.received if p.cn == cn]

    def send_mn(self, serial: str, mn: str) -> Packet:
        command = Packet(
            st="22",
            cn="1002",
            cp=DataArea.of({"i23005-Info": serial}),
            qn=make_qn(datetime.now(UTC)),
            pw=PROFILE.cfg.pw,
            mn=mn,
            flag=make_flag(PROFILE.edition, ack=True),
        )
        assert self.writer is not None
        self.writer.write(encode_packet(command))
        return command


def test_a_2025_logger_uploads_its_serial_takes_its_mn_and_sends_heartbeats() -> None:
    assert PROFILE.cfg.serial is not None
    assert PROFILE.key is not None
    profile = replace(PROFILE, cfg=PROFILE.cfg.model_copy(update={"heartbeat_s": 1}))
    side = Platform()

    async def scenario() -> tuple[FleetStats, SimulatedLogger]:
        server = await asyncio.start_server(side.handle, "127.0.0.1", 0)
        address = server.sockets[0].getsockname()[:2]
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
        window = (start, start + timedelta(minutes=3))
        sim = DistrictSimulator(REGISTRY, 0, (), 0.0, run_window=window)
        stats = FleetStats()
        logger = SimulatedLogger(
            profile, sim.sample, address, clock=SimClock(start, 3600), window=window,
            options=LoggerOptions(resend_s=0.3, summaries=False, split_packet_rate=0),
            stats=stats,
        )  # fmt: skip
        task = asyncio.create_task(logger.run(asyncio.Event()))
        await side.until(lambda: len(side.seen("2011")) >= 3)  # no 9014 yet: they wait
        assert len(side.seen("1001")) == 1
        refused = side.send_mn("another-serial", NEW_MN)  # not meant for it
        await side.until(lambda: bool(side.seen("9011")))
        given = side.send_mn(profile.cfg.serial or "", NEW_MN)
        await side.until(lambda: bool(side.seen("9012")))
        await side.until(lambda: len(side.seen("9015")) >= 2)
        side.answer = True
        await asyncio.wait_for(task, 30)
        server.close()
        assert [p.cp.get("QnRtn") for p in side.seen("9011")] == ["2", "1"]
        assert [p.qn for p in side.seen("9011")] == [refused.qn, given.qn]
        return stats, logger

    loop = asyncio.new_event_loop()
    try:
        stats, logger = loop.run_until_complete(asyncio.wait_for(scenario(), 60))
    finally:
        loop.close()
    first, second = (p for p, _ in side.received[:2])
    assert (first.cn, first.mn, first.flag) == ("1001", PROFILE.cfg.mn, 9)  # the serial first
    assert first.cp.get("i23005-Info") == PROFILE.cfg.serial
    assert second.cn == "1013"
    assert logger.profile.cfg.mn == NEW_MN
    [done] = side.seen("9012")
    assert (done.mn, done.cp.get("ExeRtn")) == (NEW_MN, "1")
    uploads = [(p, sealed) for p, sealed in side.received if p.cn == "2011"]
    assert all(sealed for _, sealed in uploads)  # every upload came encrypted
    assert uploads[0][0].mn == PROFILE.cfg.mn
    after = side.received.index(next(x for x in side.received if x[0].cn == "9012"))
    later = [p for p, _ in side.received[after:] if p.cn in ("2011", "9015")]
    assert later
    assert {p.mn for p in later} == {NEW_MN}  # the resends too, under the new MN
    beats = side.seen("9015")
    assert all(p.flag == 9 and p.cp.text == "" for p in beats)
    assert all(not sealed for p, sealed in side.received if p.cn in ("9015", "1001", "9011"))
    assert (stats.acked["2011"], stats.unacked) == (3, 0)
    assert stats.edition2025 == {"1001": 1, "1002": 1, "9015": len(beats)}  # 2 or more
