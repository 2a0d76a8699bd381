"""CSV: each table under a title line, headers in the chosen language with units.

UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese headers right.
"""

from __future__ import annotations

import csv
import io

from services.reports.model import Language, Report, format_cell


def render_csv(report: Report, lang: Language = "zh") -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([f"{report.title(lang)} {report.period_label}"])
    for i, table in enumerate(report.tables):
        if i or len(report.tables) > 1:
            w.writerow([])
            w.writerow([table.title(lang)])
        w.writerow([c.header(lang) for c in table.columns])
        for row in table.rows:
            w.writerow([format_cell(v, c) for v, c in zip(row, table.columns, strict=True)])
    w.writerow([])
    for note in report.notes:
        w.writerow([note(lang)])
    return out.getvalue().encode("utf-8-sig")
