"""The dashboards as JSON files: generated from the modules, committed, checked for staleness."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dash_m

from dashboards import air, alerts, overview, v2x, wastewater, water

MODULES: tuple[ModuleType, ...] = (overview, wastewater, air, water, v2x, alerts)
OUT_DIR = Path(__file__).parent / "json"
FOLDER_UID = "liudong"
FOLDER_TITLE = "柳东新区 Liudong"


def builders() -> dict[str, Callable[[], dash_m.Dashboard]]:
    """uid → the function building that dashboard."""
    return {m.UID: m.build for m in MODULES}


def render(board: dash_m.Dashboard) -> str:
    """Stable JSON: panel ids and grid positions assigned, keys sorted."""
    data = json.loads(json.dumps(board, cls=JSONEncoder))
    data["schemaVersion"] = 39
    for i, panel in enumerate(_panels(data), start=1):
        panel["id"] = i
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _panels(data: dict[str, object]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for p in data.get("panels", []):  # type: ignore[attr-defined]
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def rendered() -> dict[str, str]:
    """File name → JSON text of every dashboard."""
    return {f"{uid}.json": render(build()) for uid, build in builders().items()}


def write(out_dir: Path = OUT_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered().items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale(out_dir: Path = OUT_DIR) -> list[str]:
    """Files missing, different from what the modules generate, or no longer generated."""
    want = rendered()
    have = {p.name for p in out_dir.glob("*.json")} if out_dir.is_dir() else set()
    problems = sorted(have - set(want))
    for name, text in want.items():
        path = out_dir / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            problems.append(name)
    return problems
