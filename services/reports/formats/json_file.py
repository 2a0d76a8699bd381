"""JSON: the report's tables as records keyed by column, with the columns' labels and units."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from services.reports.model import Language, Report, Text


def _text(t: Text) -> dict[str, str]:
    return {"zh": t.zh, "en": t.en}


def as_dict(report: Report) -> dict[str, Any]:
    return {
        "report": report.name,
        "title": _text(report.title),
        "period": report.period_label,
        "generated_at": report.generated_at.isoformat(),
        "headline": [{"zh": f.text("zh"), "en": f.text("en")} for f in report.headline],
        "notes": [_text(n) for n in report.notes],
        "tables": [
            {
                "key": t.key,
                "title": _text(t.title),
                "columns": [
                    {"key": c.key, **_text(c.label), "unit": c.unit, "kind": c.kind}
                    for c in t.columns
                ],
                "rows": t.records(),
                "notes": [_text(n) for n in t.notes],
            }
            for t in report.tables
        ],
    }


def _default(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def render_json(report: Report, lang: Language = "zh") -> bytes:
    """Both languages are in the JSON form; ``lang`` is accepted for symmetry."""
    del lang
    return json.dumps(as_dict(report), ensure_ascii=False, indent=1, default=_default).encode()
