"""Secrets masked in URLs and text: passwords, query keys and tokens, strict mode."""

from __future__ import annotations

import pytest

from ingest.secrets import mask_url, mask_urls
from ingest.settings import ConfigError, Settings, load_settings


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:secret@db:5432/envmon", "postgresql://u:***@db:5432/envmon"),
        ("postgresql://u:s%40cr%3At@db/envmon", "postgresql://u:***@db/envmon"),
        ("postgresql://u:p@ss:w@db/envmon", "postgresql://u:***@db/envmon"),
        ("mqtt://envmon@127.0.0.1:1883", "mqtt://envmon@127.0.0.1:1883"),
        ("mqtt://:secret@[::1]:1883", "mqtt://:***@[::1]:1883"),
        ("mqtt://broker:1883", "mqtt://broker:1883"),
        (
            "postgresql://u@db/envmon?sslmode=require&password=secret",
            "postgresql://u@db/envmon?sslmode=require&password=***",
        ),
        (
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K-1",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***",
        ),
        (
            "https://oapi.dingtalk.com/robot/send?access_token=T&timestamp=1&sign=S%3D",
            "https://oapi.dingtalk.com/robot/send?access_token=***&timestamp=1&sign=***",
        ),
        ("https://h/x?API_KEY=1&page=2", "https://h/x?API_KEY=***&page=2"),
        ("http://[::1/x", "***"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_strict_masks_the_user_every_query_value_and_the_fragment() -> None:
    url = "https://tok@hooks.example.org/in/abc?code=C&k=V&bare#frag"
    assert (
        mask_url(url, strict=True) == "https://***@hooks.example.org/in/abc?code=***&k=***&***#***"
    )
    assert mask_url("https://example.org/hook", strict=True) == "https://example.org/hook"


def test_mask_urls_in_text() -> None:
    text = 'failed: "https://h/send?key=K1", retry postgresql://u:pw@db/x later'
    assert (
        mask_urls(text) == 'failed: "https://h/send?key=***", retry postgresql://u:***@db/x later'
    )
    assert "K1" not in mask_urls(text, strict=True)
    assert mask_urls("no url here: key=K1") == "no url here: key=K1"


def test_settings_describe_masks_every_url() -> None:
    s = Settings.model_validate(
        {
            "mqtt": {"url": "mqtt://collector:mq-secret@broker:1883"},
            "database": {"url": "postgresql://u:db-secret@db/envmon"},
            "grafana": {"url": "https://admin:gf-secret@grafana:3000", "token": "gf-token"},
        }
    )
    described = str(s.describe())
    for secret in ("mq-secret", "db-secret", "gf-secret", "gf-token"):
        assert secret not in described
    assert "mqtt://collector:***@broker:1883" in described
    assert "postgresql://u:***@db/envmon" in described


def test_a_bad_mqtt_url_is_named_without_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVMON_MQTT_URL", "http://u:hunter2@broker")
    with pytest.raises(ConfigError, match=r"got 'http://u:\*\*\*@broker'") as err:
        load_settings()
    assert "hunter2" not in str(err.value)
