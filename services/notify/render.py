"""The text of a notice: title, Markdown (chat robots), plain text and HTML (e-mail).

Chinese first; English when the receiver asked for it. Times are shown in the district's
local time (Asia/Shanghai) whatever zone the notice carries.
"""

from __future__ import annotations

import html as htmlmod
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ingest.feeds import LOCAL_TZ
from services.notify.notice import Notice, SubjectLine

MAX_SUBJECT_LINES = 50
NO_VALUE = "\u2014"  # em dash
EN_DASH = "\u2013"
# Full-width punctuation for Chinese text, as escapes: ruff reports the characters as confusable.
_PUNCT = {
    "zh": {"colon": "\uff1a", "comma": "\uff0c", "open": "\uff08", "close": "\uff09"},
    "en": {"colon": ": ", "comma": ", ", "open": " (", "close": ")"},
}

_SEVERITY = {
    "zh": {"critical": "严重", "major": "重要", "minor": "次要", "warning": "提示"},
    "en": {"critical": "Critical", "major": "Major", "minor": "Minor", "warning": "Warning"},
}
_TRANSITION = {
    "zh": {"firing": "【告警】", "resolved": "【恢复】"},
    "en": {"firing": "[FIRING] ", "resolved": "[RESOLVED] "},
}
_LABELS = {
    "zh": {
        "severity": "级别",
        "rule": "规则",
        "limit": "限值",
        "standard": "标准",
        "edition": "版本",
        "firing": "告警时间",
        "resolved": "恢复时间",
        "subjects": "对象",
        "link": "面板",
        "rule_id": "规则编号",
        "ack": "确认告警",
    },
    "en": {
        "severity": "Severity",
        "rule": "Rule",
        "limit": "Limit",
        "standard": "Standard",
        "edition": "edition",
        "firing": "Fired at",
        "resolved": "Resolved at",
        "subjects": "Subjects",
        "link": "Dashboard",
        "rule_id": "Rule id",
        "ack": "Acknowledge",
    },
}


@dataclass(frozen=True)
class Content:
    """What every rendering shows, already formatted; the renderings only differ in markup."""

    heading: str
    fields: tuple[tuple[str, str], ...]  # (label, text), in display order
    subjects_label: str
    subject_lines: tuple[str, ...]  # capped, the "… and N more" line included
    ack_links: tuple[str | None, ...]  # one per subject line: its acknowledge link
    ack_label: str
    link_label: str
    link: str | None
    rule_id_label: str
    rule_id: str


def title(n: Notice) -> str:
    """One line, e.g. "【告警】出水氨氮日均值超标 · 官塘污水处理厂"."""
    lang = n.language
    head = _TRANSITION[lang][n.transition] + (n.title_en if lang == "en" else n.title_zh)
    if len(n.subjects) == 1:
        return f"{head} · {_name(n.subjects[0], lang)}"
    if len(n.subjects) > 1:
        count = len(n.subjects)
        return f"{head} · {count} 个站点/设备" if lang == "zh" else f"{head} · {count} subjects"
    return head


def content(n: Notice) -> Content:
    lang = n.language
    labels = _LABELS[lang]
    rule_title = n.title_en if lang == "en" else n.title_zh
    standard = f"{n.standard} {n.clause}".strip()
    if n.edition:
        edition = f"{labels['edition']} {n.edition}" if lang == "zh" else n.edition
        standard += _parenthesized(edition, lang)
    fields = (
        (labels["severity"], _SEVERITY[lang].get(n.severity, n.severity)),
        (labels["rule"], rule_title),
        (labels["limit"], n.limit),
        (labels["standard"], standard),
        (labels[n.transition], format_instant(n.at)),
    )
    return Content(
        heading=title(n),
        fields=tuple((label, text) for label, text in fields if text),
        subjects_label=labels["subjects"] + _parenthesized(str(len(n.subjects)), lang),
        subject_lines=_subject_lines(n),
        ack_links=tuple(s.ack_link for s in n.subjects[:MAX_SUBJECT_LINES]),
        ack_label=labels["ack"],
        link_label=labels["link"],
        link=n.link,
        rule_id_label=labels["rule_id"],
        rule_id=n.rule_id,
    )


def markdown(n: Notice) -> str:
    c = content(n)
    sep = _PUNCT[n.language]["colon"]
    lines = [f"### {c.heading}", ""]
    lines += [f"> **{label}**{sep}{text}" for label, text in c.fields]
    lines += ["", f"**{c.subjects_label}**{sep.rstrip()}"]
    lines += [
        f"- {line} [{c.ack_label}]({link})" if link else f"- {line}"
        for line, link in _with_links(c)
    ]
    lines.append("")
    if c.link:
        lines.append(f"[{c.link_label}]({c.link})")
    lines.append(f"{c.rule_id_label}{sep}`{c.rule_id}`")
    return "\n".join(lines)


