"""The loggers the gateway serves, by MN, from the registry."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ingest.feeds import Kind, kind_for
from ingest.hj212 import CrcVariant, Edition
from ingest.registry import Registry
from ingest.registry.hj212 import ST_KINDS
from ingest.units import field_unit


@dataclass(frozen=True, slots=True)
class Code:
    """What one pollutant code of a logger becomes: a field, sent in ``unit``."""

    field: str
    unit: str
    stored_in: str  # the field's own unit


@dataclass(frozen=True, slots=True)
class Logger:
    device_id: str
    feed: str
    kind: Kind
    mn: str
    pw: str
    st: str
    edition: Edition
    crc: CrcVariant
    codes: Mapping[str, Code]  # HJ 212-2017 code → field
    readings_cn: str
    interval_s: int

    @property
    def accept(self) -> frozenset[CrcVariant]:
        return frozenset({self.crc})


class Directory:
    """MN → :class:`Logger` of every site whose transport is ``hj212``."""

    def __init__(self, registry: Registry) -> None:
        self._loggers: dict[str, Logger] = {}
        self._elsewhere: dict[str, str] = {}  # MN → device id, for sites reporting over MQTT
        for feed, site in registry.reporting_sites():
            cfg = site.hj212
            if cfg is None:
                continue
            if site.transport != "hj212":
                self._elsewhere[cfg.mn] = site.id
                continue
            kind = kind_for(*ST_KINDS[cfg.st])
            assert kind is not None
            codes = {}
            for code, m in registry.hj212_codes[cfg.st].items():
                stored_in = field_unit(m.field)
                assert stored_in is not None  # the registry checked it
                codes[code] = Code(m.field, cfg.units.get(code, m.unit), stored_in)
            self._loggers[cfg.mn] = Logger(
                device_id=site.id,
                feed=feed,
                kind=kind,
                mn=cfg.mn,
                pw=cfg.pw,
                st=cfg.st,
                edition=Edition(cfg.edition),
                crc=cfg.crc,
                codes=codes,
                readings_cn=cfg.readings_cn,
                interval_s=cfg.interval_s,
            )

    def __len__(self) -> int:
        return len(self._loggers)

    def __iter__(self) -> Iterator[Logger]:
        return iter(self._loggers.values())

    def get(self, mn: str | None) -> Logger | None:
        return self._loggers.get(mn) if mn is not None else None

    def why_unknown(self, mn: str | None) -> str:
        if mn is None:
            return "the packet has no MN"
        if mn in self._elsewhere:
            return f"MN {mn} is {self._elsewhere[mn]}'s logger, which reports over MQTT"
        return f"MN {mn[:40]} is not in the registry"
