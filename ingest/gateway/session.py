"""One data logger's TCP connection: frames in, checks, readings out, replies back.

Frames are cut by the codec's :class:`~ingest.hj212.FrameBuffer` from reads of any size
(half a packet, several, garbage between them). Each frame is checked in order — the
codec's verdict, the MN known, the logger's CRC algorithm, its PW, its ST — and what fails
becomes a dead letter, with no reply. An upload's readings are published and its 9014
written only once the broker has acknowledged them; a split upload (PNUM/PNO) is held
until every part is in, and then each part gets its 9014. A 1013 time-calibration request
gets its 9013 and a 1012 with the gateway's clock. HJ 212-2025 (SM4 data areas, the 9015
heartbeat, the 1001 serial and the 1002 MN) is ``edition2025.py``'s.

The frames of one connection are handled one after the other, so replies go out in the
order the packets came. Nothing a logger sends can stop another logger's session: a bug
met here is logged and closes this connection only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ingest.edge import MAX_RAW, EdgeDeadLetter
from ingest.gateway import edition2025
from ingest.gateway.directory import Directory, Logger
from ingest.gateway.history import History
from ingest.gateway.publisher import DeadLetters, Publisher, PublishError
from ingest.gateway.readings import Reading, Refused, build_reading
from ingest.gateway.reasons import Refusal
from ingest.gateway.stats import GatewayStats
from ingest.hj212 import (
    ACCEPT_ANY,
    Fault,
    Frame,
    FrameBuffer,
    Garbage,
    Packet,
    Reassembler,
    command,
    data_reply,
    decode_frame,
    decode_packet,
    encode_packet,
    format_time,
    needs_data_reply,
    needs_notification_reply,
    notification_reply,
    parse_command_reply,
    set_time,
)
from ingest.hj212.replies import ST_INTERACTION, UPLOADS
from ingest.settings import Hj212Settings

log = logging.getLogger(__name__)

READ_SIZE = 4096
COMMAND_REPLIES = frozenset({"9011", "9012", "9013", "9014"})
Clock = Callable[[], datetime]
Key = tuple[str | None, str | None]


@dataclass
class Context:
    """What every session shares."""

    settings: Hj212Settings
    directory: Directory
    publisher: Publisher
    dead_letters: DeadLetters
    root: str
    clock: Clock
    stats: GatewayStats
    history: History | None  # None: gaps are not asked for
    # sessions accepted and not yet closing: the connection limit, the idle sweep
    live: set[Session] = field(default_factory=set)


def idle_timeout(settings: Hj212Settings, logger: Logger | None) -> float:
    """How long a connection may stay silent: a few upload intervals of its logger."""
    if logger is None:
        return settings.first_packet_timeout_s
    return max(settings.idle_min_s, settings.idle_factor * edition2025.keepalive_s(logger))


class Session:
    def __init__(
        self, ctx: Context, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._ctx = ctx
        self._reader = reader
        self._writer = writer
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self._buf = FrameBuffer(ACCEPT_ANY, keys=ctx.directory.sm4_key)
        self._parts = Reassembler(ctx.settings.max_split_pending)
        self._waiting: dict[Key, dict[int, tuple[Packet, Frame]]] = {}
        self._logger: Logger | None = None  # the logger of the last packet served
        self._valid = 0
        self._garbage_bytes = 0
        self._held: tuple[Fault, bytearray] | None = None  # garbage since the last frame
        self._last_read = time.monotonic()
        self._timed_out = False
        ctx.live.add(self)  # at accept: the connection limit counts it from now on

    def idle_past(self, now: float) -> bool:
        """Close the connection if it has been silent past its idle timeout (the gateway's
        sweep asks, so that a read costs no timer of its own)."""
        timeout = idle_timeout(self._ctx.settings, self._logger)
        if self._timed_out or now - self._last_read < timeout:
            return False
        self._timed_out = True
        self._ctx.stats.idle_timeouts += 1
        log.info("closing %s: silent for %.0f s", self.peer, timeout)
        self._writer.close()
        return True

    async def run(self) -> None:
        stats = self._ctx.stats
        stats.connections += 1
        stats.open += 1
        log.info("logger connected from %s", self.peer, extra={"peer": self.peer})
        try:
            await self._serve()
        except (ConnectionError, OSError) as exc:
            log.info("connection from %s lost: %s", self.peer, exc)
        except Exception:  # one logger's bad luck is not the gateway's
            stats.session_errors += 1
            log.exception("session with %s failed; closing it", self.peer)
        finally:
            self._ctx.live.discard(self)
            self._flush_garbage()
            stats.open -= 1
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()

    async def _serve(self) -> None:
        cfg = self._ctx.settings
        while True:
            chunk = await self._reader.read(READ_SIZE)
            if self._timed_out:
                return
            self._last_read = time.monotonic()
            for event in self._buf.feed(chunk) if chunk else self._buf.close():
                if isinstance(event, Garbage):
                    self._garbage(event)
                else:
                    await self._frame(event)
            if not chunk:
                return
            if self._valid == 0 and self._garbage_bytes >= cfg.garbage_limit_bytes:
                self._flush_garbage()
                self._ctx.stats.closed_for_garbage += 1
                log.warning("closing %s: %d bytes and no packet", self.peer, self._garbage_bytes)
                return

    # -- refusals ----------------------------------------------------------------------

    def _garbage(self, g: Garbage) -> None:
        """Garbage is held until the next frame: bytes that start no frame join the span
        before them, so one span between two frames is one dead letter however TCP cut it."""
        self._garbage_bytes += len(g.data)
        held = self._held
        if held is not None and g.reason is Fault.NO_HEADER and len(held[1]) < MAX_RAW:
            held[1].extend(g.data)
            return
        self._flush_garbage()
        self._held = (g.reason, bytearray(g.data))

    def _flush_garbage(self) -> None:
        if self._held is None:
            return
        reason, data = self._held
        self._held = None
        self._ctx.stats.garbage += 1
        raw = bytes(data)
        seen = decode_packet(raw, ACCEPT_ANY, self._ctx.directory.sm4_key)  # for the record
        detail = seen.detail if seen.error is reason and seen.detail else None
        self._dead(reason, raw, seen.mn, detail or f"{len(raw)} bytes that are no frame")

    def _dead(
        self,
        reason: Fault | Refusal,
        raw: bytes,
        mn: str | None,
        detail: str,
        *,
        logger: Logger | None = None,
        device_ts: datetime | None = None,
    ) -> None:
        ctx = self._ctx
        if logger is None:
            logger = ctx.directory.get(mn)
        ctx.stats.dead_lettered[reason] += 1
        log.info(
            "refused from %s (MN %s): %s, %s",
            self.peer,
            mn,
            reason,
            detail,
            extra={"peer": self.peer, "reason": str(reason)},
        )
        ctx.dead_letters.put(
            EdgeDeadLetter(
                received_at=ctx.clock(),
                reason=reason,
                detail=detail[:300],
                raw_b64=EdgeDeadLetter.encode_raw(raw),
                mn=mn[:64] if mn else None,
                device_id=logger.device_id if logger else None,
                feed=logger.feed if logger else None,
                device_ts=device_ts,
                peer=self.peer,
            )
        )

    # -- packets -----------------------------------------------------------------------

    async def _frame(self, frame: Frame) -> None:
        ctx = self._ctx
        self._flush_garbage()
        ctx.stats.received += 1
        d = decode_frame(frame, ACCEPT_ANY)
        p = d.packet
        if d.error is not None or p is None:
            self._dead(d.error or Fault.BAD_FIELD, frame.wire, d.mn, d.detail or "unreadable")
            return
        logger = edition2025.resolve(ctx.directory, p)
        if logger is None:
            reason, why = edition2025.why_unknown(ctx.directory, p)
            self._dead(reason, frame.wire, p.mn, why)
            return
        refusal = self._check(logger, p, frame)
        if refusal is not None:
            self._dead(refusal[0], frame.wire, p.mn, refusal[1], logger=logger)
            return
        self._valid += 1
        self._logger = logger
        ctx.stats.accepted += 1
        if p.cn in UPLOADS:
            await self._upload(logger, p, frame)
        elif p.cn in edition2025.SERVED:  # HJ 212-2025: heartbeat, hardware serial
            for reply in edition2025.answer(logger, p, ctx.stats, ctx.clock()):
                await self._send(reply, logger)
        elif needs_notification_reply(p):
            await self._send(notification_reply(p), logger)
            if p.cn == "1013":  # time calibration asked: set the logger's clock
                await self._send(set_time(p, ctx.clock()), logger)
        elif p.cn in COMMAND_REPLIES:
            ctx.stats.command_replies += 1
            if p.cn in ("9011", "9012") and ctx.history is not None:
                ctx.history.replied(logger, parse_command_reply(p))
        else:
            detail = f"CN={p.cn} is not served"
            self._dead(Refusal.UNKNOWN_CN, frame.wire, p.mn, detail, logger=logger)

    def _check(self, logger: Logger, p: Packet, frame: Frame) -> tuple[Refusal | Fault, str] | None:
        if frame.crc_variant not in logger.accept:
            return Fault.BAD_CRC, (
                f"CRC is {frame.crc_variant}; {logger.device_id}'s logger sends {logger.crc}"
            )
        if p.pw != logger.pw:
            return Refusal.WRONG_PW, f"wrong PW for {logger.device_id}"
        answers = p.cn in COMMAND_REPLIES or p.cn in edition2025.SERVED
        interaction = answers and p.st == ST_INTERACTION
        if p.st != logger.st and not interaction:
            return Refusal.WRONG_ST, f"ST={p.st[:4]}, {logger.device_id}'s logger is ST {logger.st}"
        return None

    async def _upload(self, logger: Logger, p: Packet, frame: Frame) -> None:
        ctx = self._ctx
        key: Key = (p.mn, p.qn)
        if p.split and p.pno is not None:
            ctx.stats.split_parts += 1
            self._waiting.setdefault(key, {})[p.pno] = (p, frame)
        joined = self._parts.add(p)
        for lost in joined.abandoned:  # never acknowledged: the logger sends them again
            self._waiting.pop(lost, None)
            ctx.stats.split_abandoned += 1
            log.warning("split packet %s from %s abandoned", lost, self.peer)
        whole = joined.packet
        if whole is None:
            return
        parts = list(self._waiting.pop(key, {}).values()) if p.split else [(p, frame)]
        history = ctx.history
        answer = history.answering(logger.mn, whole.qn, whole.cn) if history else None
        if whole.cn == logger.readings_cn or answer is not None:
            reading = await self._publish(logger, whole, parts)
            if not isinstance(reading, Reading):
                if answer is not None and reading is None:
                    answer.failed = True  # not in the broker: the gap is asked for again
                return
            if history is not None and answer is not None:
                history.published(answer)
            elif history is not None:
                history.observe(logger, reading.ts)
        else:
            ctx.stats.skipped[whole.cn] += 1
        for part, _ in parts:
            if needs_data_reply(part):
                await self._send(data_reply(part), logger)
        if history is not None and answer is None:
            await self._ask_history(history, logger, whole)

    async def _ask_history(self, history: History, logger: Logger, upload: Packet) -> None:
        """Ask ``logger`` for the data of its oldest open gap, unless one request is out."""
        span = history.due(logger)
        if span is None:
            return
        params = {"BeginTime": format_time(span.begin), "EndTime": format_time(span.end)}
        request = command(upload, span.cn, params, self._ctx.clock())
        history.asked(logger, span, request.qn or "")
        await self._send(request, logger)

    async def _publish(
        self, logger: Logger, whole: Packet, parts: list[tuple[Packet, Frame]]
    ) -> Reading | Refused | None:
        """Publish the upload's reading: it once the broker has acknowledged it, why it
        is no reading (a dead letter then), or None when the broker did not confirm it."""
        ctx = self._ctx
        built = build_reading(logger, whole, ctx.root)
        if isinstance(built, Refused):
            raw = b"\r\n".join(f.wire for _, f in parts)
            self._dead(built.reason, raw, whole.mn, built.detail, logger=logger, device_ts=built.ts)
            return built
        try:
            await ctx.publisher.publish(built.topic, built.payload)
        except PublishError as exc:
            ctx.stats.unconfirmed += 1
            log.warning(
                "%s: reading of %s not confirmed by the broker (%s); no 9014",
                logger.device_id,
                built.ts.isoformat(),
                exc,
            )
            return None
        ctx.stats.published += 1
        return built

    async def _send(self, packet: Packet, logger: Logger) -> None:
        self._writer.write(encode_packet(packet, logger.crc))
        await self._writer.drain()
        self._ctx.stats.replied[packet.cn] += 1
