"""Logger time: DataTime, QN and SystemTime are China Standard Time (UTC+8) on the wire.

China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact.
Parsed times are returned in UTC; formatting takes any aware datetime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from ingest.hj212.reasons import TimeFault

CST = timezone(timedelta(hours=8), "CST")

# YYYYMMDDhhmm[ss[zzz]] as the standard writes them, or with the usual separators
# (2023-05-01 10:00:00[.123]) that some loggers put in DataTime.
_COMPACT = re.compile(r"(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(?:(\d\d)(\d{3})?)?", re.ASCII)
_SEPARATED = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{3}))?)?", re.ASCII
)


@dataclass(frozen=True, slots=True)
class TimeParse:
    """A logger time read: ``at`` (aware, UTC) or the reason it could not be read."""

    at: datetime | None
    error: TimeFault | None = None


def parse_time(text: str) -> TimeParse:
    """Read a logger time: ``YYYYMMDDhhmmss``, with milliseconds, minutes only, or ISO-like."""
    m = _COMPACT.fullmatch(text) or _SEPARATED.fullmatch(text)
    if m is None:
        return TimeParse(None, TimeFault.BAD_TIME_FORMAT)
    year, month, day, hour, minute, second, millis = m.groups()
    try:
        local = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int(millis or 0) * 1000,
            tzinfo=CST,
        )
    except ValueError:
        return TimeParse(None, TimeFault.BAD_TIME_VALUE)
    return TimeParse(local.astimezone(UTC))


def format_time(at: datetime) -> str:
    """``YYYYMMDDhhmmss`` in China Standard Time (DataTime, SystemTime, BeginTime …)."""
    return _local(at).strftime("%Y%m%d%H%M%S")


def make_qn(at: datetime) -> str:
    """A request number QN: ``YYYYMMDDhhmmsszzz`` (milliseconds) in China Standard Time."""
    local = _local(at)
    return local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}"


def _local(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("a naive datetime has no defined instant; pass an aware one")
    return at.astimezone(CST)
