"""Rule files: the default pack loads; a bad file is refused with file, rule and reason."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import pytest

from envmon.cli import main
from ingest.feeds import FEED_NAMES
from ingest.registry import Registry, load_registry
from services.rules import RuleError, default_pack, load_rules
from services.rules.model import Limit, When, WindowRule
from services.standards import gb3095, gb18918

THRESHOLD = '{op: ">", threshold: 5}'


def _limits(ref: str) -> str:
    return '{op: ">", limits: ' + ref + "}"


GOOD = """
rules:
  - id: my-nh3
    title: {zh: 氨氮, en: NH3-N}
    kind: window
    feed: wastewater
    devices: {ids: [wwtp-guantang]}
    measure: effluent_nh3n_mgl
    window: {type: rolling, length: 1h}
    aggregate: mean
    condition: {op: ">", threshold: 5}
    clear: {level: 4}
    severity: major
"""


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, "utf-8")
    return path


def test_default_pack_loads_one_file_per_feed(registry: Registry) -> None:
    files = default_pack()
    assert [p.stem for p in files] == sorted(FEED_NAMES)
    rules = load_rules(files, registry)
    assert len({r.id for r in rules}) == len(rules) > 30
    assert {r.feed for r in rules} == set(FEED_NAMES)


def test_a_good_file_loads(tmp_path: Path, registry: Registry) -> None:
    [rule] = load_rules([_write(tmp_path, GOOD)], registry)
    assert rule.id == "my-nh3"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("feed: wastewater", "feed: sewage"), "feed"),
        (("measure: effluent_nh3n_mgl", "measure: effluent_nh4_mgl"), "no numeric measure"),
        (("ids: [wwtp-guantang]", "ids: [wwtp-nowhere]"), "unknown wastewater devices"),
        (("{ids: [wwtp-guantang]}", "{areas: [atlantis]}"), "unknown areas"),
        (("{ids: [wwtp-guantang]}", "{types: [rsu]}"), "unknown wastewater device types"),
        (("clear: {level: 4}", "clear: {level: 6}"), "must be <= the threshold"),
        (("kind: window", "kind: teleport"), "kind"),
        (("length: 1h", "length: soon"), "not a duration"),
        (("severity: major", "severity: apocalyptic"), "severity"),
        ((THRESHOLD, _limits("{table: gb18918, item: nh4}")), "item: Input should be"),
        ((THRESHOLD, _limits("{table: gb9999}")), "limits: "),
        ((THRESHOLD, _limits("{table: gb18918, item: cod}, threshold: 5")), "drop threshold"),
        ((THRESHOLD, _limits("{table: gb18918, item: nh3n}")), "name the water temperature"),
        ((THRESHOLD, _limits("{table: gb18918, item: cod, temperature: water_temp_c}")), "drop"),
        (
            (THRESHOLD, _limits("{table: gb18918, item: nh3n, temperature: influent_cod_x}")),
            "no numeric measure 'influent_cod_x'",
        ),
        ((THRESHOLD, _limits("{table: gb18918, item: ph}")), "a range needs op 'outside'"),
        ((THRESHOLD, _limits("{table: gb18918, item: tn, class: '2'}")), "sets no limit for tn"),
        (
            (THRESHOLD, _limits("{table: gb3095, pollutant: co, averaging: annual}")),
            "no annual limit for co",
        ),
        ((THRESHOLD, _limits("{table: targets, target: happiness}")), "target"),
    ],
)
def test_a_bad_rule_is_refused_with_its_reason(
    tmp_path: Path, registry: Registry, change: tuple[str, str], reason: str
) -> None:
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(RuleError) as err:
        load_rules([path], registry)
    assert err.value.file == str(path)
    assert err.value.rule_id == "my-nh3"
    assert reason in err.value.reason
    assert str(path) in str(err.value)
    assert "my-nh3" in str(err.value)


def test_yaml_errors_name_the_line(tmp_path: Path, registry: Registry) -> None:
    path = _write(tmp_path, "rules:\n  - id: [unclosed\n")
    with pytest.raises(RuleError, match="line"):
        load_rules([path], registry)


def test_duplicate_ids_are_refused(tmp_path: Path, registry: Registry) -> None:
    path = _write(tmp_path, GOOD + GOOD.replace("rules:\n", ""))
    with pytest.raises(RuleError, match="already used"):
        load_rules([path], registry)


def test_rules_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path, GOOD)
    assert main(["rules", "check", str(good), *map(str, default_pack())]) == 0
    assert "OK" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("effluent_nh3n_mgl", "nh3"), "utf-8")
    assert main(["rules", "check", str(good), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml: rule my-nh3" in err
    assert "nh3" in err


def test_readme_table_matches_the_rules_that_load() -> None:
    tool = Path(__file__).resolve().parents[2] / "tools" / "gen_rules_doc.py"
    spec = importlib.util.spec_from_file_location("gen_rules_doc", tool)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rendered = module.render()
    assert module.readme_section.current(module.BEGIN, module.END) == rendered, (
        "README.md's default rule pack table is stale: run `.venv/bin/python"
        " tools/gen_rules_doc.py`"
    )
    for rule in load_rules(default_pack(), load_registry()):
        assert f"`{rule.id}`" in rendered


def test_limits_come_from_the_standards_tables(tmp_path: Path, registry: Registry) -> None:
    ref = "{table: gb18918, item: nh3n, temperature: water_temp_c}"
    [rule] = load_rules([_write(tmp_path, GOOD.replace(THRESHOLD, _limits(ref)))], registry)
    assert isinstance(rule, WindowRule)
    assert rule.condition.threshold == gb18918.maximum("nh3n") == 5
    assert rule.condition.when == (When(measure="water_temp_c", op="<=", value=12, threshold=8),)


def test_the_pack_judges_by_the_standards_tables(registry: Registry) -> None:
    rules = {r.id: r for r in load_rules(default_pack(), registry)}
    pm25 = rules["air-pm25-24h"]
    assert isinstance(pm25, WindowRule)
    assert pm25.condition.limits == (
        Limit(threshold=50, valid_from=date(2031, 1, 1), edition="GB 3095-2026"),
        Limit(threshold=60, valid_from=date(2026, 3, 1), edition="GB 3095-2026（过渡期）"),
        Limit(threshold=75, edition="GB 3095-2012"),
    )
    o3 = rules["air-o3-8h"]
    assert isinstance(o3, WindowRule)
    assert [(x.threshold, x.valid_from, x.edition) for x in o3.condition.limits] == [
        tuple(x) for x in gb3095.limits_by_date("o3", "8h")
    ]
    assert [x.threshold for x in o3.condition.limits] == [160, 160]
    ph = rules["ww-effluent-ph-daily"]
    assert isinstance(ph, WindowRule)
    assert (ph.condition.low, ph.condition.high) == gb18918.PH_RANGE == (6, 9)
