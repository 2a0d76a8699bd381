"""Render the README's wire-contract section from the code, so it never drifts.

Everything comes from ``ingest``: the payload models of every feed and message kind (field
types, ranges, descriptions), the topic scheme, the dead-letter reason codes (with the
comments in ``ingest/reasons.py``), and example payloads made by ``simulators`` for real
registry devices at a fixed time. Only the text between ``<!-- contract:begin -->`` and
``<!-- contract:end -->`` in ``README.md`` is rewritten::

    .venv/bin/python tools/gen_contract_doc.py           # rewrite the section
    .venv/bin/python tools/gen_contract_doc.py --check   # exit 1 when it is stale
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
import types
import typing
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import AwareDatetime
from pydantic.fields import FieldInfo

from ingest import reasons
from ingest.edge import DEAD_KIND, EDGE_FEED
from ingest.feeds import FEEDS, SCHEMA_VERSION, Kind, Payload
from ingest.feeds._base import ENVELOPE_FIELDS
from ingest.gateway.reasons import Refusal
from ingest.hj212.reasons import Fault
from ingest.registry.model import Registry
from ingest.registry.store import load_registry
from ingest.settings import IngestSettings
from ingest.topics import DEFAULT_ROOT, DEVICE_ID, parse_topic, topic_for
from simulators.district import SIMULATORS

sys.path.insert(0, str(Path(__file__).resolve().parent))
import readme_section  # the tools directory is not a package

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN = "<!-- contract:begin -->"
END = "<!-- contract:end -->"
COMMAND = "python tools/gen_contract_doc.py"

# Examples are sampled at this device time (local time of the district, UTC+8).
LOCAL_TZ = timezone(timedelta(hours=8))
EXAMPLE_TS = datetime(2026, 6, 1, 10, 0, tzinfo=LOCAL_TZ)
EXAMPLE_SEED = 0
# How far to look for the first message of an event-driven kind (no periodic slot).
EVENT_SEARCH = timedelta(days=2)

# Unit suffixes of measurement field names (see ``Payload``), longest match first.
UNIT_SUFFIXES: dict[str, str] = {
    "_mgl": "mg/L",
    "_ugm3": "µg/m³",
    "_mgm3": "mg/m³",
    "_m3h": "m³/h",
    "_m3": "m³",
    "_kpa": "kPa",
    "_db": "dB",
    "_c": "°C",
    "_pct": "%",
    "_ms": "m/s",
    "_deg": "degrees",
    "_s": "s",
}

_JSON_TYPES: dict[Any, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    date: "string (date `YYYY-MM-DD`)",
    AwareDatetime: "string (ISO 8601 date-time with offset)",
}

_PLACEHOLDERS = re.compile(r"(?<!`)(?:<\w+>/?)+(?!`)")
_REASON_LINE = re.compile(r'^\s+[A-Z][A-Z0-9_]*\s*=\s*"(?P<code>[^"]+)"\s*#\s*(?P<meaning>.+)$')


# --- fields -----------------------------------------------------------------------------


def unit_of(name: str) -> str:
    for suffix in sorted(UNIT_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return UNIT_SUFFIXES[suffix]
    return ""


def json_type(annotation: Any) -> str:
    """How a field's annotation looks on the wire."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return json_type(inner[0])
    if origin is typing.Annotated:
        return json_type(args[0])
    if origin is dict:
        return f"object: field name → {json_type(args[1])}"
    if origin is Literal:
        base = _JSON_TYPES[type(args[0])]
        if len(args) == 1:
            return f"{base}, always `{json.dumps(args[0])}`"
        return f"{base}, one of " + ", ".join(f"`{json.dumps(a)}`" for a in args)
    if annotation in _JSON_TYPES:
        return _JSON_TYPES[annotation]
    raise TypeError(f"no JSON type for {annotation!r}")


def _num(x: object) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def value_range(info: FieldInfo) -> str:
    """The range ``min`` to ``max`` from the ge/gt/le/lt constraints, or the pattern."""
    lo = hi = pattern = ""
    for m in info.metadata:
        if isinstance(m, annotated_types.Ge):
            lo = _num(m.ge)
        elif isinstance(m, annotated_types.Gt):
            lo = f"> {_num(m.gt)}"
        elif isinstance(m, annotated_types.Le):
            hi = _num(m.le)
        elif isinstance(m, annotated_types.Lt):
            hi = f"< {_num(m.lt)}"
        elif isinstance(getattr(m, "pattern", None), str):
            pattern = f"matches `{m.pattern}`"
    if lo and hi:
        return f"{lo} \N{EN DASH} {hi}"
    if lo:
        return lo if lo.startswith(">") else f"≥ {lo}"
    if hi:
        return hi if hi.startswith("<") else f"≤ {hi}"
    return pattern


