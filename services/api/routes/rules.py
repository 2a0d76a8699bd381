"""The loaded rule pack, and validation of a rule file before it is deployed."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from services.api.auth import Principal, audit, require
from services.api.deps import DbConn
from services.api.problems import RESPONSES, ApiError
from services.rules import RuleBase, RuleError, load_rules
from services.rules.dry_run import DryRunError, dry_run

router = APIRouter(prefix="/api/v1", tags=["rules"], responses=RESPONSES)


class RuleSummary(BaseModel):
    id: str
    kind: str
    feed: str
    severity: Literal["critical", "major", "minor", "warning"]
    title_zh: str
    title_en: str
    standard: str | None
    receivers: list[str]


class RuleFile(BaseModel):
    yaml: str = Field(max_length=1_000_000, description="the rule file's text")


class DryRun(BaseModel):
    rule_id: str | None = Field(default=None, description="a loaded rule, or give yaml")
    yaml: str | None = Field(default=None, max_length=1_000_000)
    days: int = Field(default=7, ge=1, le=31, description="the last N days")


class Transition(BaseModel):
    rule_id: str
    subject: str
    transition: Literal["firing", "resolved"]
    at: datetime
    value: float | None


class Validation(BaseModel):
    valid: bool
    rules: list[str]
    problem: str | None = None


def summary(rule: RuleBase) -> RuleSummary:
    std = f"{rule.standard.name} {rule.standard.clause}" if rule.standard else None
    return RuleSummary(
        id=rule.id, kind=str(getattr(rule, "kind", "")), feed=rule.feed,
        severity=rule.severity, title_zh=rule.title.zh, title_en=rule.title.en,
        standard=std, receivers=list(rule.receivers),
    )  # fmt: skip


@router.get("/rules", response_model=list[RuleSummary], dependencies=[Depends(require("viewer"))])
def list_rules(request: Request) -> list[RuleSummary]:
    """The rules the service evaluates."""
    return [summary(r) for r in request.app.state.rules]


@router.post("/rules/validate", response_model=Validation)
def validate_rules(
    *,
    request: Request,
    conn: DbConn,
    body: RuleFile,
    who: Annotated[Principal, Depends(require("admin"))],
) -> Validation:
    """Check a rule file as the service would load it (nothing is deployed)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules.yaml"
        path.write_text(body.yaml, "utf-8")
        try:
            rules = load_rules([path], request.app.state.registry)
        except RuleError as exc:
            result = Validation(valid=False, rules=[], problem=str(exc).replace(str(path), "file"))
        else:
            result = Validation(valid=True, rules=[r.id for r in rules])
    after: dict[str, Any] = result.model_dump()
    audit(conn, who, request, 200, after=after)
    return result


def _rules_for(request: Request, body: DryRun) -> list[RuleBase]:
    if (body.rule_id is None) == (body.yaml is None):
        raise ApiError(422, "give exactly one of rule_id and yaml")
    if body.rule_id is not None:
        found = [r for r in request.app.state.rules if r.id == body.rule_id]
        if not found:
            raise ApiError(404, f"no loaded rule {body.rule_id!r}")
        return found
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules.yaml"
        path.write_text(body.yaml or "", "utf-8")
        try:
            return load_rules([path], request.app.state.registry)
        except RuleError as exc:
            raise ApiError(422, str(exc).replace(str(path), "file")) from None


@router.post("/rules/dry-run", response_model=list[Transition])
def dry_run_rules(
    *,
    request: Request,
    conn: DbConn,
    body: DryRun,
    who: Annotated[Principal, Depends(require("admin"))],
) -> list[Transition]:
    """What a loaded rule (or the rules of a posted file) would have fired and resolved over
    the last N days of stored data. Nothing is recorded or sent."""
    end = datetime.now(UTC)
    start = end - timedelta(days=body.days)
    out: list[Transition] = []
    for rule in _rules_for(request, body):
        try:
            found = dry_run(conn, rule, request.app.state.registry, start, end)
        except DryRunError as exc:
            raise ApiError(422, str(exc)) from None
        out += [Transition(**vars(w)) for w in found]
    audit(conn, who, request, 200, before=body.model_dump(exclude={"yaml"}), after=None)
    return out
