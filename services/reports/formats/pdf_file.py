"""PDF (reportlab): A4 landscape pages — title, period, the tables (the columns a page can
hold, ``Table.pdf_keys``), a bar chart where a trend is the point, and the notes — in a CJK
TrueType font embedded in the file.

The font is ``ENVMON_REPORTS__FONT`` or the first of the usual system paths that exists
(WenQuanYi Micro Hei from Debian's ``fonts-wqy-microhei``, which the install steps add).
OpenType/CFF fonts (Noto Sans CJK ``.otf``/``.ttc``) cannot be embedded by reportlab.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Table as PdfTable
from reportlab.platypus.flowables import Flowable

from services.reports.model import Cell, Chart, Column, Language, Report, Table, format_cell

FONT_NAME = "EnvmonCJK"
FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)
PAGE = landscape(A4)


class ReportFontError(RuntimeError):
    pass


def register_font(path: str | None = None) -> str:
    """Register the CJK font (once) and return its name; a clear error when there is none."""
    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return FONT_NAME
    candidates = [path] if path else [p for p in FONT_PATHS if Path(p).is_file()]
    if not candidates:
        raise ReportFontError(
            "PDF reports need a TrueType font with Chinese glyphs: install fonts-wqy-microhei"
            " (Debian/Ubuntu) or set ENVMON_REPORTS__FONT to a .ttf/.ttc file"
        )
    try:
        pdfmetrics.registerFont(TTFont(FONT_NAME, candidates[0], subfontIndex=0))
    except (TTFError, OSError) as exc:
        raise ReportFontError(
            f"ENVMON_REPORTS__FONT={candidates[0]}: not a TrueType font reportlab can embed ({exc})"
        ) from None
    return FONT_NAME


def _fmt(value: Cell, col: Column) -> str:
    return format_cell(value, col, empty="—", yes_no=("是", "否"))


def _table(table: Table, lang: Language, font: str, width: float) -> list[Flowable]:
    keys = table.pdf_keys or tuple(c.key for c in table.columns)
    index = {c.key: i for i, c in enumerate(table.columns)}
    cols = [table.columns[index[k]] for k in keys]
    small = ParagraphStyle("cell", fontName=font, fontSize=6.5, leading=8)
    head = ParagraphStyle("head", parent=small, fontSize=6.5)
    data: list[list[Paragraph | str]] = [[Paragraph(c.header(lang), head) for c in cols]]
    style: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8EEF4")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
    ]
    for r, row in enumerate(table.rows, start=1):
        out: list[Paragraph | str] = []
        for j, col in enumerate(cols):
            value = row[index[col.key]]
            if col.kind == "colour" and isinstance(value, str) and value.startswith("#"):
                style.append(("BACKGROUND", (j, r), (j, r), colors.HexColor(value)))
                out.append("")
            else:
                out.append(Paragraph(_fmt(value, col), small))
        data.append(out)
    weights = [_weight(col, [row[index[col.key]] for row in table.rows]) for col in cols]
    total = sum(weights)
    pdf = PdfTable(data, colWidths=[width * w / total for w in weights], repeatRows=1)
    pdf.setStyle(TableStyle(cast("Any", style)))
    return [pdf]


def _chars(text: str) -> float:
    """Printed width in Latin characters: a CJK character is about two."""
    return sum(2.0 if ord(ch) > 0x2E80 else 1.0 for ch in text)


def _weight(column: Column, values: Sequence[Cell]) -> float:
    """A column's share of the page: its widest value, within bounds (long text wraps)."""
    widest = max((_chars(_fmt(v, column)) for v in values), default=1.0)
    header = max((_chars(w) for w in column.header("zh").split()), default=1.0)
    if column.kind == "text":
        return min(max(widest, header, 6.0), 20.0)
    return min(max(widest + 1, header, 6.0), 12.0)


def _short(label: str, lang: Language) -> str:
    """A bilingual name ("官塘站 Guantang station") in one language, for chart axes."""
    zh, _, en = label.partition(" ")
    return (zh if lang == "zh" or not en else en)[:14]


def _chart(report: Report, chart: Chart, lang: Language, font: str, width: float) -> Drawing:
    table = report.table(chart.table)
    xs = [str(x or "") for x in table.column(chart.x_key)]
    ys = [float(y) if isinstance(y, int | float) else 0.0 for y in table.column(chart.y_key)]
    fills = table.column(chart.colour_key) if chart.colour_key else []
    height = 62 * mm
    d = Drawing(width, height + 14 * mm)
    d.add(String(0, height + 8 * mm, chart.title(lang), fontName=font, fontSize=10))
    bars = VerticalBarChart()
    bars.x, bars.y = int(12 * mm), int(14 * mm)
    bars.width, bars.height = int(width - 20 * mm), int(height - 12 * mm)
    bars.data = [ys or [0.0]]
    top = max([*ys, chart.limit or 0.0, 1.0]) * 1.15
    bars.valueAxis.valueMin, bars.valueAxis.valueMax = 0, top
    bars.valueAxis.labels.fontName = font
    bars.categoryAxis.categoryNames = [_short(x, lang) for x in xs] or [""]
    bars.categoryAxis.labels.fontName = font
    bars.categoryAxis.labels.fontSize = 6
    bars.categoryAxis.labels.angle = 30
    bars.categoryAxis.labels.boxAnchor = "ne"
    bars.bars[0].fillColor = colors.HexColor("#4A7EBB")
    for i, fill in enumerate(fills):
        if isinstance(fill, str) and fill.startswith("#"):
            bars.bars[(0, i)].fillColor = colors.HexColor(fill)
    d.add(bars)
    if chart.limit is not None:
        y = bars.y + bars.height * chart.limit / top
        d.add(
            Line(bars.x, y, bars.x + bars.width, y, strokeColor=colors.red, strokeDashArray=[3, 2])
        )
        label = chart.limit_label(lang) if chart.limit_label else f"{chart.limit:g}"
        d.add(String(bars.x + 2, y + 2, label, fontName=font, fontSize=7, fillColor=colors.red))
    return d


def render_pdf(report: Report, lang: Language = "zh", *, font_path: str | None = None) -> bytes:
    font = register_font(font_path)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=PAGE, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
        bottomMargin=12 * mm, title=f"{report.title(lang)} {report.period_label}",
        author="envmon",
    )  # fmt: skip
    width = PAGE[0] - 24 * mm
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=20)
    h2 = ParagraphStyle("h2", fontName=font, fontSize=11, leading=14, spaceBefore=6)
    body = ParagraphStyle("body", fontName=font, fontSize=8, leading=11)
    story: list[Flowable] = [
        Paragraph(f"{report.title(lang)} · {report.period_label}", title),
        Paragraph(
            ("生成时间 " if lang == "zh" else "Generated ")
            + report.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
            body,
        ),
        Spacer(1, 4 * mm),
    ]
    for chart in report.charts:
        story += [_chart(report, chart, lang, font, width), Spacer(1, 3 * mm)]
    for table in report.tables:
        story.append(Paragraph(table.title(lang), h2))
        story += _table(table, lang, font, width)
        story += [Paragraph(n(lang), body) for n in table.notes]
    story.append(Paragraph("说明" if lang == "zh" else "Notes", h2))
    story += _notes(report.notes, lang, body)
    doc.build(story)
    return out.getvalue()


def _notes(notes: Sequence[object], lang: Language, style: ParagraphStyle) -> list[Flowable]:
    return [Paragraph(f"• {n(lang)}", style) for n in notes if callable(n)]
