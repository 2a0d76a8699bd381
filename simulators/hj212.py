"""Simulated HJ 212 data loggers: the registry's HJ 212 plants and stations as TCP clients.

Each logger keeps one long connection to the gateway (reconnecting with backoff), uploads
its readings (CN 2011, or 2051 minute data) on the simulated clock, and besides them the
hourly (2061) and daily (2031) data of each period; the values are the feed simulator's
(scenarios included), in the logger's own units and codes (``hj212_packets``).

Like a real logger it keeps every upload until its 9014 comes and sends it again after
``resend_s`` without one — also across reconnections, so what the platform did not
confirm is never lost. During an outage of its link (``outages``, in simulated time) it is
offline and its readings of that time never leave it — like a logger that queues no
real-time data — while its history still holds them, for the platform to ask for. It
asks for time calibration (1013) on connecting and answers commands: 9011/9012, and for
a history request (2051/2061/2031 with BeginTime/EndTime) the data of each period in the
range (a 2025 logger's serial, MN, heartbeat: ``hj212_2025``).

Traffic is as untidy as the field's: some packets are written in two pieces, queued
ones go out together in one write, some uploads are split in two packets (PNUM/PNO),
and at ``malformed_rate`` an upload is preceded by bad traffic the gateway must refuse
(bad CRC, bad length, unknown MN, wrong PW, modem noise), counted by that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ingest.backoff import Backoff
from ingest.feeds import Payload
from ingest.hj212 import ACCEPT_ANY, SET_MN, Frame, FrameBuffer, Packet, decode_frame, parse_time
from ingest.registry import Registry
from simulators._signals import unit
from simulators.clock import SimClock
from simulators.hj212_2025 import Edition2025
from simulators.hj212_packets import (
    MALFORMED,
    LoggerProfile,
    malformed,
    periods,
    profiles,
    qn_for,
    split,
)
from simulators.hj212_run import FleetStats, LoggerOptions

__all__ = ["FleetStats", "LoggerFleet", "LoggerOptions", "SimulatedLogger"]
log = logging.getLogger(__name__)

Sample = Callable[[str, str, datetime, int], Payload]  # device, kind, ts, seq → payload
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
UPLOAD_QN_MS = {"2011": 0, "2051": 1, "2061": 2, "2031": 3}
HISTORY = frozenset({"2051", "2061", "2031"})  # the uploads a history request may ask for
READ_TICK_S = 0.1


@dataclass
class _Pending:
    cn: str
    frames: list[bytes]
    sent_at: float | None  # None: produced while offline, never written yet


class SimulatedLogger:
    def __init__(
        self,
        profile: LoggerProfile,
        sample: Sample,
        address: tuple[str, int],
        *,
        clock: SimClock,
        window: tuple[datetime, datetime | None],
        options: LoggerOptions,
        stats: FleetStats,
    ) -> None:
        self.profile = profile
        self._sample = sample
        self._address = address
        self._clock = clock
        self._window = window
        self._opt = options
        self.stats = stats
        self.pending: OrderedDict[str, _Pending] = OrderedDict()
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()
        self._produced = asyncio.Event()
        self.edition2025 = Edition2025.of(profile)  # serial, MN, heartbeat: HJ 212-2025

    # -- what it sends, and when -------------------------------------------------------

    def schedule(self) -> Iterator[tuple[datetime, str, datetime]]:
        """``(send time, CN, DataTime)`` of every upload in the window, in order."""
        start, end = self._window
        cfg, d = self.profile.cfg, self.profile.device_id
        every = timedelta(seconds=cfg.interval_s)
        phase = timedelta(seconds=int(unit(self._opt.seed, d, "hj212-phase") * cfg.interval_s))
        lag = phase if cfg.readings_cn == "2011" else every + phase  # period data: after it
        streams = [_stream(cfg.readings_cn, start, end, every, lag)]
        if self._opt.summaries:
            for cn, step in (("2061", HOUR), ("2031", DAY)):
                if cn != cfg.readings_cn:  # a period's data, sent once it is over
                    streams.append(_stream(cn, start, end, step, step + phase))
        for send, cn, data_time in heapq.merge(*streams):
            if end is not None and send >= end:
                return
            if send >= start:
                yield send, cn, data_time

    def period(self, cn: str) -> timedelta:
        """The span an upload's values cover: none for real-time data."""
        if cn == "2051":
            return timedelta(seconds=self.profile.cfg.interval_s)
        return {"2061": HOUR, "2031": DAY}.get(cn, timedelta(0))

    def payload_for(self, cn: str, data_time: datetime) -> Payload:
        """The values of upload ``cn`` for ``data_time``: the sample in the middle of the
        period it covers, dated at its start (the DataTime of period data)."""
        middle = data_time + self.period(cn) / 2
        payload = self._sample(self.profile.device_id, "reading", middle, 0)
        return payload if cn == "2011" else payload.model_copy(update={"ts": data_time})

    def upload(self, cn: str, data_time: datetime, *, ack: bool = True) -> Packet:
        """Upload ``cn`` of ``data_time``. Its QN is the DataTime plus a millisecond per kind
        of upload: the hourly data of 10:00 goes out with the reading of 11:00, and a QN
        names one upload (it is what its 9014 answers)."""
        payload = self.payload_for(cn, data_time)
        items = self.profile.items(payload, cn, self._opt.seed)
        qn = qn_for(data_time, UPLOAD_QN_MS.get(cn, 9))
        packet = self.profile.packet(cn, data_time, items, qn)
        if ack or packet.flag is None:
            return packet
        return replace(packet, flag=packet.flag & ~1)

    # -- running -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Upload until the window ends (or ``stop``), then wait for the last replies."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._produce(stop))
            tg.create_task(self._connection(stop))

    async def _produce(self, stop: asyncio.Event) -> None:
        try:
            for send, cn, data_time in self.schedule():
                if await _wait(stop, self._clock.delay_until(send)):
                    return
                if cn == self.profile.cfg.readings_cn and self.outage_end(send) is not None:
                    self.stats.lost_in_outage += 1
                    continue
                await self._new_upload(cn, data_time)
        finally:
            self._produced.set()

    async def _new_upload(self, cn: str, data_time: datetime) -> None:
        good = self.upload(cn, data_time)
        d, qn = self.profile.device_id, good.qn or ""
        if qn in self.pending:  # a bug here would lose an upload silently
            raise RuntimeError(f"{d}: QN {qn} names an upload still waiting for its 9014")
        parts = [good]
        if unit(self._opt.seed, d, qn, "split") < self._opt.split_packet_rate:
            parts = split(good, 2)
        frames = [self.profile.frame(p) for p in parts]
        online = self._writer is not None
        self.pending[qn] = _Pending(cn, frames, time.monotonic() if online else None)
        self.stats.sent[cn] += 1
        draw = unit(self._opt.seed, d, qn, "malformed")
        if cn != self.profile.cfg.readings_cn or draw >= self._opt.malformed_rate:
            await self._write(frames)
            return
        reason = MALFORMED[int(unit(self._opt.seed, d, qn, "which") * len(MALFORMED))]
        if await self._write([malformed(self.profile, good, reason, draw), *frames]):
            self.stats.malformed[reason] += 1  # counted once on the wire

    def outage_end(self, at: datetime) -> datetime | None:
        """When the outage ``at`` falls in ends, or None: the link is up."""
        return next((b for a, b in self._opt.outages if a <= at < b), None)

    def _finished(self, stop: asyncio.Event, deadline: list[float]) -> bool:
        if not (self._produced.is_set() or stop.is_set()):
            return False
        if not self.pending:
            return True
        if not deadline:
            deadline.append(time.monotonic() + self._opt.drain_s)
        return time.monotonic() >= deadline[0]

    async def _connection(self, stop: asyncio.Event) -> None:
        backoff = Backoff(0.1, 2.0)
        deadline: list[float] = []
        while not self._finished(stop, deadline):
            back = self.outage_end(self._clock.now())
            if back is not None:
                await _wait(stop, self._clock.delay_until(back))
                continue
            try:
                reader, writer = await asyncio.open_connection(*self._address)
            except OSError:
                await asyncio.sleep(backoff.next())
                continue
            backoff.reset()
            self.stats.connects += 1
            self._writer = writer
            try:
                await self._on_connect()
                await self._converse(reader, stop, deadline)
            except (ConnectionError, OSError) as exc:
                log.debug("%s: connection lost (%s)", self.profile.device_id, exc)
            finally:
                self._writer = None
                writer.close()
                with contextlib.suppress(ConnectionError, OSError):
                    await writer.wait_closed()
        self.stats.unacked += len(self.pending)

    async def _on_connect(self) -> None:
        """Ask for the time, and send again everything not confirmed yet."""
        now = self._clock.now()
        ask = self.profile.packet("1013", now, {}, qn_for(now, 999))
        self.stats.time_requests += 1
        frames = [*self.edition2025.hello(self, now), self.profile.frame(ask)]
        for entry in self.pending.values():
            frames += entry.frames
            self.stats.resent += entry.sent_at is not None
            entry.sent_at = time.monotonic()
        await self._write(frames)

    async def _converse(
        self, reader: asyncio.StreamReader, stop: asyncio.Event, deadline: list[float]
    ) -> None:
        buf = FrameBuffer(ACCEPT_ANY)
        while not self._finished(stop, deadline):
            if self.outage_end(self._clock.now()) is not None:
                return  # the link goes down
            try:
                async with asyncio.timeout(READ_TICK_S):
                    chunk = await reader.read(4096)
            except TimeoutError:
                chunk = None
            if chunk == b"":
                return  # the gateway closed the connection
            for event in buf.feed(chunk) if chunk else ():
                if isinstance(event, Frame):
                    d = decode_frame(event, ACCEPT_ANY)
                    if d.packet is not None:
                        await self._on_packet(d.packet)
            await self._resend_due()
            await self._write(self.edition2025.heartbeat(self, self._clock.now()))

    async def _resend_due(self) -> None:
        now = time.monotonic()
        due = [
            e
            for e in self.pending.values()
            if e.sent_at is not None and now - e.sent_at >= self._opt.resend_s
        ]
        if due:
            for e in due:
                e.sent_at = now
            self.stats.resent += len(due)
            await self._write([f for e in due for f in e.frames])

    async def _on_packet(self, p: Packet) -> None:
        if p.cn == "9014":
            entry = self.pending.pop(p.qn or p.cp.get("QN") or "", None)
            if entry is not None:
                self.stats.acked[entry.cn] += 1
                if entry.cn == self.profile.cfg.readings_cn:
                    self.stats.readings[self.profile.feed] += 1
        elif p.cn == "9013":
            pass
        elif p.cn == SET_MN:  # the platform gives the logger its MN (HJ 212-2025)
            await self._write(self.edition2025.take_mn(self, p))
        elif not p.cn.startswith("9"):
            await self._command(p)

    async def _command(self, p: Packet) -> None:
        """Answer a command of the platform: 9011, the data asked for, 9012."""
        begin, end = p.cp.get("BeginTime"), p.cp.get("EndTime")
        history = p.cn in HISTORY and begin is not None and end is not None
        known = p.cn == "1012" or history
        out = [self.profile.reply(p, "9011", {"QnRtn": "1" if known else "2"})]
        if p.cn == "1012":
            self.stats.time_set += 1
        elif history:
            a, b = parse_time(begin or "").at, parse_time(end or "").at
            if a is not None and b is not None:
                step = self.period(p.cn)
                answer = [
                    replace(self.upload(p.cn, at, ack=False), qn=p.qn)
                    for at in periods(a, b + timedelta(seconds=1), step)
                ]
                out.extend(answer)
                self.stats.history_answers += 1
                self.stats.history_sent += len(answer)
        if known:
            out.append(self.profile.reply(p, "9012", {"ExeRtn": "1"}))
        await self._write([self.profile.frame(x) for x in out])

    async def _write(self, frames: list[bytes]) -> bool:
        """Queued frames in one write, some of them in two pieces; dropped when offline
        (what needs a reply is still pending and goes again on the next connection).
        True once written."""
        if not frames:
            return True
        async with self._lock:
            writer = self._writer
            if writer is None:
                return False
            data = b"".join(frames)
            cut = int(unit(self._opt.seed, self.profile.device_id, data[:64], "cut") * len(data))
            try:
                if unit(self._opt.seed, data, "halves") < self._opt.split_write_rate and cut > 0:
                    writer.write(data[:cut])
                    await writer.drain()
                    await asyncio.sleep(0.002)
                    data = data[cut:]
                writer.write(data)
                await writer.drain()
            except (ConnectionError, OSError) as exc:  # the reader sees it too and reconnects
                log.debug("%s: write failed (%s)", self.profile.device_id, exc)
                writer.close()
                return False
        return True