def _cell(text: str) -> str:
    """A table cell: pipes escaped, ``<placeholders>`` as code (not HTML tags)."""
    text = _PLACEHOLDERS.sub(lambda m: f"`{m[0]}`", text.replace("|", "\\|"))
    return text.replace("\n", " ") or "—"


def field_table(model: type[Payload], names: tuple[str, ...]) -> list[str]:
    rows = [
        "| field | type | unit | range | required | description |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        info = model.model_fields[name]
        required = "yes" if info.is_required() else "no (omit or `null`)"
        cells = (
            f"`{name}`",
            json_type(info.annotation),
            unit_of(name),
            value_range(info),
            required,
            info.description or "",
        )
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return rows


# --- examples ---------------------------------------------------------------------------


def _local_times(payload: Payload) -> Payload:
    """The payload with every date-time shown at the district's offset (as devices send)."""
    update = {
        name: value.astimezone(LOCAL_TZ)
        for name in type(payload).model_fields
        if isinstance(value := getattr(payload, name), datetime)
    }
    return payload.model_copy(update=update)


def _covers_a_day(model: type[Payload]) -> bool:
    return any(f.annotation is date for f in model.model_fields.values())


def example(registry: Registry, kind: Kind) -> tuple[str, Payload]:
    """A real device of ``kind`` and the payload the simulator makes it send."""
    sim = SIMULATORS[kind.feed](registry, EXAMPLE_SEED, (), DEFAULT_ROOT)
    devices = [d for d, k in sim.slots() if k == kind.name]
    if devices:
        # A day's aggregate carries the start of the local day it covers as ``ts``.
        ts = EXAMPLE_TS
        if _covers_a_day(kind.model):
            ts = ts.replace(hour=0, minute=0, second=0, microsecond=0)
        payload = sim.sample(devices[0], kind.name, ts, 1)
    else:  # event-driven: the first such message the simulator sends after EXAMPLE_TS
        device, payload = _first_event(sim.messages(EXAMPLE_TS, EXAMPLE_TS + EVENT_SEARCH), kind)
        devices = [device]
    if not isinstance(payload, kind.model):
        raise TypeError(f"{kind.feed}/{kind.name}: simulator sent {type(payload).__name__}")
    return devices[0], _local_times(payload)


def _first_event(messages: Iterator[Any], kind: Kind) -> tuple[str, Payload]:
    for m in messages:
        parts = parse_topic(m.topic)
        if parts is not None and parts.kind == kind.name:
            return parts.device_id, kind.model.model_validate_json(m.payload)
    raise LookupError(f"the {kind.feed} simulator sent no {kind.name!r} in {EVENT_SEARCH}")


def example_json(payload: Payload) -> str:
    return json.dumps(json.loads(payload.model_dump_json()), indent=2, ensure_ascii=False)


# --- dead letters -----------------------------------------------------------------------


def reason_meanings(enum: type[StrEnum] = reasons.Reason) -> dict[str, str]:
    """Reason code → the trailing comment of its line in the enum's source."""
    found: dict[str, str] = {}
    for line in inspect.getsource(enum).splitlines():
        if m := _REASON_LINE.match(line):
            found[m["code"]] = m["meaning"].strip()
    codes = [r.value for r in enum]
    missing = [c for c in codes if c not in found]
    if missing:
        raise ValueError(f"{enum.__module__}: no trailing comment for {missing}")
    return {c: found[c] for c in codes}


# --- the section ------------------------------------------------------------------------


def _summary(obj: object) -> str:
    """First paragraph of a docstring, reST literals as Markdown code."""
    doc = inspect.getdoc(obj) or ""
    return " ".join(doc.split("\n\n")[0].split()).replace("``", "`")


def _duration(seconds: float) -> str:
    if seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{_num(seconds)} seconds"


def _common(topic: str) -> list[str]:
    tolerance = IngestSettings.model_fields["future_tolerance_s"].default
    max_age = timedelta(days=IngestSettings.model_fields["max_age_days"].default)
    suffixes = ", ".join(f"`{s}` {u}" for s, u in UNIT_SUFFIXES.items())
    return [
        "## Wire contract",
        "",
        f"<!-- generated by `{COMMAND}` from ingest/ and simulators/; do not edit by hand -->",
        "",
        f"- **Topic** `{topic}`; `<feed>` is one of "
        + ", ".join(f"`{f}`" for f in FEEDS)
        + f", `<device_id>` is the device's registry id (matches `{DEVICE_ID.pattern}`)"
        " and a device publishes only under its own id.",
        "- **QoS 1** (at least once). Payload: one UTF-8 JSON object.",
        f"- **Common fields** in every payload: `v` (schema version, `{SCHEMA_VERSION}`),"
        " `ts` (device time of the sample, ISO 8601 with offset, e.g."
        f" `{EXAMPLE_TS.isoformat()}`; stored as UTC), `seq` (per-device sequence number,"
        " counting up, so loss and duplicates can be detected).",
        f"- **Units** are named by the field-name suffix: {suffixes}.",
        "- **Strict**: unknown fields are rejected (`extra=forbid`); JSON types exactly as"
        ' documented (`"12.5"` is not a number, `true` is not an integer, `14.0` is not'
        " a sequence number); a key given twice is rejected; optional measures may be"
        " omitted or sent as `null`; `NaN` and `±Infinity` are rejected; a value outside its"
        " range is physically impossible and rejected.",
        "- **Idempotent**: (device, `ts`) is the key, so resending the same reading is"
        " harmless: the first message stored for a key wins, a later identical one is counted"
        " as a duplicate. A later one with *other* values is not a resend: it is kept as a"
        " `conflicting_duplicate` dead letter naming each differing field, stored value and"
        " new one.",
        f"- **Clock**: a `ts` more than {_duration(tolerance)} ahead of the collector's clock"
        f" is rejected, and one more than {max_age.days} days behind it"
        " (`ENVMON_INGEST__MAX_AGE_DAYS`; a clock reset to 1970 is not a reading).",
        "- A rejected message is not retried: it is stored as a dead letter (see below).",
        "",
        *field_table(Payload, ENVELOPE_FIELDS),
    ]


def _kind(registry: Registry, kind: Kind) -> list[str]:
    device, payload = example(registry, kind)
    model_doc = kind.model.__doc__ or ""
    note = [f"Note: {_summary(kind.model)}", ""] if model_doc else []
    types_ = ", ".join(f"`{t}`" for t in sorted(kind.device_types))
    return [
        f"**`{kind.name}`**: topic `{topic_for(kind.feed, '<device_id>', kind.name)}`,"
        f" published by {types_}.",
        "",
        *note,
        *field_table(kind.model, kind.columns),
        "",
        f"Example from `{device}`:",
        "",
        "```json",
        example_json(payload),
        "```",
        "",
    ]


def render(registry: Registry | None = None) -> str:
    """The section between the markers (without them), ending with a newline."""
    registry = registry if registry is not None else load_registry()
    topic = topic_for("<feed>", "<device_id>", "<kind>")
    out = [*_common(topic), ""]
    for feed in FEEDS.values():
        out += [f"### {feed.name}", "", _summary(sys.modules[feed.kinds[0].model.__module__]), ""]
        for kind in feed.kinds:
            out += _kind(registry, kind)
    out += [
        "### Dead letters",
        "",
        "What the collector cannot accept is acknowledged and stored in the `dead_letter`"
        " table with the raw payload, the topic, a reason code and a detail message.",
        "",
        "| reason | meaning |",
        "|---|---|",
        *(f"| `{code}` | {_cell(text)} |" for code, text in reason_meanings().items()),
        "",
        "The HJ 212 gateway publishes what it refuses to"
        f" `{topic_for(EDGE_FEED, '<gateway_id>', DEAD_KIND)}`; the collector stores it the same"
        " way, with the bytes the data logger sent, the MN where readable and one of these"
        " reasons (a refused upload gets no 9014, so the logger sends it again):",
        "",
        "| reason | meaning |",
        "|---|---|",
        *(
            f"| `{code}` | {_cell(text)} |"
            for enum in (Fault, Refusal)
            for code, text in reason_meanings(enum).items()
        ),
    ]
    return "\n".join(out) + "\n"


# --- README -----------------------------------------------------------------------------


def _split(text: str) -> tuple[str, str, str]:
    return readme_section.split(text, BEGIN, END)


def current_section(readme: Path = README) -> str:
    return readme_section.current(BEGIN, END, readme)


def write_section(section: str, readme: Path = README) -> bool:
    return readme_section.write(section, BEGIN, END, readme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    section = render()
    if args.check:
        if current_section(args.readme) != section:
            print(f"{args.readme}: wire-contract section is stale; run {COMMAND}")
            return 1
        print(f"{args.readme}: wire-contract section is up to date")
        return 0
    changed = write_section(section, args.readme)
    lines = section.count("\n")
    print(f"{args.readme}: {'rewrote' if changed else 'unchanged'} ({lines} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
