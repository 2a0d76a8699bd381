from __future__ import annotations

from pathlib import Path

import pytest

from ingest.settings import ConfigError, load_settings


def test_flat_urls_and_nested_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVMON_DATABASE_URL", "postgresql://u:hunter2@db:5432/envmon")
    monkeypatch.setenv("ENVMON_CONSOLE__LINK_SECRET", "L" * 40)
    monkeypatch.setenv("ENVMON_MQTT_URL", "mqtt://broker:1883")
    monkeypatch.setenv("ENVMON_INGEST__BATCH_SIZE", "1234")
    s = load_settings()
    assert s.database.url is not None
    assert s.database.url.get_secret_value().endswith("@db:5432/envmon")
    assert s.mqtt.host_port() == ("broker", 1883)
    assert s.ingest.batch_size == 1234
    described = str(s.describe())
    assert "hunter2" not in described
    assert "L" * 40 not in described
    assert "***" in described


def test_a_short_link_secret_and_a_placeholder_in_production_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVMON_CONSOLE__LINK_SECRET", "short")
    with pytest.raises(ConfigError, match=r"ENVMON_CONSOLE__LINK_SECRET: .*at least 32"):
        load_settings()
    monkeypatch.setenv("ENVMON_CONSOLE__LINK_SECRET", "change-me-" * 4)
    monkeypatch.setenv("ENVMON_ENVIRONMENT", "production")
    with pytest.raises(ConfigError, match="ENVMON_CONSOLE__LINK_SECRET: a placeholder"):
        load_settings()


def test_a_bad_setting_is_named_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVMON_MQTT_URL", "http://broker")
    with pytest.raises(ConfigError, match="ENVMON_MQTT_URL must look like mqtt://host:1883"):
        load_settings()


def test_a_bad_nested_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVMON_INGEST__BATCH_SIZE", "zero")
    with pytest.raises(ConfigError, match="ENVMON_INGEST__BATCH_SIZE"):
        load_settings()


def test_tls_files_with_the_flat_broker_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("not read here")
    monkeypatch.setenv("ENVMON_MQTT__CA_FILE", str(ca))
    monkeypatch.setenv("ENVMON_MQTT_URL", "mqtts://envmon-collector:s3cr3t@broker:8883")
    assert load_settings().mqtt.ca_file == ca
    monkeypatch.setenv("ENVMON_MQTT_URL", "mqtt://envmon-collector:s3cr3t@broker:1883")
    with pytest.raises(ConfigError, match="apply to TLS only"):
        load_settings()


def test_production_refuses_placeholders_and_embedded_servers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVMON_ENVIRONMENT", "production")
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert "ENVMON_DATABASE_URL: unset" in str(refused.value)
    assert "ENVMON_MQTT_URL: unset" in str(refused.value)
    monkeypatch.setenv("ENVMON_DATABASE_URL", "postgresql://envmon:<password>@db/envmon")
    monkeypatch.setenv("ENVMON_MQTT_URL", "mqtt://broker:1883")
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert "give the database user a real password" in str(refused.value)
    assert "ENVMON_MQTT_URL: no account" in str(refused.value)
    monkeypatch.setenv("ENVMON_DATABASE_URL", "postgresql://envmon:Xq7-fresh-9z@db/envmon")
    monkeypatch.setenv("ENVMON_MQTT_URL", "mqtt://envmon-collector:Xq7-fresh-9z@broker:1883")
    assert load_settings().environment == "production"
