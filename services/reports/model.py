"""What every report returns: typed tables of labelled, unit-carrying columns, with notes.

A report is a pure value — no format in it. Each output format (JSON, CSV, XLSX, PDF)
renders the same :class:`Report`: the column headers in Chinese first with English as an
option, numbers with their unit and decimals, and the notes (editions applied, data
coverage, what is missing) that a figure must not be read without.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

Kind = Literal["text", "int", "number", "percent", "date", "bool", "colour"]
Cell = str | int | float | bool | date | None
Language = Literal["zh", "en"]


@dataclass(frozen=True, slots=True)
class Text:
    """A label in both languages."""

    zh: str
    en: str

    def __call__(self, lang: Language) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: Text
    kind: Kind = "number"
    unit: str | None = None
    decimals: int = 1

    def header(self, lang: Language) -> str:
        return f"{self.label(lang)} ({self.unit})" if self.unit else self.label(lang)


def column(
    key: str, zh: str, en: str, kind: Kind = "number", unit: str | None = None, *, d: int = 1
) -> Column:
    """A column from its key, labels, kind, unit and decimals: how report modules list them."""
    return Column(key, Text(zh, en), kind, unit, d)


def format_cell(
    value: Cell, col: Column, *, empty: str = "", yes_no: tuple[str, str] = ("1", "0")
) -> str:
    """A cell as text: floats to the column's decimals, dates ISO, ``empty`` for no value."""
    if value is None:
        return empty
    if isinstance(value, bool):
        return yes_no[0] if value else yes_no[1]
    if isinstance(value, float):
        return f"{value:.{col.decimals}f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True, slots=True)
class Table:
    key: str
    title: Text
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    notes: tuple[Text, ...] = ()
    pdf_keys: tuple[str, ...] | None = None  # the columns a PDF page shows; None: all

    def __post_init__(self) -> None:
        width = len(self.columns)
        for row in self.rows:
            if len(row) != width:
                raise ValueError(f"{self.key}: a row of {len(row)} cells for {width} columns")

    def column(self, key: str) -> list[Cell]:
        i = next(i for i, c in enumerate(self.columns) if c.key == key)
        return [row[i] for row in self.rows]

    def records(self) -> list[dict[str, Cell]]:
        keys = [c.key for c in self.columns]
        return [dict(zip(keys, row, strict=True)) for row in self.rows]


@dataclass(frozen=True, slots=True)
class Chart:
    """A bar chart of one table's column over another (the PDF draws it): bars coloured by
    ``colour_key`` when given, a reference line at ``limit``."""

    title: Text
    table: str
    x_key: str
    y_key: str
    colour_key: str | None = None
    limit: float | None = None
    limit_label: Text | None = None


@dataclass(frozen=True, slots=True)
class Figure:
    """A headline figure: what a chat message or an e-mail says before the attached file."""

    label: Text
    value: Cell
    column: Column

    def text(self, lang: Language) -> str:
        """E.g. "全区 AQI：85" or "District NRW rate: 8.42 %"; "—" without a value."""
        sep = "\uff1a" if lang == "zh" else ": "
        value = format_cell(self.value, self.column, empty="\u2014", yes_no=("是", "否"))
        if self.value is not None and self.column.unit:
            value += self.column.unit if self.column.unit == "%" else f" {self.column.unit}"
        return f"{self.label(lang)}{sep}{value}"


def figures(table: Table, row_key: str, keys: Sequence[str], who: Text) -> tuple[Figure, ...]:
    """Headline figures from the row whose first column is ``row_key`` (e.g. "district"),
    their labels led by ``who`` (e.g. "全区 District")."""
    cols = {c.key: c for c in table.columns}
    record = next((r for r in table.records() if r[table.columns[0].key] == row_key), {})
    return tuple(
        Figure(
            Text(f"{who.zh}{cols[k].label.zh}", f"{who.en} {cols[k].label.en}"),
            record.get(k),
            cols[k],
        )
        for k in keys
    )


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    title: Text
    period_label: str
    generated_at: datetime
    tables: tuple[Table, ...]
    notes: tuple[Text, ...] = ()
    charts: tuple[Chart, ...] = field(default=())
    headline: tuple[Figure, ...] = ()  # the few figures a message quotes

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


def rows_of(
    records: Sequence[dict[str, Cell]], columns: Sequence[Column]
) -> tuple[tuple[Cell, ...], ...]:
    """Rows in the columns' order from dicts keyed by column."""
    return tuple(tuple(r.get(c.key) for c in columns) for r in records)
