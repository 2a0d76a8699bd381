"""What a notification says, independent of the channel that carries it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Transition = Literal["firing", "resolved"]
Language = Literal["zh", "en"]


@dataclass(frozen=True)
class SubjectLine:
    """One alerting subject (a device, plant, DMA, intersection, the district)."""

    subject: str  # id, e.g. "wwtp-guantang", "dma-03", "ix-042", "district"
    name_zh: str
    name_en: str
    area: str | None
    value: float | None  # the evaluated value (None: absence rules, e.g. offline)
    window_start: datetime  # measurement window (aware UTC)
    window_end: datetime
    detail: str = ""  # e.g. "last heartbeat 2026-11-30 10:21:05"
    ack_link: str | None = None  # acknowledges this subject's alert (firing messages)


@dataclass(frozen=True)
class Notice:
    """One message to one receiver: a rule's transition for one or more subjects.

    Several subjects when alerts of one rule and area were grouped (an area outage is one
    message listing the devices, not hundreds).
    """

    idempotency_key: str  # stable per (alert transitions, receiver): receivers dedupe on it
    receiver: str
    transition: Transition
    rule_id: str
    title_zh: str
    title_en: str
    severity: str  # "critical" | "major" | "minor" | "warning"
    feed: str
    measure_zh: str  # e.g. "出水氨氮日均值"
    measure_en: str
    unit: str  # e.g. "mg/L", "µg/m³", "%", "" (count)
    limit: str  # e.g. "> 5 mg/L (水温 ≤ 12 °C 时 8)"
    standard: str  # e.g. "GB 18918-2002"
    clause: str  # e.g. "表1 一级A"
    edition: str | None  # e.g. "HJ 633-2026" when the limit depends on the date
    at: datetime  # when the transition happened (measurement time, aware)
    subjects: tuple[SubjectLine, ...]
    link: str | None = None  # the matching dashboard panel
    language: Language = "zh"
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Attachment:
    filename: str  # e.g. "air-daily-2026-11-30.pdf"
    media_type: str
    content: bytes


@dataclass(frozen=True)
class ReportNotice:
    """A scheduled report for one receiver: its headline figures, a link, its files."""

    idempotency_key: str  # stable per (schedule entry, period, receiver, channel)
    receiver: str
    report: str  # e.g. "air-daily"
    title_zh: str
    title_en: str
    period: str  # e.g. "2026-11-30", "2026-11"
    headline: tuple[str, ...]  # figures, already in the receiver's language
    files: tuple[Attachment, ...] = ()
    link: str | None = None  # the report in the API
    language: Language = "zh"
