"""Named scenarios: overlays on the normal signals of chosen devices over a time window.

A scenario run is requested by name (``"pipe-burst"``), optionally with explicit targets
(``"pipe-burst:dma-guantang-01"``). Without targets one is chosen deterministically under
the seed (``pm25-episode`` takes every station). Without explicit times it is active from
20 % to 80 % of the run window. The feed simulators read ``ActiveScenario.level``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ingest.registry.model import Registry
from simulators._signals import unit

ACTIVE_FROM, ACTIVE_TO = 0.2, 0.8  # share of the run window


class UnknownScenarioError(ValueError):
    """A scenario name (or target) that does not exist; the message lists the valid ones."""


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    target: str  # what the targets are: wwtp / air_station / dma / intersection ids
    candidates: Callable[[Registry], list[str]]
    every_target: bool = False  # True: acts on all candidates, not one
    ramp: timedelta = timedelta(0)  # build-up (and clearing) time


def _plants(r: Registry) -> list[str]:
    return sorted(s.id for s in r.wastewater if s.type == "wwtp")


def _stations(r: Registry) -> list[str]:
    return sorted(s.id for s in r.air)


def _dmas(r: Registry) -> list[str]:
    return sorted(d.id for d in r.dmas)


def _served_intersections(r: Registry) -> list[str]:
    return sorted({u.intersection for u in r.rsus})


def _devices(r: Registry) -> list[str]:
    return sorted(d.device_id for d in r.devices() if d.device_type != "dma")


def _fault(name: str, description: str) -> Scenario:
    return Scenario(name, description, "device", _devices)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "bypass",
            "a plant bypasses a large share of its influent; treated effluent flow drops",
            "wwtp",
            _plants,
            ramp=timedelta(minutes=10),
        ),
        Scenario(
            "nh3-exceedance",
            "a plant's effluent NH3-N rises to 9-14 mg/L (GB 18918 1A limit: 5)",
            "wwtp",
            _plants,
            ramp=timedelta(minutes=30),
        ),
        Scenario(
            "pm25-episode",
            "heavy pollution: every station's PM2.5 builds up to 150-250 µg/m³, PM10 along",
            "air_station",
            _stations,
            every_target=True,
            ramp=timedelta(hours=3),
        ),
        Scenario(
            "pipe-burst",
            "a main bursts in one DMA: inlet flow +40 %, pressure -30 %, its leak loggers loud",
            "dma",
            _dmas,
        ),
        Scenario(
            "rsu-outage",
            "every RSU of one intersection goes dark: no heartbeats, counters or events",
            "intersection",
            _served_intersections,
        ),
        Scenario(
            "o3-episode",
            "photochemical smog: every station's O3 builds up to 200-260 µg/m³",
            "air_station",
            _stations,
            every_target=True,
            ramp=timedelta(hours=2),
        ),
        Scenario(
            "pc5-fault",
            "the RSUs of one intersection stay online but receive no BSM",
            "intersection",
            _served_intersections,
        ),
        _fault("device-silent", "a device publishes nothing"),
        _fault("device-buffered", "a device buffers its messages and sends them at the end"),
        _fault("sensor-stuck", "a device's measurements repeat one value (flat line)"),
        _fault("impossible-values", "a device sends a physically impossible value every time"),
        _fault("sensor-set", "a device reports the given values (params: measure: value)"),
        _fault(
            "sensor-calibration",
            "a device's analysers read the given values while calibrating, flagged C"
            " (params: measure: value)",
        ),
    )
}


@dataclass(frozen=True)
class ScenarioRun:
    """A request for one scenario in a run; unset fields are chosen by ``activate``.
    ``params`` are the scenario's settings (``sensor-set``, ``sensor-calibration``:
    measurement → value)."""

    name: str
    targets: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    params: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> ScenarioRun:
        """``"name"`` or ``"name:target1,target2"``."""
        name, _, targets = text.partition(":")
        return cls(name.strip(), tuple(t.strip() for t in targets.split(",") if t.strip()))


@dataclass(frozen=True)
class ActiveScenario:
    name: str
    targets: frozenset[str]
    start: datetime
    end: datetime
    ramp: timedelta = timedelta(0)
    params: Mapping[str, float] = field(default_factory=dict)

    def level(self, target: str, t: datetime) -> float:
        """0 outside ``[start, end)`` or for another target; ramps 0→1→0 at the edges."""
        if target not in self.targets or not self.start <= t < self.end:
            return 0.0
        if not self.ramp:
            return 1.0
        edge = min(t - self.start, self.end - t) / self.ramp
        return min(1.0, edge)


def scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        valid = ", ".join(sorted(SCENARIOS))
        raise UnknownScenarioError(f"unknown scenario {name!r}; valid: {valid}") from None


def resolve(requests: Sequence[str | ScenarioRun]) -> tuple[ScenarioRun, ...]:
    """Parse and check names (fail early, before any window is known)."""
    runs = tuple(ScenarioRun.parse(r) if isinstance(r, str) else r for r in requests)
    for run in runs:
        scenario(run.name)
    return runs


def default_window(t0: datetime, t1: datetime) -> tuple[datetime, datetime]:
    span = t1 - t0
    return t0 + span * ACTIVE_FROM, t0 + span * ACTIVE_TO


def activate(
    requests: Sequence[str | ScenarioRun],
    registry: Registry,
    seed: int,
    run_window: tuple[datetime, datetime],
) -> tuple[ActiveScenario, ...]:
    """Fix targets and times of the requested scenarios for a run over ``run_window``."""
    start, end = default_window(*run_window)
    out: list[ActiveScenario] = []
    for i, run in enumerate(resolve(requests)):
        spec = scenario(run.name)
        candidates = spec.candidates(registry)
        if run.targets:
            unknown = sorted(set(run.targets) - set(candidates))
            if unknown:
                raise UnknownScenarioError(
                    f"{run.name}: {unknown} are not {spec.target} ids of the registry"
                )
            targets = frozenset(run.targets)
        elif not candidates:
            raise UnknownScenarioError(f"{run.name}: the registry has no {spec.target}")
        elif spec.every_target:
            targets = frozenset(candidates)
        else:
            targets = frozenset(
                {candidates[int(unit(seed, "scenario", run.name, i) * len(candidates))]}
            )
        s, e = run.start or start, run.end or end
        ramp = min(spec.ramp, (e - s) / 4)
        out.append(ActiveScenario(run.name, targets, s, e, ramp, run.params))
    return tuple(out)
