"""Render the README's table of the default rule pack from the rule files, so it never
drifts from the rules that load. Only the text between ``<!-- rules:begin -->`` and
``<!-- rules:end -->`` is rewritten::

    .venv/bin/python tools/gen_rules_doc.py           # rewrite the table
    .venv/bin/python tools/gen_rules_doc.py --check   # exit 1 when it is stale
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

from ingest.registry import load_registry
from services.notify.routing import default_routing
from services.rules import default_pack, load_rules
from services.rules.model import Condition, RuleBase
from services.standards.targets import LEAKAGE_DEFAULT_PCT

sys.path.insert(0, str(Path(__file__).resolve().parent))
import readme_section  # the tools directory is not a package

BEGIN = "<!-- rules:begin -->"
END = "<!-- rules:end -->"


def _duration(d: timedelta) -> str:
    s = int(d.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s and s % size == 0:
            return f"{s // size} {unit}"
    return f"{s} s"


def _window(rule: RuleBase) -> str:
    w = getattr(rule, "window", None)
    kind = getattr(rule, "kind", "")
    if kind == "aqi":
        return "clock hour"
    if kind in ("stale",):
        return f"period {_duration(getattr(rule, 'period'))}"  # noqa: B009
    if kind == "online":
        return f"heartbeat within {_duration(getattr(rule, 'timeout'))}"  # noqa: B009
    if kind in {"threshold", "leak_flag"}:
        return "each reading"
    if w is None:
        return ""
    if w.type == "rolling":
        return f"rolling {_duration(w.length)}, every {_duration(w.step)}"
    if w.type == "night":
        return f"night {w.start:%H:%M}–{w.end:%H:%M}"
    return {"hour": "clock hour", "day": "local day", "month": "local month"}[w.type]


def _fmt(x: float) -> str:
    return f"{x:g}"


def _condition(rule: RuleBase) -> str:
    kind = getattr(rule, "kind", "")
    unit = f" {rule.unit}" if rule.unit and rule.unit not in ("%",) else rule.unit
    aggregate = getattr(rule, "aggregate", "")
    what = {"hourly_mean": "mean of hourly means", "max_8h_mean": "max 8-h mean"}.get(
        aggregate, aggregate
    )
    prefix = f"{what} " if what else ""
    if kind == "stale":
        return f"no data for > {getattr(rule, 'missing')} periods"  # noqa: B009
    if kind == "flatline":
        return f"spread ≤ {_fmt(getattr(rule, 'tolerance'))}{unit}"  # noqa: B009
    if kind == "night_flow":
        return f"MNF > median of last {getattr(rule, 'baseline_nights')} nights + {_fmt(getattr(rule, 'margin_pct'))} %"  # noqa: B009, E501
    if kind == "burst":
        return f"flow +{_fmt(getattr(rule, 'flow_rise_pct'))} % and pressure −{_fmt(getattr(rule, 'pressure_drop_pct'))} % vs previous {_duration(getattr(rule, 'baseline'))}"  # noqa: B009, E501
    if kind == "leak_flag":
        return "logger leak flag"
    if kind == "seq_gap":
        gap: Condition = getattr(rule, "condition")  # noqa: B009
        assert gap.threshold is not None
        return f"messages missing by seq {gap.op} {_fmt(gap.threshold)}"
    if kind == "dead_letter":
        reasons = ", ".join(getattr(rule, "reasons"))  # noqa: B009
        refusals: Condition = getattr(rule, "condition")  # noqa: B009
        assert refusals.threshold is not None
        return f"{reasons} refusals {refusals.op} {_fmt(refusals.threshold)}"
    cond: Condition | None = getattr(rule, "condition", None)
    if cond is None:  # leakage: the DMA's own target
        return f"R_WL > the DMA's target (default {_fmt(LEAKAGE_DEFAULT_PCT)} %)"
    if cond.op == "outside":
        assert cond.low is not None
        assert cond.high is not None
        return f"{prefix}outside {_fmt(cond.low)}–{_fmt(cond.high)}{unit}"
    if cond.limits:
        parts = [
            f"{_fmt(x.threshold)}{unit} ({x.edition}{', from ' + str(x.valid_from) if x.valid_from else ''})"  # noqa: E501
            for x in cond.limits
        ]
        return f"{prefix}{cond.op} " + " / ".join(parts)
    text = f"{prefix}{cond.op} {_fmt(cond.threshold or 0)}{unit}"
    for w in cond.when:
        text += f" ({_fmt(w.threshold)}{unit} while {w.measure} {w.op} {_fmt(w.value)})"
    return text


def _hold(rule: RuleBase) -> str:
    parts = []
    if rule.hold.windows > 1:
        parts.append(f"{rule.hold.windows} windows")
    if rule.hold.duration:
        parts.append(_duration(rule.hold.duration))
    hold = " and ".join(parts) or "—"
    clear = []
    if rule.clear.level is not None:
        clear.append(f"past {_fmt(rule.clear.level)}")
    if rule.clear.windows > 1:
        clear.append(f"{rule.clear.windows} windows")
    if rule.clear.hold:
        clear.append(_duration(rule.clear.hold))
    return f"{hold} / {', '.join(clear) or 'first clean window'}"


def render() -> str:
    rules = load_rules(default_pack(), load_registry())
    routing = default_routing()
    out = [
        "| rule | what | standard and clause | condition | window | hold / clear"
        " | severity | receivers |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in sorted(rules, key=lambda r: (r.feed, r.id)):
        receivers = routing.receivers_for(r.feed, r.id, r.severity, None)
        receivers += [x for x in r.receivers if x not in receivers]
        standard = f"{r.standard.name} {r.standard.clause}" if r.standard else "—"
        cells = [
            f"`{r.id}`",
            f"{r.title.zh}<br>{r.title.en}",
            standard,
            _condition(r),
            _window(r),
            _hold(r),
            r.severity,
            ", ".join(receivers) or "—",
        ]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    args = parser.parse_args(argv)
    section = render()
    if args.check:
        if readme_section.current(BEGIN, END) != section:
            print("README.md: the default rule pack table is stale; run tools/gen_rules_doc.py")
            return 1
        print("README.md: the default rule pack table is up to date")
        return 0
    changed = readme_section.write(section, BEGIN, END)
    print(f"README.md: {'rewrote' if changed else 'unchanged'} ({section.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
