"""Grafana's expansion of a PostgreSQL panel query, for running panel SQL outside Grafana.

Template variables are replaced first, as Grafana's frontend does for SQL datasources: the
value of a multi-value (or include-all) variable is each value single-quoted with quotes
doubled, joined by commas — given here as a list; a single-value variable's value is put
in as it is, quotes doubled — given here as a string, to be quoted in the SQL itself. Then the
server side: ``$__interval_ms`` and ``$__interval``, then the ``$__name(args)`` macros
of the PostgreSQL datasource (plain PostgreSQL, or ``timescaledb`` for ``time_bucket``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

_MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^)]*)\)")
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


class MacroError(ValueError):
    pass


def interval_seconds(text: str) -> float:
    """Seconds of a Grafana interval such as ``30s``, ``5m``, ``1h``, ``1d``."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)", text.strip().strip("'"))
    if match is None:
        raise MacroError(f"not an interval: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def substitute_variables(raw_sql: str, variables: Mapping[str, str | Sequence[str]]) -> str:
    """``$name`` / ``${name}`` → value(s); names starting ``__`` are left for later."""

    def repl(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name.startswith("__"):
            return m.group(0)
        if name not in variables:
            raise MacroError(f"no value for template variable ${name}")
        value = variables[name]
        if isinstance(value, str):
            return value.replace("'", "''")
        return ",".join(quote(v) for v in value)

    return _VARIABLE.sub(repl, raw_sql)


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def expand(
    raw_sql: str,
    *,
    start: datetime,
    end: datetime,
    interval: str,
    variables: Mapping[str, str | Sequence[str]] = {},
    timescaledb: bool = False,
) -> str:
    """The SQL Grafana sends to PostgreSQL for ``raw_sql`` over ``[start, end]``."""
    step = interval_seconds(interval)
    sql = substitute_variables(raw_sql, variables)
    sql = sql.replace("$__interval_ms", str(round(step * 1000))).replace("$__interval", interval)

    frm, to = _rfc3339(start), _rfc3339(end)

    def macro(m: re.Match[str]) -> str:
        name, args = m.group(1), [a.strip() for a in m.group(2).split(",")]
        if name == "__timeGroup" and m.string[m.end() : m.end() + 1] == ",":
            name = "__timeGroupAlias"  # Grafana's pre-5.3 compatibility: a bare column
        col = args[0]
        if name in ("__timeGroup", "__timeGroupAlias"):
            if len(args) < 2:
                raise MacroError(f"${name} needs a column and an interval")
            seconds = interval_seconds(args[1])
            group = (
                f"time_bucket('{seconds:.3f}s',{col})"
                if timescaledb
                else f"floor(extract(epoch from {col})/{seconds:g})*{seconds:g}"
            )
            return group + (' AS "time"' if name == "__timeGroupAlias" else "")
        simple = {
            "__time": lambda: f'{col} AS "time"',
            "__timeEpoch": lambda: f'extract(epoch from {col}) as "time"',
            "__timeFilter": lambda: f"{col} BETWEEN '{frm}' AND '{to}'",
            "__timeFrom": lambda: f"'{frm}'",
            "__timeTo": lambda: f"'{to}'",
            "__unixEpochFilter": lambda: (
                f"{col} >= {int(start.timestamp())} AND {col} <= {int(end.timestamp())}"
            ),
        }
        if name not in simple:
            raise MacroError(f"unknown macro ${name}")
        return simple[name]()

    return _MACRO.sub(macro, sql)
