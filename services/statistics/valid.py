"""Which stored values count in compliance statistics: the valid ones.

A value counts when its data flag is N (normal) or it carries none (HJ 212-2017 Table 8;
that only N is valid is this project's reading of the standard). A value flagged C
(calibration), M (maintenance), D (fault), F (stopped), S (manual), T (over range) or B
(communication fault) is stored and shown, but a daily mean, an AQI, a treatment rate or
a data-validity count leaves it out, as GB 3095 leaves out invalid data.
"""

from __future__ import annotations

from collections.abc import Iterable

from psycopg import sql

from ingest.feeds import VALID_FLAG


def is_valid(column: str) -> sql.Composable:
    """SQL: true when ``column``'s value counts (its flag is N, or it has none)."""
    return sql.SQL("coalesce(flags ->> {name}, {ok}) = {ok}").format(
        name=sql.Literal(column), ok=sql.Literal(VALID_FLAG)
    )


def valid(column: str) -> sql.Composable:
    """SQL: ``column``'s value where it counts, else NULL (so avg, sum, count skip it)."""
    return sql.SQL("CASE WHEN {ok} THEN {col} END").format(
        ok=is_valid(column), col=sql.Identifier(column)
    )


def all_valid(columns: Iterable[str]) -> sql.Composable:
    """SQL: true when every one of ``columns`` counts in the row."""
    return sql.SQL(" AND ").join(is_valid(c) for c in columns)
