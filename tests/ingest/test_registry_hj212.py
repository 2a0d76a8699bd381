"""The registry's HJ 212 settings: generated deterministically, validated strictly."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

from ingest.gateway import Directory
from ingest.registry import Hj212Logger, Registry, dump_registry, load_registry
from ingest.registry.store import reporting_attrs, sync_registry
from ingest.units import UnitError, convert, factor, field_unit
from tests.fixtures.servers import Database

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "ingest" / "registry" / "liudong.json"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_registry", ROOT / "tools" / "gen_registry.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_registry"] = module
    spec.loader.exec_module(module)
    return module


def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SHIPPED.read_text("utf-8"))
    return data


def _logger(data: dict[str, Any], site_id: str) -> dict[str, Any]:
    logger: dict[str, Any] = _site(data, site_id)["hj212"]
    return logger


def _site(data: dict[str, Any], site_id: str) -> dict[str, Any]:
    site: dict[str, Any] = next(s for s in data["wastewater"] + data["air"] if s["id"] == site_id)
    return site


def test_the_shipped_file_is_what_the_generator_writes() -> None:
    registry = _tool().build_registry()
    assert json.loads(SHIPPED.read_text("utf-8")) == registry


def test_some_plants_and_stations_report_over_hj212() -> None:
    registry = load_registry()
    sites = registry.hj212_sites()
    plants = [s for f, s in sites if f == "wastewater"]
    stations = [s for f, s in sites if f == "air"]
    assert 0 < len(plants) < len([s for s in registry.wastewater if s.type == "wwtp"])
    assert 0 < len(stations) < len(registry.air)
    loggers = [s.hj212 for _, s in sites if s.hj212 is not None]
    assert {x.crc for x in loggers} == {"hj212", "modbus"}
    assert {x.edition for x in loggers} == {"2005", "2017", "2025"}
    assert {x.readings_cn for x in loggers} == {"2011", "2051"}
    # every plant and station has an MN, also those that report over MQTT
    for _, site in registry.reporting_sites():
        if getattr(site, "type", "wwtp") == "wwtp":
            assert site.hj212 is not None, site.id


def test_pm_units_differ_by_station() -> None:
    registry = load_registry()
    units = {
        s.id: s.hj212.units.get("a34004", "ug/m3")
        for _, s in registry.hj212_sites()
        if s.hj212 is not None and s.hj212.st == "22"
    }
    assert set(units.values()) == {"ug/m3", "mg/m3", "ng/m3"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: _logger(d, "air-luobu")["units"].update(a34004="furlong"),
            "unknown unit",
        ),
        (lambda d: _logger(d, "air-luobu")["units"].update(a34004="mg/L"), "cannot be"),
        (lambda d: _logger(d, "air-luobu")["units"].update(w01018="mg/L"), "lacks"),
        (lambda d: _logger(d, "air-luobu").update(mn="XYZ"), "does not match"),
        (lambda d: _logger(d, "air-luobu").update(st="32"), "system code"),
        (lambda d: _logger(d, "air-luobu").update(pw="12"), "pw"),
        (lambda d: _logger(d, "air-luobu").update(crc="crc32"), "crc"),
        (lambda d: _logger(d, "air-luobu").update(edition="2030"), "edition"),
        (lambda d: _logger(d, "air-luobu").update(serial="LD1"), "2025 loggers only"),
        (lambda d: _logger(d, "air-luobu").update(heartbeat_s=30), "2025 loggers only"),
        (lambda d: _logger(d, "air-luobu").update(sm4_key="0" * 32), "2025 loggers only"),
        (lambda d: _logger(d, "air-jiuziling").update(heartbeat_s=0), "heartbeat_s"),
        (lambda d: _logger(d, "air-jiuziling").update(serial="a;b"), "serial"),
        (
            lambda d: _logger(d, "air-luobu").update(
                edition="2025", serial=_logger(d, "air-jiuziling")["serial"]
            ),
            "serial LD.* given to",
        ),
        (
            lambda d: _logger(d, "air-luobu").update(mn=_logger(d, "air-luorong")["mn"]),
            "given to",
        ),
        (lambda d: _site(d, "air-guantang").pop("hj212"), None),  # MQTT needs no logger
        (
            lambda d: _site(d, "air-guantang").update(transport="hj212", hj212=None),
            "needs its hj212",
        ),
        (lambda d: _site(d, "air-guantang").update(transport="tcp"), "transport"),
        (
            lambda d: _site(d, "ps-luobu").update(hj212=_logger(d, "wwtp-pangu")),
            "only treatment plants",
        ),
        (lambda d: d["hj212_codes"]["22"]["a34004"].update(field="pm1_ugm3"), "no 'pm1_ugm3'"),
        (lambda d: d["hj212_codes"]["22"]["a34004"].update(field="pm10_ugm3"), "mapped from"),
        (lambda d: d["hj212_codes"]["32"]["w01018"].update(unit="ug/m3"), "cannot be"),
        (lambda d: d["hj212_codes"].pop("22"), "no hj212_codes for ST 22"),
    ],
)
def test_bad_hj212_settings_are_refused(change: Any, message: str | None) -> None:
    data = _data()
    change(data)
    text = json.dumps(data)
    if message is None:
        Registry.model_validate_json(text)
        return
    with pytest.raises(ValidationError, match=message):
        Registry.model_validate_json(text)


def test_the_2025_logger_and_its_sm4_key_which_nothing_shows() -> None:
    registry = load_registry()
    site = next(s for _, s in registry.hj212_sites() if s.id == "air-jiuziling")
    cfg = site.hj212
    assert cfg is not None
    assert (cfg.edition, cfg.heartbeat_s) == ("2025", 30)
    assert cfg.serial is not None
    assert re.fullmatch(r"[0-9A-F]{24}", cfg.mn)  # the MN the platform assigns it (1002)
    assert cfg.sm4_key is not None
    secret = cfg.sm4_key.get_secret_value()
    assert cfg.key is not None
    assert cfg.key.raw == bytes.fromhex(secret)
    devices = {d.device_id: d for d in registry.devices()}
    shown = [
        repr(cfg),
        str(cfg),
        cfg.model_dump_json(),
        repr(cfg.key),
        json.dumps(reporting_attrs(devices["air-jiuziling"])),
        repr(Directory(registry).get(cfg.mn)),
    ]
    assert not [text for text in shown if secret in text or secret.upper() in text]
    # every other site is as it was: one logger of the 2025 edition, and only it encrypts
    others = [s for _, s in registry.reporting_sites() if s.hj212 and s.id != "air-jiuziling"]
    assert all(s.hj212 and s.hj212.edition != "2025" and s.hj212.key is None for s in others)


@pytest.mark.parametrize(
    "change",
    [
        {"sm4_key": "6c23c3a82fea5ab2c6dfd3d62cf0025"},  # 31 digits
        {"sm4_key": "6c23c3a82fea5ab2c6dfd3d62cf0025z"},
        {"mn": "not an MN"},  # an error on another field echoes no input either
        {"pw": "Zq"},
    ],
)
def test_a_bad_logger_setting_is_refused_without_showing_the_key(change: dict[str, str]) -> None:
    data = _data()
    logger = _logger(data, "air-jiuziling")
    given = [v for k, v in change.items() if k in ("sm4_key", "pw")]
    secrets = [logger["sm4_key"], logger["pw"], *given]
    logger.update(change)
    with pytest.raises(ValidationError) as caught:
        Registry.model_validate_json(json.dumps(data))
    assert not [s for s in secrets if s in str(caught.value)]
    with pytest.raises(ValidationError) as alone:
        Hj212Logger.model_validate(logger)
    assert not [s for s in secrets if s in str(alone.value)]


def test_units_convert_within_a_quantity_only() -> None:
    assert factor("mg/m3", "ug/m3") == 1000
    assert factor("ng/m3", "ug/m3") == pytest.approx(0.001)
    assert convert(958.3, "L/s", "m3/h") == 3449.88
    assert convert(75600.0, "ng/m3", "ug/m3") == 75.6
    assert field_unit("effluent_ph") == "pH"
    assert field_unit("influent_flow_m3h") == "m3/h"
    assert field_unit("billed_m3") == "m3"
    assert field_unit("leak_flag") is None
    with pytest.raises(UnitError):
        factor("mg/L", "ug/m3")
    with pytest.raises(UnitError):
        factor("ppm", "ug/m3")


def test_the_device_table_says_how_each_site_reports(database: Database) -> None:
    registry = load_registry()
    devices = {d.device_id: d for d in registry.devices()}
    luorong = reporting_attrs(devices["air-luorong"])
    assert luorong["transport"] == "hj212"
    assert luorong["hj212"]["crc"] == "modbus"
    assert "pw" not in luorong["hj212"]
    assert reporting_attrs(devices["ps-luobu"]) == {"transport": "mqtt"}
    assert reporting_attrs(devices["rsu-0001"]) == {}
    with database.connect() as conn:
        sync_registry(conn, registry)  # again: attrs replaced, not piled up
        row = conn.execute("SELECT attrs FROM device WHERE device_id = 'air-luorong'").fetchone()
    assert row is not None
    assert row[0] == luorong


def test_the_registry_file_keeps_its_keys_and_other_dumps_mask_them(tmp_path: Path) -> None:
    registry = load_registry()
    keyed = [s for _, s in registry.reporting_sites() if s.hj212 and s.hj212.sm4_key]
    assert keyed
    secret = keyed[0].hj212.sm4_key.get_secret_value()  # type: ignore[union-attr]
    assert secret not in registry.model_dump_json()
    path = tmp_path / "registry.json"
    path.write_text(dump_registry(registry), encoding="utf-8")
    again = load_registry(path)
    assert again == registry
