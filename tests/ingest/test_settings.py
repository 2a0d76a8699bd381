from __future__ import annotations

import pytest

from ingest.settings import ConfigError, load_settings


def test_flat_urls_and_nested_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVMON_DATABASE_URL", "postgresql://u:secret@db:5432/envmon")
    monkeypatch.setenv("ENVMON_MQTT_URL", "mqtt://broker:1883")
    monkeypatch.setenv("ENVMON_INGEST__BATCH_SIZE", "1234")
    s = load_settings()
    assert s.database.url is not None
    assert s.database.url.get_secret_value().endswith("@db:5432/envmon")
    assert s.mqtt.host_port() == ("broker", 1883)
    assert s.ingest.batch_size == 1234
    described = str(s.describe())
    assert "secret" not in described
    assert "***" in described


def test_a_bad_setting_is_named_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVMON_MQTT_URL", "http://broker")
    with pytest.raises(ConfigError, match="ENVMON_MQTT_URL must look like mqtt://host:1883"):
        load_settings()


def test_a_bad_nested_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVMON_INGEST__BATCH_SIZE", "zero")
    with pytest.raises(ConfigError, match="ENVMON_INGEST__BATCH_SIZE"):
        load_settings()
