"""What every payload carries, and how a feed declares its message kinds."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

SCHEMA_VERSION = 1
# The district's local time: calendar days (billing, daily rollups) are days here.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
ENVELOPE_FIELDS = ("v", "ts", "seq", "flags")
# An instrument's data flag (HJ 212-2017 Table 8). Only N (or no flag) is a valid value
# for compliance statistics.
DataFlag = Literal["N", "F", "M", "S", "D", "C", "T", "B"]
DATA_FLAGS: dict[str, str] = {
    "N": "normal",
    "F": "instrument stopped",
    "M": "maintenance",
    "S": "manually entered value",
    "D": "instrument fault",
    "C": "calibration",
    "T": "above the measuring range",
    "B": "analyser to data-logger communication fault",
}
VALID_FLAG = "N"
# The feeds, in the order lists, filters and dropdowns show them; each has a module in this
# package, registered in ``ingest.feeds.FEEDS`` (which checks the two agree).
FeedName = Literal["wastewater", "air", "water", "v2x"]


class Payload(BaseModel):
    """Fields common to every message: schema version, device time, sequence number.

    Measurement fields name their unit in a suffix (``_mgl`` = mg/L, ``_ugm3`` = µg/m³,
    ``_mgm3`` = mg/m³, ``_m3h`` = m³/h, ``_m3`` = m³, ``_kpa``, ``_db``, ``_c`` = °C,
    ``_pct`` = %, ``_ms`` = m/s, ``_deg`` = degrees).
    """

    # strict: JSON types exactly as documented ("12.5" is not a number, true not an integer)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)

    v: Literal[1] = Field(description="schema version")
    ts: AwareDatetime = Field(description="device time of the sample, ISO 8601 with offset")
    seq: int = Field(ge=0, le=2**63 - 1, description="per-device sequence number")
    flags: dict[str, DataFlag] | None = Field(
        default=None,
        description="data flag of a measure, by field name (HJ 212-2017 Table 8: "
        + ", ".join(f"{k} {v}" for k, v in DATA_FLAGS.items())
        + "); a measure without one is N",
    )

    @field_validator("v", mode="before")
    @classmethod
    def _version_is_no_boolean(cls, v: object) -> object:
        if isinstance(v, bool):  # true == 1 would pass the literal
            raise PydanticCustomError("version_type", "the schema version is the integer 1")
        return v

    @model_serializer(mode="wrap")
    def _without_empty_flags(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        if out.get("flags", ()) is None:  # most messages carry none: not sent at all
            del out["flags"]
        return out

    @model_validator(mode="after")
    def _flags_name_measures(self) -> Payload:
        if self.flags:
            unknown = sorted(set(self.flags) - set(fields_of(type(self))))
            if unknown:
                raise ValueError(f"flags for fields this message does not have: {unknown}")
        return self


def Measure(lo: float, hi: float, description: str) -> Any:  # noqa: N802 - reads as a type
    """A measurement field with its physically possible range (outside = impossible)."""
    return Field(ge=lo, le=hi, description=description)


def OptionalMeasure(lo: float, hi: float, description: str) -> Any:  # noqa: N802
    """A measurement a device may omit or send as null (e.g. an analyser offline)."""
    return Field(default=None, ge=lo, le=hi, description=description)


_SQL_TYPES: dict[type, str] = {
    bool: "boolean",
    int: "bigint",
    float: "double precision",
    str: "text",
    datetime: "timestamptz",
    date: "date",
}


def _sql_type(annotation: Any) -> str:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _sql_type(args[0])
    if origin is Literal:
        return _SQL_TYPES[type(args[0])]
    if origin is typing.Annotated:
        return _sql_type(args[0])
    if annotation is AwareDatetime:
        return "timestamptz"
    if annotation in _SQL_TYPES:
        return _SQL_TYPES[annotation]
    raise TypeError(f"no SQL type for {annotation!r}")


def fields_of(model: type[Payload], *, exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The model's own fields (not the envelope), in order."""
    return tuple(n for n in model.model_fields if n not in ENVELOPE_FIELDS + exclude)


@dataclass(frozen=True)
class Aggregates:
    """What the hourly/daily rollups of a kind keep: averaged measures (with min, max
    and count), flags (share of true) and counters (sums). See ingest/storage/rollups.py."""

    measures: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    counters: tuple[str, ...] = ()


@dataclass(frozen=True)
class Kind:
    """One message kind of a feed: topic segment, payload model, table, device types."""

    feed: FeedName
    name: str
    model: type[Payload]
    table: str
    device_types: frozenset[str]
    rollup: Aggregates | None = None  # what its rollups keep
    # seq counts each message of this kind by one, so a jump is loss (not for events)
    counted: bool = True

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """Payload columns stored after device_id, ts, seq, in model order."""
        return fields_of(self.model)

    @cached_property
    def sql_types(self) -> tuple[str, ...]:
        fields = self.model.model_fields
        return tuple(_sql_type(fields[c].annotation) for c in self.columns)

    @cached_property
    def numeric_columns(self) -> tuple[str, ...]:
        """Columns that hold a number (or a flag): what rules and series can measure."""
        return tuple(
            c
            for c, t in zip(self.columns, self.sql_types, strict=True)
            if t in ("double precision", "bigint", "boolean")
        )

    def row(self, payload: Payload) -> tuple[Any, ...]:
        return tuple(getattr(payload, c) for c in self.columns)


@dataclass(frozen=True)
class Feed:
    name: FeedName
    kinds: tuple[Kind, ...]

    def kind(self, name: str) -> Kind | None:
        for k in self.kinds:
            if k.name == name:
                return k
        return None
