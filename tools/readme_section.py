"""A generated section of README.md: the text between two marker comments."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def split(text: str, begin: str, end: str) -> tuple[str, str, str]:
    """README text up to and with ``begin``, the section, and the rest from ``end``."""
    if text.count(begin) != 1 or text.count(end) != 1:
        raise ValueError(f"README.md must hold exactly one {begin} and one {end}")
    head, rest = text.split(begin)
    body, tail = rest.split(end)
    if not body.startswith("\n"):
        raise ValueError(f"{begin} must end its line")
    return head + begin + "\n", body[1:], end + tail


def current(begin: str, end: str, readme: Path = README) -> str:
    return split(readme.read_text(encoding="utf-8"), begin, end)[1]


def write(section: str, begin: str, end: str, readme: Path = README) -> bool:
    """Replace only the text between the markers; True when the file changed."""
    text = readme.read_text(encoding="utf-8")  # re-read: others edit the rest concurrently
    head, old, tail = split(text, begin, end)
    if old == section:
        return False
    fd, tmp = tempfile.mkstemp(dir=readme.parent, prefix=".README.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(head + section + tail)
    os.chmod(tmp, readme.stat().st_mode & 0o777)
    Path(tmp).replace(readme)
    return True
