"""Who is told about what: the notification configuration file (YAML) and route matching,
and the reports sent on a schedule.

Every route whose ``match`` fits an alert adds its receivers (deduplicated, in file order).
A match key lists accepted values (fnmatch globs allowed, e.g. ``ww-effluent-*``); all
given keys must fit; a missing key accepts anything. A receiver without channels still gets
its outbox rows (the dispatcher records them as "no channel").
"""

from __future__ import annotations

import logging
from datetime import time
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from services.notify.channels import CHANNEL_TYPES, ChannelConfig
from services.notify.notice import Language

logger = logging.getLogger(__name__)

Severity = Literal["critical", "major", "minor", "warning"]
ReceiverId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Pattern = Annotated[str, StringConstraints(min_length=1)]


class RoutingError(ValueError):
    """The notification configuration cannot be used; the message names the file and field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Receiver(_Model):
    name: str = Field(min_length=1)
    language: Language = "zh"
    channels: tuple[ChannelConfig, ...] = ()


class Match(_Model):
    """A single value is accepted where a list is expected: ``{feed: air}``."""

    feed: tuple[Pattern, ...] | None = None
    rule: tuple[Pattern, ...] | None = None
    severity: tuple[Severity, ...] | None = None
    area: tuple[Pattern, ...] | None = None

    @field_validator("feed", "rule", "severity", "area", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def fits(self, feed: str, rule_id: str, severity: str, area: str | None) -> bool:
        return (
            _any_fits(self.feed, feed)
            and _any_fits(self.rule, rule_id)
            and _any_fits(self.severity, severity)
            and _any_fits(self.area, area)
        )


class Route(_Model):
    match: Match = Match()
    receivers: tuple[ReceiverId, ...] = Field(min_length=1)


class ReportSchedule(_Model):
    """A report sent on a schedule (the report's name and formats are checked against the
    reports when the scheduler starts). Times are the district's local time."""

    id: ReceiverId | None = None  # default: the report's name
    report: ReceiverId
    at: time = time(8, 0)
    day: int | None = Field(None, ge=1, le=28)  # monthly and annual reports: day of month
    month: int | None = Field(None, ge=1, le=12)  # annual reports: month (default January)
    formats: tuple[Pattern, ...] = Field(("pdf",), min_length=1)
    receivers: tuple[ReceiverId, ...] = Field(min_length=1)
    language: Language | None = None  # default: each receiver's own

    @field_validator("at", mode="before")
    @classmethod
    def _clock_time(cls, value: Any) -> Any:
        if isinstance(value, int):  # YAML 1.1 reads an unquoted 8:00 as 480
            # pydantic reports a ValueError as the field's error; a TypeError would escape
            raise ValueError('write the time quoted, e.g. at: "08:00"')  # noqa: TRY004
        return value

    @field_validator("formats", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @property
    def key(self) -> str:
        return self.id or self.report


class RoutingConfig(_Model):
    receivers: dict[ReceiverId, Receiver] = Field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    reports: tuple[ReportSchedule, ...] = ()
    group_wait_s: float = Field(30, ge=0, le=3600)
    link_base: str | None = None  # Grafana base URL, without a trailing slash
    api_base: str | None = None  # the API's base URL, for links to scheduled reports

    @field_validator("link_base", "api_base")
    @classmethod
    def _http_base(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _known_receivers(self) -> RoutingConfig:
        for i, route in enumerate(self.routes):
            unknown = [r for r in route.receivers if r not in self.receivers]
            if unknown:
                known = ", ".join(self.receivers) or "none"
                raise ValueError(
                    f"routes.{i}.receivers: unknown receiver {', '.join(unknown)} (known: {known})"
                )
        seen: set[str] = set()
        for i, entry in enumerate(self.reports):
            unknown = [r for r in entry.receivers if r not in self.receivers]
            if unknown:
                known = ", ".join(self.receivers) or "none"
                raise ValueError(
                    f"reports.{i}.receivers: unknown receiver {', '.join(unknown)} (known: {known})"
                )
            if entry.key in seen:
                raise ValueError(f"reports.{i}: a second entry {entry.key!r}; give each an id")
            seen.add(entry.key)
        return self

    def receivers_for(self, feed: str, rule_id: str, severity: str, area: str | None) -> list[str]:
        found: dict[str, None] = {}
        for route in self.routes:
            if route.match.fits(feed, rule_id, severity, area):
                found.update(dict.fromkeys(route.receivers))
        return list(found)


def load_routing(path: Path) -> RoutingConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RoutingError(f"{path.name}: cannot read: {exc}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise RoutingError(f"{path.name}: {_yaml_problem(exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RoutingError(f"{path.name}: expected a mapping (receivers, routes, ...)")
    try:
        config = RoutingConfig.model_validate(data)
    except ValidationError as exc:
        problems = "\n".join(f"{path.name}: {_problem(e)}" for e in exc.errors())
        raise RoutingError(problems) from None
    for rid, receiver in config.receivers.items():
        if not receiver.channels:
            logger.info("%s: receiver %s has no channel", path.name, rid)
    return config


def default_routing() -> RoutingConfig:
    """The district's receivers, no channel configured yet."""
    return RoutingConfig(
        receivers={
            "eco-bureau": Receiver(name="生态环境分局"),
            "planning-office": Receiver(name="规划建设环保处"),
            "water-utility": Receiver(name="供水公司运营"),
            "iov-ops": Receiver(name="车联网平台运营"),
            "emergency-office": Receiver(name="区应急办"),
        },
        routes=(
            Route(match=Match(feed=("air",)), receivers=("eco-bureau",)),
            Route(match=Match(rule=("ww-effluent-*",)), receivers=("eco-bureau",)),
            Route(
                match=Match(rule=("ww-treatment-rate-*", "water-leakage-*")),
                receivers=("planning-office",),
            ),
            Route(match=Match(feed=("water",)), receivers=("water-utility",)),
            Route(match=Match(feed=("v2x",)), receivers=("iov-ops",)),
            Route(
                match=Match(feed=("air",), severity=("critical",)),
                receivers=("emergency-office",),
            ),
        ),
    )


def _any_fits(patterns: tuple[str, ...] | None, value: str | None) -> bool:
    if patterns is None:
        return True
    return value is not None and any(fnmatchcase(value, p) for p in patterns)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A duplicated key (say, a receiver id) is an error, not a silent overwrite."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem or exc.context}"
    return f"invalid YAML: {exc}"


def _problem(error: Any) -> str:
    loc = [str(part) for part in error["loc"]]
    # A channel's errors are located under its type tag (channels.0.wecom.url): drop the tag.
    loc = [
        part
        for i, part in enumerate(loc)
        if not (part in CHANNEL_TYPES and i >= 2 and loc[i - 2] == "channels")
    ]
    msg = str(error["msg"]).removeprefix("Value error, ")
    return f"{'.'.join(loc)}: {msg}" if loc else msg
