"""What the evaluators, the engine and their callers share: subjects and observations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.rules.state import Verdict


@dataclass(frozen=True)
class Subject:
    """What an alert is about: one device, or a group (DMA, intersection, district)."""

    id: str
    name_zh: str
    name_en: str
    area: str | None
    devices: tuple[str, ...]
    params: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Observation:
    """One evaluation of a subject: the verdict and the evidence it rests on."""

    subject: str
    verdict: Verdict
    evidence: dict[str, Any]
    ready: bool = True  # False: the window is not complete yet; ask again later


__all__ = ["Observation", "Subject", "Verdict"]
