"""The README's wire-contract section is the one ``tools/gen_contract_doc.py`` renders."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

from ingest.feeds import FEEDS, KINDS
from ingest.reasons import Reason

TOOL = Path(__file__).resolve().parents[2] / "tools" / "gen_contract_doc.py"


def _tool() -> ModuleType:
    name = "gen_contract_doc"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@cache
def _rendered() -> str:
    text: str = _tool().render()
    return text


def test_readme_section_is_up_to_date() -> None:
    tool = _tool()
    assert tool.current_section() == _rendered(), (
        "README.md's wire-contract section (between <!-- contract:begin --> and"
        " <!-- contract:end -->) is stale: regenerate it with"
        " `.venv/bin/python tools/gen_contract_doc.py`"
    )


def test_section_covers_every_feed_kind_and_reason() -> None:
    text = _rendered()
    assert text.startswith("## Wire contract\n")
    for feed in FEEDS:
        assert f"\n### {feed}\n" in text
    for kind in KINDS:
        assert f"`liudong/{kind.feed}/<device_id>/{kind.name}`" in text
        for column in kind.columns:
            assert f"| `{column}` |" in text
    for reason in Reason:
        assert f"| `{reason.value}` |" in text
    assert "\n### Dead letters\n" in text
    assert len(text.splitlines()) < 400


def test_examples_are_valid_payloads_of_their_kind() -> None:
    blocks = re.findall(r"```json\n(.*?)\n```", _rendered(), flags=re.DOTALL)
    assert len(blocks) == len(KINDS)
    for kind, block in zip(KINDS, blocks, strict=True):
        payload = kind.model.model_validate_json(block)
        assert json.loads(block) == json.loads(payload.model_dump_json())


@pytest.mark.parametrize(
    ("name", "unit"),
    [("influent_flow_m3h", "m³/h"), ("billed_m3", "m³"), ("co_mgm3", "mg/m³"), ("lat", "")],
)
def test_unit_suffixes(name: str, unit: str) -> None:
    assert _tool().unit_of(name) == unit


def test_write_rewrites_only_between_the_markers(tmp_path: Path) -> None:
    tool = _tool()
    readme = tmp_path / "README.md"
    before = "# Title\n\nintro\n\n<!-- contract:begin -->\nold\n<!-- contract:end -->\n\n## After\n"
    readme.write_text(before, encoding="utf-8")
    assert tool.write_section("new\n", readme)
    assert readme.read_text(encoding="utf-8") == before.replace("\nold\n", "\nnew\n")
    assert not tool.write_section("new\n", readme)
    assert tool.current_section(readme) == "new\n"
