"""Thresholds a rule file takes from ``services.standards`` instead of writing the numbers.

A condition's ``limits`` may name a table entry; at load it becomes the numbers of that
entry, so a rule and the dashboards never disagree about a standard::

    condition: {op: ">", limits: {table: gb3095, pollutant: pm25, averaging: 24h}}
    condition: {op: ">", limits: {table: gb18918, item: nh3n, temperature: water_temp_c}}
    condition: {op: outside, limits: {table: gb18918, item: ph}}
    condition: {op: "<", limits: {table: targets, target: treatment_rate_pct}}

gb3095 gives the limits by date (grade: the district's unless given); gb18918 the daily
maximum of the district's class (an item with a cold-water limit names the temperature
measure that selects it); targets one of the district's targets.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from services.standards import gb3095, gb18918
from services.standards.targets import TARGETS, Target


class _Ref(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Gb3095Ref(_Ref):
    table: Literal["gb3095"]
    pollutant: gb3095.Pollutant
    averaging: gb3095.Averaging
    grade: gb3095.Grade = gb3095.DISTRICT_GRADE


class Gb18918Ref(_Ref):
    table: Literal["gb18918"]
    item: Literal[gb18918.Item, "ph"]
    class_: gb18918.Class = Field(default=gb18918.DISTRICT_CLASS, alias="class")
    temperature: str | None = Field(
        default=None, description="the water temperature measure, for a cold-water limit"
    )


class TargetRef(_Ref):
    table: Literal["targets"]
    target: Target


TableRef = Annotated[Gb3095Ref | Gb18918Ref | TargetRef, Field(discriminator="table")]
_REF: TypeAdapter[TableRef] = TypeAdapter(TableRef)
_NUMBERS = ("threshold", "low", "high", "when")


def resolve(condition: dict[str, Any]) -> dict[str, Any]:
    """The condition with its ``limits`` table reference replaced by the entry's numbers."""
    try:
        ref = _REF.validate_python(condition["limits"])
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"limits: {reasons}") from None
    if given := [k for k in _NUMBERS if condition.get(k) is not None]:
        raise ValueError(f"limits from table {ref.table} set the numbers; drop {', '.join(given)}")
    outside = condition.get("op") == "outside"
    numbers = _numbers(ref)
    if outside != ("low" in numbers):
        what = "a single limit cannot take" if outside else "a range needs"
        raise ValueError(f"{what} op 'outside': limits from {ref.table} give {numbers}")
    return {**condition, "limits": numbers.pop("limits", ()), **numbers}


def _numbers(ref: Gb3095Ref | Gb18918Ref | TargetRef) -> dict[str, Any]:
    if isinstance(ref, TargetRef):
        return {"threshold": TARGETS[ref.target]}
    if isinstance(ref, Gb3095Ref):
        limits = gb3095.limits_by_date(ref.pollutant, ref.averaging, ref.grade)
        return {
            "limits": tuple(
                {"threshold": x.threshold, "from": x.valid_from, "edition": x.edition}
                for x in limits
            )
        }
    if ref.item == "ph":
        low, high = gb18918.PH_RANGE
        return {"low": low, "high": high}
    numbers: dict[str, Any] = {"threshold": gb18918.maximum(ref.item, ref.class_)}
    cold = gb18918.cold_maximum(ref.item, ref.class_)
    if (cold is None) != (ref.temperature is None):
        raise ValueError(
            f"{ref.item} has a limit for water at or below {gb18918.COLD_WATER_C:g} °C:"
            " name the water temperature measure (temperature: ...)"
            if cold is not None
            else f"{ref.item} has no cold-water limit: drop temperature"
        )
    if cold is not None:
        cold_water = {"measure": ref.temperature, "op": "<=", "value": gb18918.COLD_WATER_C}
        numbers["when"] = ({**cold_water, "threshold": cold},)
    return numbers
