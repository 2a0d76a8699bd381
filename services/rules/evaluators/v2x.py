"""C-V2X: the share of RSUs online per intersection and for the whole district."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from ingest.registry.model import Registry
from services.rules.evaluators._base import Conn, Evaluator, selected
from services.rules.model import OnlineRule
from services.rules.types import Observation, Subject
from services.rules.windows import Span
from services.statistics.v2x import online_since


class OnlineEvaluator(Evaluator[OnlineRule]):
    mode = "clock"

    def __init__(self, rule: OnlineRule, registry: Registry) -> None:
        super().__init__(rule, registry)
        self._online: dict[str, datetime] = {}  # the latest evaluation's, by heartbeat time

    def make_subjects(self, registry: Registry) -> list[Subject]:
        rsus = selected(self.rule, registry)
        if not rsus:
            return []  # no RSU registered (yet): nothing to judge
        if self.rule.group == "district":
            return [
                Subject(
                    "district",
                    "柳东新区",
                    "Liudong New District",
                    None,
                    tuple(r.device_id for r in rsus),
                )
            ]
        members: dict[str, list[str]] = {}
        for r in rsus:
            assert r.parent_id is not None
            members.setdefault(r.parent_id, []).append(r.device_id)
        return [
            Subject(i.id, i.name_zh, i.name_en, i.area, tuple(members[i.id]))
            for i in registry.intersections
            if i.id in members
        ]

    @property
    def window_length(self) -> timedelta:
        return self.rule.timeout

    def next_change(self, observations: Sequence[Observation], now: datetime) -> datetime | None:
        """The first online RSU whose latest heartbeat ages out (new ones are new input)."""
        del observations, now
        if not self._online:
            return None
        return min(self._online.values()) + self.rule.timeout

    def evaluate(
        self, conn: Conn, span: Span, subjects: Sequence[Subject], now: datetime
    ) -> list[Observation]:
        devices = [d for s in subjects for d in s.devices]
        self._online = online_since(conn, devices, now - self.rule.timeout, now)
        up = set(self._online)
        window = Span(now - self.rule.timeout, now)
        out = []
        for s in subjects:
            online = [d for d in s.devices if d in up]
            rate = 100.0 * len(online) / len(s.devices)
            offline = sorted(set(s.devices) - up)
            evidence = {
                "online": len(online),
                "registered": len(s.devices),
                "offline": offline[:50],
            }
            out.append(self.threshold_verdict(s, window, rate, evidence))
        return out
