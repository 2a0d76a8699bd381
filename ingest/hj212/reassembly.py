"""Putting split packets (PNUM/PNO) back together.

A logger splits a data area too long for one frame over PNUM packets numbered PNO = 1..PNUM,
all with the same MN and QN. :class:`Reassembler` collects the parts by (MN, QN) and hands
back one packet — the header of part 1 without PNUM, PNO and the D bit, the data areas'
items in PNO order — once every part is in. A part sent again (the logger got no 9014 in
time) counts once. Pure: no clock; the gateway bounds memory with ``max_pending`` and sees
what was given up in :attr:`Reassembly.abandoned`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ingest.hj212.cp import DataArea
from ingest.hj212.packet import FLAG_SPLIT, Packet

Key = tuple[str | None, str | None]  # (MN, QN)


@dataclass(frozen=True, slots=True)
class Reassembly:
    """A complete packet (or None while parts are missing) and the keys given up on."""

    packet: Packet | None
    abandoned: tuple[Key, ...] = ()


@dataclass(slots=True)
class _Parts:
    total: int
    parts: dict[int, Packet] = field(default_factory=dict)


class Reassembler:
    """Collects the parts of split packets; an unsplit packet passes straight through."""

    def __init__(self, max_pending: int = 64) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self._max = max_pending
        self._pending: dict[Key, _Parts] = {}

    @property
    def pending(self) -> tuple[Key, ...]:
        """The (MN, QN) of the packets still waiting for parts, oldest first."""
        return tuple(self._pending)

    def add(self, packet: Packet) -> Reassembly:
        if packet.pnum is None or packet.pno is None:
            return Reassembly(packet)
        key: Key = (packet.mn, packet.qn)
        abandoned: list[Key] = []
        entry = self._pending.get(key)
        if entry is not None and entry.total != packet.pnum:
            # the logger started over with another split: the old parts cannot complete
            del self._pending[key]
            abandoned.append(key)
            entry = None
        if entry is None:
            while len(self._pending) >= self._max:
                oldest = next(iter(self._pending))
                del self._pending[oldest]
                abandoned.append(oldest)
            entry = self._pending[key] = _Parts(packet.pnum)
        entry.parts.setdefault(packet.pno, packet)
        if len(entry.parts) < entry.total:
            return Reassembly(None, tuple(abandoned))
        del self._pending[key]
        return Reassembly(_joined(entry), tuple(abandoned))

    def discard(self, key: Key) -> bool:
        """Give up on the parts collected for ``key`` (e.g. on a timeout); True if any."""
        return self._pending.pop(key, None) is not None


def _joined(entry: _Parts) -> Packet:
    parts = [entry.parts[n] for n in range(1, entry.total + 1)]
    first = parts[0]
    # joined as received, so a value the encoder would refuse cannot make this raise
    text = ";".join(p.cp.text for p in parts if p.cp.text)
    cp = DataArea(text, tuple(item for p in parts for item in p.cp.items_raw))
    flag = None if first.flag is None else first.flag & ~FLAG_SPLIT
    return replace(first, cp=cp, flag=flag, pnum=None, pno=None)
