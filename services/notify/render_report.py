"""The text of a scheduled report's message: title, Markdown (chat robots), plain text and
HTML (e-mail). The figures come formatted in the receiver's language; the files go with
e-mail only, so robots name them and link to the report."""

from __future__ import annotations

import html as htmlmod

from services.notify.notice import ReportNotice

_LABELS = {
    "zh": {"head": "【报表】", "files": "附件", "link": "下载", "colon": "\uff1a"},
    "en": {"head": "[REPORT] ", "files": "Attached", "link": "Download", "colon": ": "},
}


def title(n: ReportNotice) -> str:
    """One line, e.g. "【报表】空气质量日报 · 2026-11-30"."""
    words = _LABELS[n.language]
    name = n.title_en if n.language == "en" else n.title_zh
    return f"{words['head']}{name} · {n.period}"


def _files(n: ReportNotice) -> str:
    words = _LABELS[n.language]
    return words["files"] + words["colon"] + ", ".join(f.filename for f in n.files)


def markdown(n: ReportNotice) -> str:
    words = _LABELS[n.language]
    lines = [f"### {title(n)}", ""]
    lines += [f"> {figure}" for figure in n.headline]
    lines.append("")
    if n.link:
        lines.append(f"[{words['link']}]({n.link})")
    if n.files:
        lines.append(_files(n))
    return "\n".join(lines)


def plain(n: ReportNotice) -> str:
    words = _LABELS[n.language]
    lines = [title(n), ""]
    lines += [f"  {figure}" for figure in n.headline]
    lines.append("")
    if n.link:
        lines.append(f"{words['link']}{words['colon']}{n.link}")
    if n.files:
        lines.append(_files(n))
    return "\n".join(lines) + "\n"


def html(n: ReportNotice) -> str:
    e = htmlmod.escape
    words = _LABELS[n.language]
    parts = [f'<html><body lang="{e(n.language)}">', f"<h3>{e(title(n))}</h3>", "<ul>"]
    parts += [f"<li>{e(figure)}</li>" for figure in n.headline]
    parts.append("</ul>")
    if n.link:
        parts.append(f'<p><a href="{e(n.link)}">{e(words["link"])}</a></p>')
    if n.files:
        parts.append(f"<p>{e(_files(n))}</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