def _stream(
    cn: str, start: datetime, end: datetime | None, step: timedelta, lag: timedelta
) -> Iterator[tuple[datetime, str, datetime]]:
    """``(send time, CN, DataTime)`` of periods of ``step``, each sent ``lag`` after it."""
    return ((p + lag, cn, p) for p in periods(start - lag, end, step))


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` unless ``stop`` is set first (then True)."""
    if seconds <= 0:
        return stop.is_set()
    try:
        async with asyncio.timeout(seconds):
            await stop.wait()
    except TimeoutError:
        return False
    return True


class LoggerFleet:
    """Every HJ 212 logger of the registry, on one event loop."""

    def __init__(
        self,
        registry: Registry,
        sample: Sample,
        address: tuple[str, int],
        *,
        clock: SimClock,
        window: tuple[datetime, datetime | None],
        options: LoggerOptions | None = None,
        devices: frozenset[str] | None = None,
    ) -> None:
        self.stats = FleetStats()
        opt = options or LoggerOptions()
        self.loggers = [
            SimulatedLogger(
                p, sample, address, clock=clock, window=window, options=opt, stats=self.stats
            )
            for p in profiles(registry)
            if devices is None or p.device_id in devices
        ]

    @property
    def device_ids(self) -> list[str]:
        return [x.profile.device_id for x in self.loggers]

    async def run(self, stop: asyncio.Event) -> FleetStats:
        async with asyncio.TaskGroup() as tg:
            for x in self.loggers:
                tg.create_task(x.run(stop), name=f"logger-{x.profile.device_id}")
        return self.stats
