"""The load generator of ``envmon bench hj212``: one asyncio task per data-logger connection.

Each logger opens its connection at its own moment of the start-up ramp, then sends one
upload every ``interval_s``, its phase its place in the fleet (so the sends of the whole
fleet are spread across the interval, not all at the top of the second). Like a real
logger it keeps each upload until its 9014 comes, sends it again after ``resend_s``
without one, ``retries`` times at most (HJ 212-2017 Table 1: 10 s, 3 times), and on a new
connection sends again everything unanswered. Past its retries an upload is still
waited for, not sent again: an overloaded gateway is not sent ever more copies.

It must cost less than the gateway it measures, on the same cores: the logger is its own
asyncio protocol (replies are handled in ``data_received``, no reader task), and a reply is
read by its QN and CN only — the codec's own tests check the rest of it. Latency is first
send → 9014 received, per upload, on the monotonic clock.

:func:`echo_main` is the floor of the same measurement: a server doing nothing but answer
each upload with a 9014-shaped line, so the load generator, the kernel and the loopback
are measured alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import cast

from envmon.bench.hj212_fleet import BenchLogger, Uploads

REPLY = re.compile(rb"QN=(\d+);ST=\d+;CN=(\d{4});")
QN = re.compile(rb"QN=(\d+);")
CONNECT_GIVE_UP_S = 30.0


@dataclass(frozen=True)
class Plan:
    address: tuple[str, int]
    interval_s: float
    duration_s: float
    ramp_s: float  # connections are opened evenly over this long, before the first send
    drain_s: float = 30.0  # after the last send, how long to wait for the last 9014s
    resend_s: float = 10.0
    retries: int = 3


@dataclass
class LoadStats:
    sent: int = 0  # uploads, first sends
    acked: int = 0  # uploads answered by a 9014 (once each)
    resent: int = 0  # sends again: after resend_s without 9014, or on a new connection
    given_up: int = 0  # uploads past their retries, no longer sent again
    late_replies: int = 0  # a 9014 for an upload answered before (it had been resent)
    other_replies: int = 0  # anything else the peer sent
    connects: int = 0
    connect_failures: int = 0
    disconnects: int = 0  # connections the peer closed or lost
    open: int = 0
    latencies: array[float] = field(default_factory=lambda: array("d"))  # s, send → 9014
    lags: array[float] = field(default_factory=lambda: array("d"))  # s, send late on plan
    unacked: list[tuple[str, str]] = field(default_factory=list)  # (device, QN) at the end
    send_s: float = 0.0  # first send to last send, all loggers


@dataclass(slots=True)
class _Sent:
    frame: bytes
    first: float
    last: float
    tries: int = 0  # sends again so far


class _Logger(asyncio.Protocol):
    """One data logger: its connection's protocol, and its uploads waiting for a 9014."""

    def __init__(self, spec: BenchLogger, uploads: Uploads, stats: LoadStats) -> None:
        self.spec = spec
        self._uploads = uploads
        self._stats = stats
        self._transport: asyncio.Transport | None = None
        self._buf = b""
        self._pending: dict[bytes, _Sent] = {}  # by QN, in the order of their last send
        self._given_up: dict[bytes, _Sent] = {}  # past their retries, still waited for
        self._answered = asyncio.Event()  # set when nothing waits for a 9014
        self._closing = False

    # -- the protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self._buf = b""
        self._stats.open += 1

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002 - asyncio's
        self._transport = None
        self._stats.open -= 1
        if not self._closing:
            self._stats.disconnects += 1

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        *lines, self._buf = (self._buf + data).split(b"\n")
        stats = self._stats
        for line in lines:
            m = REPLY.search(line)
            if m is None or m[2] != b"9014":
                stats.other_replies += 1
                continue
            sent = self._pending.pop(m[1], None) or self._given_up.pop(m[1], None)
            if sent is None:
                stats.late_replies += 1
                continue
            stats.acked += 1
            stats.latencies.append(now - sent.first)
        if not self._pending and not self._given_up:
            self._answered.set()

    # -- the task ------------------------------------------------------------------------

    async def run(self, plan: Plan, connect_at: float, first_at: float, end: float) -> None:
        await _sleep_until(connect_at)
        await self._connect(plan)
        stats, uploads = self._stats, self._uploads
        k, at = 0, first_at
        while at < end and k < len(uploads):
            await _sleep_until(at)
            now = time.monotonic()
            stats.lags.append(now - at)
            if self._transport is None:
                await self._connect(plan)
            self._answered.clear()
            frame = uploads.packet(self.spec, k)
            self._write(frame)
            self._pending[uploads.qn_bytes[k]] = _Sent(frame, now, now)
            stats.sent += 1
            self._resend_due(now, plan)
            k += 1
            at = first_at + k * plan.interval_s
        await self._drain(plan)
        self._closing = True
        if self._transport is not None:
            self._transport.close()

    async def _drain(self, plan: Plan) -> None:
        deadline = time.monotonic() + plan.drain_s
        while (self._pending or self._given_up) and (now := time.monotonic()) < deadline:
            wake = deadline
            if self._pending:
                wake = min(wake, next(iter(self._pending.values())).last + plan.resend_s)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wake - now, 0.01)):
                    await self._answered.wait()
            if self._transport is None and self._pending:
                await self._connect(plan)
            self._resend_due(time.monotonic(), plan)
        waiting = [*self._pending, *self._given_up]
        self._stats.unacked += [(self.spec.device_id, qn.decode()) for qn in waiting]

    async def _connect(self, plan: Plan) -> None:
        loop = asyncio.get_running_loop()
        give_up = time.monotonic() + CONNECT_GIVE_UP_S
        delay = 0.1
        while True:
            try:
                await loop.create_connection(lambda: self, *plan.address)
                break
            except OSError as exc:
                self._stats.connect_failures += 1
                if time.monotonic() > give_up:
                    raise ConnectionError(
                        f"{self.spec.device_id}: no connection to {plan.address} within"
                        f" {CONNECT_GIVE_UP_S:.0f} s ({exc})"
                    ) from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        self._stats.connects += 1
        now = time.monotonic()
        for sent in self._pending.values():  # a logger sends again what got no 9014
            if sent.tries < plan.retries:
                self._send_again(sent, now)

    def _resend_due(self, now: float, plan: Plan) -> None:
        """Send again what waited ``resend_s``, keeping ``_pending`` in the order of last
        send; what is past its retries is only waited for."""
        due = []
        for qn, sent in self._pending.items():
            if now - sent.last < plan.resend_s:
                break
            due.append(qn)
        for qn in due:
            sent = self._pending.pop(qn)
            if sent.tries >= plan.retries:
                self._given_up[qn] = sent
                self._stats.given_up += 1
                continue
            self._send_again(sent, now)
            self._pending[qn] = sent

    def _send_again(self, sent: _Sent, now: float) -> None:
        self._write(sent.frame)
        sent.last = now
        sent.tries += 1
        self._stats.resent += 1

    def _write(self, data: bytes) -> None:
        if self._transport is not None:
            self._transport.write(data)


