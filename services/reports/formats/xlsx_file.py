"""XLSX (openpyxl): one sheet per table — headers as the forms write them, with units,
number formats by the columns' decimals, colours filled — and a sheet of notes."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.reports.model import Column, Language, Report, Table

HEADER = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")


def _sheet_name(title: str, taken: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", " ", title)[:31].strip() or "Sheet"
    base, n = name, 2
    while name in taken:
        name = f"{base[:28]} {n}"
        n += 1
    taken.add(name)
    return name


def _number_format(column: Column) -> str | None:
    if column.kind == "int":
        return "0"
    if column.kind in ("number", "percent"):
        return "0" if column.decimals == 0 else "0." + "0" * column.decimals
    if column.kind == "date":
        return "yyyy-mm-dd"
    return None


def _width(column: Column, lang: Language) -> float:
    if column.kind in ("text",):
        return 24.0
    return max(10.0, min(30.0, len(column.header(lang)) * (1.8 if lang == "zh" else 1.0)))


def _write(ws: Worksheet, table: Table, lang: Language) -> None:
    ws.append([c.header(lang) for c in table.columns])
    for cell in ws[1]:
        cell.font = HEADER
        cell.alignment = WRAP
    for row in table.rows:
        ws.append(list(row))
    for j, column in enumerate(table.columns, start=1):
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = _width(column, lang)
        fmt = _number_format(column)
        for i in range(2, len(table.rows) + 2):
            cell = ws.cell(row=i, column=j)
            if fmt is not None:
                cell.number_format = fmt
            if column.kind == "colour" and isinstance(cell.value, str) and cell.value:
                cell.fill = PatternFill("solid", fgColor=cell.value.lstrip("#"))
            if column.kind == "text":
                cell.alignment = WRAP
    ws.freeze_panes = "C2" if len(table.columns) > 2 else "A2"


def render_xlsx(report: Report, lang: Language = "zh") -> bytes:
    book = Workbook()
    taken: set[str] = set()
    notes = book.active
    assert notes is not None
    notes.title = _sheet_name("说明 Notes" if lang == "zh" else "Notes", taken)
    notes.append([report.title(lang), report.period_label])
    notes["A1"].font = Font(bold=True, size=14)
    notes.append(
        ["生成时间 Generated" if lang == "zh" else "Generated", report.generated_at.isoformat()]
    )
    for note in report.notes:
        notes.append([note(lang)])
    notes.column_dimensions["A"].width = 100
    for table in report.tables:
        _write(book.create_sheet(_sheet_name(table.title(lang), taken)), table, lang)
        for note in table.notes:
            notes.append([f"{table.title(lang)}: {note(lang)}"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
