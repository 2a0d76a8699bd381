"""The loggers the gateway serves, by MN (and, for HJ 212-2025 ones, by hardware serial),
from the registry; with the SM4 key of each logger that encrypts its data area."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ingest.feeds import Kind, kind_for
from ingest.hj212 import CrcVariant, Edition, Sm4Key
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
    # HJ 212-2025: hardware serial (CN 1001), 9015 interval, SM4 key (masked in reprs)
    serial: str | None = None
    heartbeat_s: int | None = None
    sm4: Sm4Key | None = field(default=None, repr=False)

    @property
    def accept(self) -> frozenset[CrcVariant]:
        return frozenset({self.crc})


class Directory:
    """MN → :class:`Logger` of every site whose transport is ``hj212``."""

    def __init__(self, registry: Registry) -> None:
        self._loggers: dict[str, Logger] = {}
        self._serials: dict[str, Logger] = {}  # hardware serial → logger (HJ 212-2025)
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
            logger = Logger(
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
                serial=cfg.serial,
                heartbeat_s=cfg.heartbeat_s,
                sm4=cfg.key,
            )
            self._loggers[cfg.mn] = logger
            if cfg.serial is not None:
                self._serials[cfg.serial] = logger

    def __len__(self) -> int:
        return len(self._loggers)

    def __iter__(self) -> Iterator[Logger]:
        return iter(self._loggers.values())

    def get(self, mn: str | None) -> Logger | None:
        return self._loggers.get(mn) if mn is not None else None

    def by_serial(self, serial: str | None) -> Logger | None:
        """The HJ 212-2025 logger with this hardware serial (its 1001 may carry no MN yet)."""
        return self._serials.get(serial) if serial is not None else None

    def sm4_key(self, mn: str) -> Sm4Key | None:
        """The SM4 key of the logger with this MN, when it encrypts (a ``KeyLookup``)."""
        logger = self._loggers.get(mn)
        return logger.sm4 if logger is not None else None

    def why_unknown(self, mn: str | None) -> str:
        if mn is None:
            return "the packet has no MN"
        if mn in self._elsewhere:
            return f"MN {mn} is {self._elsewhere[mn]}'s logger, which reports over MQTT"
        return f"MN {mn[:40]} is not in the registry"