def plain(n: Notice) -> str:
    c = content(n)
    sep = _PUNCT[n.language]["colon"]
    lines = [c.heading, ""]
    lines += [f"{label}{sep}{text}" for label, text in c.fields]
    lines += ["", f"{c.subjects_label}{sep.rstrip()}"]
    for line, link in _with_links(c):
        lines.append(f"  - {line}")
        if link:
            lines.append(f"    {c.ack_label}{sep}{link}")
    lines.append("")
    if c.link:
        lines.append(f"{c.link_label}{sep}{c.link}")
    lines.append(f"{c.rule_id_label}{sep}{c.rule_id}")
    return "\n".join(lines) + "\n"


def html(n: Notice) -> str:
    c = content(n)
    e = htmlmod.escape
    sep = _PUNCT[n.language]["colon"]
    parts = [f'<html><body lang="{e(n.language)}">', f"<h3>{e(c.heading)}</h3>", "<table>"]
    parts += [
        f"<tr><th align='left'>{e(label)}</th><td>{e(text)}</td></tr>" for label, text in c.fields
    ]
    parts += ["</table>", f"<p><b>{e(c.subjects_label)}</b>{sep.rstrip()}</p>", "<ul>"]
    parts += [
        f'<li>{e(line)} <a href="{e(link)}">{e(c.ack_label)}</a></li>' if link
        else f"<li>{e(line)}</li>"
        for line, link in _with_links(c)
    ]  # fmt: skip
    parts.append("</ul>")
    if c.link:
        parts.append(f'<p><a href="{e(c.link)}">{e(c.link_label)}</a></p>')
    parts += [f"<p>{e(c.rule_id_label)}{sep}<code>{e(c.rule_id)}</code></p>", "</body></html>"]
    return "\n".join(parts) + "\n"


def _with_links(c: Content) -> list[tuple[str, str | None]]:
    links = list(c.ack_links) + [None] * (len(c.subject_lines) - len(c.ack_links))
    return list(zip(c.subject_lines, links, strict=True))


def format_value(value: float | None, unit: str) -> str:
    """At most 3 decimals (3 significant digits below 1), unit appended; "—" when None."""
    if value is None:
        return NO_VALUE
    if not math.isfinite(value):
        text = str(value)
    elif value == 0 or abs(value) >= 1:
        text = f"{value:.3f}".rstrip("0").rstrip(".")
    else:
        decimals = 2 - math.floor(math.log10(abs(value)))
        text = f"{value:.3g}" if decimals > 9 else f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def format_instant(at: datetime) -> str:
    """E.g. "2026-11-30 10:21 (UTC+8)"."""
    local = _local(at)
    return f"{local:%Y-%m-%d %H:%M} ({_offset(local)})"


def format_window(start: datetime, end: datetime) -> str:
    """E.g. "2026-11-30 10:00-11:00" (en dash); a whole local day ends at "24:00"."""
    s, e = _local(start), _local(end)
    if s.date() == e.date():
        return f"{s:%Y-%m-%d %H:%M}{EN_DASH}{e:%H:%M}"
    if e.date() == s.date() + timedelta(days=1) and e.time() == e.time().min:
        return f"{s:%Y-%m-%d %H:%M}{EN_DASH}24:00"
    return f"{s:%Y-%m-%d %H:%M} {EN_DASH} {e:%Y-%m-%d %H:%M}"


def _subject_lines(n: Notice) -> tuple[str, ...]:
    shown = n.subjects[:MAX_SUBJECT_LINES]
    lines = [_subject_line(n, s) for s in shown]
    more = len(n.subjects) - len(shown)
    if more:
        lines.append(f"… 另有 {more} 个" if n.language == "zh" else f"… and {more} more")
    return tuple(lines)


def _subject_line(n: Notice, s: SubjectLine) -> str:
    zh = n.language == "zh"
    name = _name(s, n.language)
    if s.area:
        name += _parenthesized(s.area, n.language)
    measure = n.measure_zh if zh else n.measure_en
    value = format_value(s.value, n.unit)
    parts = [
        f"{measure} {value}" if measure else value,
        format_window(s.window_start, s.window_end),
    ]
    if s.detail:
        parts.append(s.detail)
    punct = _PUNCT[n.language]
    return f"{name}{punct['colon']}{punct['comma'].join(parts)}"


def _parenthesized(text: str, lang: str) -> str:
    return f"{_PUNCT[lang]['open']}{text}{_PUNCT[lang]['close']}"


def _name(s: SubjectLine, lang: str) -> str:
    if lang == "en":
        return s.name_en or s.name_zh or s.subject
    return s.name_zh or s.name_en or s.subject


def _local(at: datetime) -> datetime:
    # Notices carry aware times; a naive one is taken as UTC rather than as server local time.
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(LOCAL_TZ)


def _offset(local: datetime) -> str:
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
