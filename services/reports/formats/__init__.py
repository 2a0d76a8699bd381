"""A report rendered: JSON, CSV, XLSX or PDF, each from the same :class:`Report`."""

from __future__ import annotations

from typing import Literal, get_args

from services.reports.formats.csv_file import render_csv
from services.reports.formats.json_file import render_json
from services.reports.formats.pdf_file import ReportFontError, render_pdf
from services.reports.formats.xlsx_file import render_xlsx
from services.reports.model import Language, Report

Format = Literal["json", "csv", "xlsx", "pdf"]
FORMATS: tuple[Format, ...] = get_args(Format)
__all__ = ["FORMATS", "MEDIA_TYPES", "Format", "ReportFontError", "filename", "render"]
MEDIA_TYPES: dict[Format, str] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def render(report: Report, fmt: Format, lang: Language = "zh", *, font: str | None = None) -> bytes:
    """The report as the bytes of a file in ``fmt``; ``font``: the PDF's CJK font file."""
    if fmt == "json":
        return render_json(report, lang)
    if fmt == "csv":
        return render_csv(report, lang)
    if fmt == "xlsx":
        return render_xlsx(report, lang)
    return render_pdf(report, lang, font_path=font)


def filename(report: Report, fmt: Format) -> str:
    return f"{report.name}-{report.period_label}.{fmt}"
