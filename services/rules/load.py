"""Loading rule files: YAML → validated rules, checked against the feeds and the registry."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from ingest.feeds import FEEDS, kind_for
from ingest.registry.model import Registry
from services.rules.model import Rule, RuleBase, message_of

_RULE: TypeAdapter[Rule] = TypeAdapter(Rule)


class RuleError(ValueError):
    """A rule file that cannot be used; says which file, which rule and why."""

    def __init__(self, file: str, rule_id: str | None, reason: str) -> None:
        self.file, self.rule_id, self.reason = file, rule_id, reason
        where = f"{file}: rule {rule_id}" if rule_id else file
        super().__init__(f"{where}: {reason}")


def default_pack() -> list[Path]:
    """The packaged default rule pack, one file per feed."""
    root = resources.files("services.rules").joinpath("packs")
    return sorted(Path(str(p)) for p in root.iterdir() if p.name.endswith(".yaml"))


def _entries(path: Path) -> list[Any]:
    try:
        doc = yaml.safe_load(path.read_text("utf-8"))
    except OSError as exc:
        raise RuleError(str(path), None, f"cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise RuleError(str(path), None, f"not valid YAML{line}") from None
    if isinstance(doc, dict) and isinstance(doc.get("rules"), list):
        return list(doc["rules"])
    raise RuleError(str(path), None, "expected a mapping with a list under 'rules'")


def _pydantic_reason(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors()[:5]:
        loc = ".".join(str(x) for x in e["loc"] if not str(x).endswith("Rule"))
        parts.append(f"{loc}: {e['msg']}" if loc else str(e["msg"]))
    return "; ".join(parts)


def check_references(rule: RuleBase, registry: Registry) -> None:
    """Unknown message kind, measure, device, area or device type → ValueError."""
    message = message_of(rule)
    kind = kind_for(rule.feed, message)
    if kind is None:
        valid = ", ".join(k.name for k in FEEDS[rule.feed].kinds)
        raise ValueError(f"feed {rule.feed} has no message kind {message!r} (valid: {valid})")
    measures = [getattr(rule, "measure", None)]
    measures += list(getattr(rule, "numerator", ())) + list(getattr(rule, "denominator", ()))
    cond = getattr(rule, "condition", None)
    measures += [w.measure for w in cond.when] if cond is not None else []
    for m in measures:
        if m is not None and m not in kind.numeric_columns:
            valid = ", ".join(kind.numeric_columns)
            raise ValueError(f"{rule.feed}/{message} has no numeric measure {m!r} (valid: {valid})")
    devices = {d.device_id: d for d in registry.devices() if d.feed == rule.feed}
    if rule.feed == "water":  # DMA rules name DMAs
        devices |= {d.id: None for d in registry.dmas}  # type: ignore[misc]
    unknown = sorted(set(rule.devices.ids) - set(devices))
    if unknown:
        raise ValueError(f"unknown {rule.feed} devices {unknown[:10]}")
    areas = {a.code for a in registry.areas}
    if bad := sorted(set(rule.devices.areas) - areas):
        raise ValueError(f"unknown areas {bad} (valid: {', '.join(sorted(areas))})")
    types = {t for k in FEEDS[rule.feed].kinds for t in k.device_types}
    if bad := sorted(set(rule.devices.types) - types):
        raise ValueError(
            f"unknown {rule.feed} device types {bad} (valid: {', '.join(sorted(types))})"
        )


def load_rules(paths: Iterable[Path], registry: Registry) -> list[RuleBase]:
    """Every rule of the files, validated; the first problem raises RuleError."""
    rules: list[RuleBase] = []
    seen: dict[str, str] = {}
    for path in paths:
        for i, entry in enumerate(_entries(path)):
            rule_id = entry.get("id") if isinstance(entry, dict) else None
            label = str(rule_id) if rule_id else f"#{i + 1}"
            try:
                rule: RuleBase = _RULE.validate_python(entry)
            except ValidationError as exc:
                raise RuleError(str(path), label, _pydantic_reason(exc)) from None
            try:
                check_references(rule, registry)
            except ValueError as exc:
                raise RuleError(str(path), label, str(exc)) from None
            if rule.id in seen:
                raise RuleError(str(path), label, f"id already used in {seen[rule.id]}")
            seen[rule.id] = str(path)
            rules.append(rule)
    return rules


def check_files(paths: Sequence[Path], registry: Registry) -> list[str]:
    """Problems of each file, checked independently (for ``envmon rules check``)."""
    problems = []
    for path in paths:
        try:
            load_rules([path], registry)
        except RuleError as exc:
            problems.append(str(exc))
    return problems
