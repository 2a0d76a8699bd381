"""The scenario file of ``envmon rules test``: what to replay and the alerts expected.

A scenario file names a stretch of measurement time, the devices and feeds to simulate,
the simulator scenarios to overlay (with their targets and times), the rules under test,
operator actions, and the exact alert transitions and notifications expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from ingest.feeds import FEED_NAMES, FeedName
from ingest.registry import Registry
from services.rules.model import Duration


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Overlay(_Model):
    name: str
    targets: tuple[str, ...] = ()
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    params: dict[str, float] = Field(default_factory=dict)


class Action(_Model):
    """An operator action at a moment of the replay."""

    at: AwareDatetime
    action: Literal["acknowledge", "resolve"]
    rule: str
    subject: str
    who: str = "duty-officer"
    comment: str = ""


class Transition(_Model):
    at: AwareDatetime
    rule: str
    subject: str
    transition: Literal["firing", "acknowledged", "resolved"]


class Sent(_Model):
    rule: str
    subject: str
    transition: Literal["firing", "resolved"]
    receiver: str


class Expect(_Model):
    transitions: tuple[Transition, ...] = ()
    notifications: tuple[Sent, ...] = ()


class ScenarioFile(_Model):
    name: str
    description: str = ""
    seed: int = 0
    start: AwareDatetime
    duration: Duration
    step: Duration = timedelta(minutes=1)
    feeds: tuple[FeedName, ...] = FEED_NAMES
    devices: tuple[str, ...] = Field(
        default=(), description="registry subset: plant, station, DMA or intersection ids"
    )
    scenarios: tuple[Overlay, ...] = ()
    malformed_rate: float = 0.0
    rules: tuple[str, ...] = Field(default=(), description="rule ids under test; default all")
    restart_every: Duration | None = None
    actions: tuple[Action, ...] = ()
    expect: Expect = Expect()


class ScenarioError(ValueError):
    pass


def load_scenario(path: Path) -> ScenarioFile:
    try:
        return ScenarioFile.model_validate(yaml.safe_load(path.read_text("utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise ScenarioError(f"{path}: {problems}") from None


def subset(registry: Registry, ids: Sequence[str]) -> Registry:
    """The registry cut down to the named sites (with their meters, loggers and RSUs)."""
    if not ids:
        return registry
    try:
        return registry.restricted_to(set(ids))
    except ValueError as exc:
        raise ScenarioError(f"devices: {exc}") from None


@dataclass
class Outcome:
    transitions: list[Transition]
    notifications: list[Sent]

    def differences(self, expect: Expect) -> list[str]:
        out = []
        want_t, got_t = list(expect.transitions), self.transitions
        if want_t != got_t:
            out.append("transitions differ:")
            out += [f"  - expected {t.model_dump(mode='json')}" for t in want_t if t not in got_t]
            out += [f"  + got      {t.model_dump(mode='json')}" for t in got_t if t not in want_t]
            if sorted(map(str, want_t)) == sorted(map(str, got_t)):
                out.append("  (same transitions, different order)")
        want_n, got_n = sorted(expect.notifications, key=str), sorted(self.notifications, key=str)
        if want_n != got_n:
            out.append("notifications differ:")
            out += [f"  - expected {n.model_dump(mode='json')}" for n in want_n if n not in got_n]
            out += [f"  + got      {n.model_dump(mode='json')}" for n in got_n if n not in want_n]
        return out

    def as_yaml(self) -> str:
        """The outcome as an ``expect:`` block (to write a new scenario file)."""
        body = {
            "expect": {
                "transitions": [t.model_dump(mode="json") for t in self.transitions],
                "notifications": [n.model_dump(mode="json") for n in self.notifications],
            }
        }
        return yaml.safe_dump(body, allow_unicode=True, sort_keys=False)