async def _sleep_until(at: float) -> None:
    delay = at - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


Progress = Callable[[LoadStats, float], None]  # stats, seconds since the first send


def run_load(
    loggers: list[BenchLogger], uploads: Uploads, plan: Plan, progress: Progress | None = None
) -> LoadStats:
    """:func:`run_fleet` on an event loop of its own: uvloop's where installed (uvicorn's
    standard extra brings it), which took about 15 % less CPU than asyncio's own here —
    CPU taken from the cores the gateway runs on."""
    try:
        import uvloop  # noqa: PLC0415 - optional
    except ImportError:
        runner = asyncio.Runner()
    else:
        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    with runner:
        return runner.run(run_fleet(loggers, uploads, plan, progress))


async def run_fleet(
    loggers: list[BenchLogger],
    uploads: Uploads,
    plan: Plan,
    progress: Progress | None = None,
    every_s: float = 5.0,
) -> LoadStats:
    """Run every logger of ``loggers`` through ``plan``; the counts once all are done."""
    stats = LoadStats()
    n = len(loggers)
    start = time.monotonic()
    t0 = start + plan.ramp_s + 1.0
    end = t0 + plan.duration_s
    reporter = asyncio.create_task(_report(stats, t0, progress, every_s), name="progress")
    try:
        async with asyncio.TaskGroup() as tg:
            for i, spec in enumerate(loggers):
                logger = _Logger(spec, uploads, stats)
                connect_at = start + plan.ramp_s * i / n
                first_at = t0 + plan.interval_s * i / n
                tg.create_task(logger.run(plan, connect_at, first_at, end), name=spec.device_id)
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
    stats.send_s = min(plan.duration_s, len(uploads) * plan.interval_s)
    return stats


async def _report(stats: LoadStats, t0: float, progress: Progress | None, every_s: float) -> None:
    if progress is None:
        return
    while True:
        await asyncio.sleep(every_s)
        progress(stats, time.monotonic() - t0)


# -- the floor -------------------------------------------------------------------------


class _Echo(asyncio.Protocol):
    """Answers each line carrying a QN with a 9014-shaped line for it, and nothing else."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buf = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        *lines, self._buf = (self._buf + data).split(b"\n")
        out = [b"QN=%s;ST=91;CN=9014;\r\n" % m[1] for line in lines if (m := QN.search(line))]
        if out and self._transport is not None:
            self._transport.write(b"".join(out))


def echo_main(conn: Connection) -> None:
    """The floor's server, in a process of its own: sends its port, stops on any message."""

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Echo, "127.0.0.1", 0, backlog=1024)
        conn.send(server.sockets[0].getsockname()[1])
        stop = asyncio.Event()
        loop.add_reader(conn.fileno(), stop.set)
        await stop.wait()
        server.close()

    asyncio.run(serve())
