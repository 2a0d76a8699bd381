"""Notification channels against real local servers (HTTP and SMTP), rendering, routing."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter, ValidationError

from services.notify import render
from services.notify.channels import (
    ChannelConfig,
    DeliveryError,
    DingtalkChannel,
    EmailChannel,
    WebhookChannel,
    WecomChannel,
    sender_for,
)
from services.notify.notice import Notice, SubjectLine
from services.notify.routing import RoutingError, default_routing, load_routing
from tests.fixtures.receivers import HttpServer, MailHandler, Reply, free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "notify.example.yaml"
WECOM_KEY = "wecom-key-0123456789"
DING_TOKEN = "ding-token-abcdef"  # noqa: S105 - a test value
DING_SECRET = "SECtest-secret-不要泄露"  # noqa: S105 - a test value
FIXED_NOW = 1764469260.123  # 2025-11-30 02:21:00.123Z


# --- notices --------------------------------------------------------------------------


def _subject(i: int = 0, value: float | None = 6.23456) -> SubjectLine:
    return SubjectLine(
        subject=f"wwtp-guantang-{i}" if i else "wwtp-guantang",
        name_zh="官塘污水处理厂" + (f"{i}号" if i else ""),
        name_en="Guantang WWTP" + (f" #{i}" if i else ""),
        area="官塘片区",
        value=value,
        window_start=datetime(2026, 11, 30, 2, 0, tzinfo=UTC),
        window_end=datetime(2026, 11, 30, 3, 0, tzinfo=UTC),
    )


def _notice(**changes: Any) -> Notice:
    notice = Notice(
        idempotency_key="ww-effluent-nh3n/wwtp-guantang/firing/1/eco-bureau",
        receiver="eco-bureau",
        transition="firing",
        rule_id="ww-effluent-nh3n-daily",
        title_zh="出水氨氮日均值超标",
        title_en="Effluent NH3-N daily mean above limit",
        severity="critical",
        feed="wastewater",
        measure_zh="出水氨氮日均值",
        measure_en="effluent NH3-N daily mean",
        unit="mg/L",
        limit="> 5 mg/L (水温 ≤ 12 °C 时 8)",
        standard="GB 18918-2002",
        clause="表1 一级A",
        edition=None,
        at=datetime(2026, 11, 30, 2, 21, tzinfo=UTC),
        subjects=(_subject(),),
        link="http://localhost:3000/d/ww/effluent?var-site=wwtp-guantang",
    )
    return dataclasses.replace(notice, **changes)


def _channel(data: dict[str, Any]) -> ChannelConfig:
    return TypeAdapter(ChannelConfig).validate_python(data)


# --- webhook --------------------------------------------------------------------------


def test_webhook_posts_the_notice_with_idempotency_key(http_server: HttpServer) -> None:
    config = WebhookChannel(url=http_server.url("/hook"), headers={"X-Team": "eco"})
    notice = _notice()

    sender_for(config).send(notice)

    (req,) = http_server.requests
    assert req.path == "/hook"
    assert req.headers["idempotency-key"] == notice.idempotency_key
    assert req.headers["x-team"] == "eco"
    assert req.headers["content-type"].startswith("application/json")
    body = req.json()
    assert body["idempotency_key"] == notice.idempotency_key
    assert body["receiver"] == "eco-bureau"
    assert body["transition"] == "firing"
    assert body["rule_id"] == "ww-effluent-nh3n-daily"
    assert body["severity"] == "critical"
    assert body["feed"] == "wastewater"
    assert body["title"] == render.title(notice)
    assert body["text"] == render.markdown(notice)
    assert datetime.fromisoformat(body["at"]) == notice.at
    assert body["limit"] == notice.limit
    assert (body["standard"], body["clause"], body["edition"]) == (
        "GB 18918-2002",
        "表1 一级A",
        None,
    )
    assert body["link"] == notice.link
    (subject,) = body["subjects"]
    assert subject["subject"] == "wwtp-guantang"
    assert subject["name_zh"] == "官塘污水处理厂"
    assert subject["value"] == pytest.approx(6.23456)
    assert datetime.fromisoformat(subject["window_start"]) == _subject().window_start


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (400, False)])
def test_webhook_http_errors(http_server: HttpServer, status: int, retryable: bool) -> None:
    http_server.replies.append(Reply(status=status, body=b"{}"))
    sender = sender_for(WebhookChannel(url=http_server.url("/hook")))

    with pytest.raises(DeliveryError) as caught:
        sender.send(_notice())

    assert caught.value.retryable is retryable
    assert str(status) in caught.value.detail


def test_a_hanging_server_is_a_quick_retryable_error(http_server: HttpServer) -> None:
    http_server.replies.append(Reply(hang=True))
    sender = sender_for(WebhookChannel(url=http_server.url("/hook"), timeout_s=0.5))

    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        sender.send(_notice())

    assert time.monotonic() - started < 3
    assert caught.value.retryable
    assert "timeout" in caught.value.detail


def test_connection_refused_is_retryable() -> None:
    sender = sender_for(WebhookChannel(url=f"http://127.0.0.1:{free_port()}/hook"))

    with pytest.raises(DeliveryError) as caught:
        sender.send(_notice())

    assert caught.value.retryable


# --- WeCom ----------------------------------------------------------------------------


@pytest.fixture
def http_client() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def _wecom(server: HttpServer) -> WecomChannel:
    return WecomChannel(url=server.url(f"/cgi-bin/webhook/send?key={WECOM_KEY}"))


def test_wecom_markdown_message(http_server: HttpServer, http_client: httpx.Client) -> None:
    notice = _notice()

    sender_for(_wecom(http_server), http=http_client).send(notice)

    (req,) = http_server.requests
    assert req.path == "/cgi-bin/webhook/send"
    assert req.query == {"key": [WECOM_KEY]}
    assert req.json() == {"msgtype": "markdown", "markdown": {"content": render.markdown(notice)}}


def test_wecom_content_is_cut_to_4096_utf8_bytes(http_server: HttpServer) -> None:
    notice = _notice(subjects=tuple(_subject(i) for i in range(1, 61)))
    assert len(render.markdown(notice).encode()) > 4096

    sender_for(_wecom(http_server)).send(notice)

    content = http_server.requests[0].json()["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert content.startswith(render.markdown(notice)[:100])
    assert content.endswith("…")


@pytest.mark.parametrize(
    ("answer", "retryable", "detail"),
    [
        (b'{"errcode": 45009, "errmsg": "api freq out of limit"}', True, "errcode 45009"),
        (
            b'{"errcode": 93000, "errmsg": "invalid webhook url, more info at '
            b'https://open.work.weixin.qq.com/devtool/query?e=93000"}',
            False,
            "errcode 93000",
        ),
        (b"<html>502 Bad Gateway</html>", True, "unparseable answer"),
        (b'{"errmsg": "ok"}', True, "unparseable answer"),
    ],
)
def test_wecom_errcodes(
    http_server: HttpServer,
    http_client: httpx.Client,
    answer: bytes,
    retryable: bool,
    detail: str,
) -> None:
    http_server.replies.append(Reply(body=answer))

    with pytest.raises(DeliveryError) as caught:
        sender_for(_wecom(http_server), http=http_client).send(_notice())

    assert caught.value.retryable is retryable
    assert detail in caught.value.detail
    assert WECOM_KEY not in str(caught.value)
    assert WECOM_KEY not in caught.value.channel


def test_wecom_http_5xx_is_retryable(http_server: HttpServer) -> None:
    http_server.replies.append(Reply(status=502, body=b"bad gateway"))

    with pytest.raises(DeliveryError) as caught:
        sender_for(_wecom(http_server)).send(_notice())

    assert caught.value.retryable


def test_the_robot_key_is_not_logged(
    http_server: HttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")

    sender_for(_wecom(http_server)).send(_notice())

    assert "HTTP Request" in caplog.text  # httpx did log the request, without its query
    assert WECOM_KEY not in caplog.text


# --- DingTalk -------------------------------------------------------------------------


def _dingtalk(server: HttpServer, secret: str | None = None) -> DingtalkChannel:
    return _channel(
        {
            "type": "dingtalk",
            "url": server.url(f"/robot/send?access_token={DING_TOKEN}"),
            "secret": secret,
        }
    )  # type: ignore[return-value]


def test_dingtalk_unsigned(http_server: HttpServer) -> None:
    notice = _notice()

    sender_for(_dingtalk(http_server)).send(notice)

    (req,) = http_server.requests
    assert req.path == "/robot/send"
    assert req.query == {"access_token": [DING_TOKEN]}
    assert req.json() == {
        "msgtype": "markdown",
        "markdown": {"title": render.title(notice), "text": render.markdown(notice)},
    }


def test_dingtalk_signed(http_server: HttpServer) -> None:
    sender = sender_for(_dingtalk(http_server, DING_SECRET), clock=lambda: FIXED_NOW)

    sender.send(_notice())

    (req,) = http_server.requests
    assert req.query["access_token"] == [DING_TOKEN]
    (timestamp,) = req.query["timestamp"]
    (sign,) = req.query["sign"]
    assert timestamp == "1764469260123"
    digest = hmac.new(
        DING_SECRET.encode(), f"{timestamp}\n{DING_SECRET}".encode(), hashlib.sha256
    ).digest()
    assert sign == base64.b64encode(digest).decode()
    assert DING_SECRET not in req.body.decode()


@pytest.mark.parametrize(
    ("answer", "retryable"),
    [
        (b'{"errcode": 130101, "errmsg": "send too fast"}', True),
        (b'{"errcode": 310000, "errmsg": "sign not match"}', False),
        (b"not json at all", True),
    ],
)
def test_dingtalk_errcodes(http_server: HttpServer, answer: bytes, retryable: bool) -> None:
    http_server.replies.append(Reply(body=answer))
    sender = sender_for(_dingtalk(http_server, DING_SECRET), clock=lambda: FIXED_NOW)

    with pytest.raises(DeliveryError) as caught:
        sender.send(_notice())

    assert caught.value.retryable is retryable
    assert DING_TOKEN not in str(caught.value)
    assert DING_SECRET not in str(caught.value)


# --- e-mail ---------------------------------------------------------------------------


def _email(port: int) -> EmailChannel:
    return EmailChannel(
        host="127.0.0.1",
        port=port,
        sender="柳东环境监测 <envmon@example.org>",
        to=["duty@example.org", "eco@example.org"],
        timeout_s=5,
    )


def test_email_is_received_with_both_parts(smtp_server: tuple[MailHandler, int]) -> None:
    handler, port = smtp_server
    notice = _notice()

    sender_for(_email(port), clock=lambda: FIXED_NOW).send(notice)

    (message,) = handler.messages
    assert message["Subject"] == render.title(notice)
    assert "官塘污水处理厂" in message["Subject"]
    assert handler.envelopes == [("envmon@example.org", ["duty@example.org", "eco@example.org"])]
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content() == render.plain(notice).replace("\r\n", "\n")
    html_text = html.get_content()
    assert "官塘污水处理厂" in html_text
    assert "&gt; 5 mg/L" in html_text


def test_email_message_id_follows_the_idempotency_key(
    smtp_server: tuple[MailHandler, int],
) -> None:
    handler, port = smtp_server
    sender = sender_for(_email(port))

    sender.send(_notice())
    sender.send(_notice())
    sender.send(_notice(idempotency_key="another"))

    ids = [m["Message-ID"] for m in handler.messages]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].endswith("@envmon>")


@pytest.mark.parametrize(
    ("answer", "retryable"), [("451 4.3.0 try again later", True), ("554 5.7.1 rejected", False)]
)
def test_email_smtp_errors(
    smtp_server: tuple[MailHandler, int], answer: str, retryable: bool
) -> None:
    handler, port = smtp_server
    handler.answer = answer

    with pytest.raises(DeliveryError) as caught:
        sender_for(_email(port)).send(_notice())

    assert caught.value.retryable is retryable
    assert answer[:3] in caught.value.detail


def test_email_connection_refused_is_retryable() -> None:
    with pytest.raises(DeliveryError) as caught:
        sender_for(_email(free_port())).send(_notice())

    assert caught.value.retryable


# --- channel validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"type": "webhook", "url": "ftp://example.org/x"}, "url"),
        ({"type": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"}, "'key'"),
        ({"type": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send"}, "access_token"),
        (
            {"type": "email", "host": "h", "sender": "a@b.c", "to": ["x@y.z"]}
            | {"starttls": True, "ssl": True},
            "exclusive",
        ),
        (
            {"type": "email", "host": "h", "sender": "a@b.c", "to": ["x@y.z"], "username": "u"},
            "without password",
        ),
        ({"type": "email", "host": "h", "sender": "a@b.c", "to": []}, "to"),
        ({"type": "email", "host": "h", "sender": "nobody", "to": ["x@y.z"]}, "e-mail address"),
        ({"type": "sms", "url": "https://example.org"}, "type"),
        (
            {"type": "webhook", "url": "http://h/x", "headers": {"idempotency-key": "k"}},
            "not configurable",
        ),
    ],
)
def test_channel_misconfigurations(data: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        _channel(data)


# --- rendering ------------------------------------------------------------------------


def test_chinese_text() -> None:
    notice = _notice(edition="HJ 633-2026")

    text = render.markdown(notice)

    assert render.title(notice) == "【告警】出水氨氮日均值超标 · 官塘污水处理厂"
    assert "严重" in text
    assert "官塘污水处理厂" in text
    assert "官塘片区" in text
    assert "6.235 mg/L" in text
    assert "> 5 mg/L (水温 ≤ 12 °C 时 8)" in text
    assert "GB 18918-2002 表1 一级A" in text
    assert "HJ 633-2026" in text
    assert "2026-11-30 10:00–11:00" in text
    assert "2026-11-30 10:21 (UTC+8)" in text
    assert notice.link is not None
    assert f"({notice.link})" in text
    assert "ww-effluent-nh3n-daily" in text
    plain = render.plain(notice)
    assert "6.235 mg/L" in plain
    assert "**" not in plain
    assert "](" not in plain


def test_resolved_and_several_subjects_title() -> None:
    notice = _notice(transition="resolved", subjects=(_subject(1), _subject(2), _subject(3)))

    assert render.title(notice) == "【恢复】出水氨氮日均值超标 · 3 个站点/设备"


def test_english_text() -> None:
    notice = _notice(language="en", subjects=(_subject(value=None),))

    text = render.markdown(notice)

    assert render.title(notice) == "[FIRING] Effluent NH3-N daily mean above limit · Guantang WWTP"
    assert "Critical" in text
    assert "effluent NH3-N daily mean — " not in text
    assert "effluent NH3-N daily mean —," in text
    assert "2026-11-30 10:21 (UTC+8)" in text
    assert render.title(_notice(language="en", transition="resolved")).startswith("[RESOLVED] ")


def test_sixty_subjects_are_capped_at_fifty_lines() -> None:
    notice = _notice(subjects=tuple(_subject(i) for i in range(1, 61)))

    text = render.markdown(notice)
    english = render.plain(_notice(language="en", subjects=notice.subjects))

    assert "官塘污水处理厂50号" in text
    assert "官塘污水处理厂51号" not in text
    assert "… 另有 10 个" in text
    assert "… and 10 more" in english


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (None, "mg/L", "—"),
        (6.23456, "mg/L", "6.235 mg/L"),
        (35.0, "µg/m³", "35 µg/m³"),
        (0.000423, "mg/L", "0.000423 mg/L"),
        (97.5, "%", "97.5%"),
        (12.0, "", "12"),
    ],
)
def test_value_format(value: float | None, unit: str, expected: str) -> None:
    assert render.format_value(value, unit) == expected


def test_window_over_a_local_day_and_across_days() -> None:
    day_start = datetime(2026, 11, 29, 16, tzinfo=UTC)  # 2026-11-30 00:00 +08

    assert render.format_window(day_start, day_start + timedelta(days=1)) == (
        "2026-11-30 00:00–24:00"
    )
    assert render.format_window(day_start, day_start + timedelta(days=2, hours=1)) == (
        "2026-11-30 00:00 – 2026-12-02 01:00"
    )


# --- routing --------------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "notify.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_file_loads() -> None:
    config = load_routing(EXAMPLE)

    types = {c.type for r in config.receivers.values() for c in r.channels}
    assert types == {"webhook", "wecom", "dingtalk", "email"}
    assert config.group_wait_s == 30
    assert config.link_base == "http://localhost:3000"
    assert config.receivers_for("air", "air-pm25-hourly", "critical", "A1") == [
        "eco-bureau",
        "emergency-office",
    ]


def test_unknown_receiver_in_a_route(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "receivers:\n  eco-bureau: {name: 生态环境分局}\n"
        "routes:\n  - {match: {feed: air}, receivers: [eco-bureau, nobody]}\n",
    )

    with pytest.raises(RoutingError, match=r"notify\.yaml: routes\.0\.receivers: .*nobody"):
        load_routing(path)


def test_a_bad_url_names_the_field(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "receivers:\n  eco-bureau:\n    name: 生态环境分局\n"
        "    channels:\n      - {type: webhook, url: 'not a url'}\n",
    )

    with pytest.raises(RoutingError) as caught:
        load_routing(path)

    assert str(caught.value).startswith("notify.yaml: receivers.eco-bureau.channels.0.url: ")


def test_a_wecom_url_without_key_is_rejected_without_quoting_it(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "receivers:\n  ops:\n    name: ops\n    channels:\n"
        "      - {type: wecom, url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?k=secret1'}\n",
    )

    with pytest.raises(RoutingError) as caught:
        load_routing(path)

    assert "receivers.ops.channels.0.url" in str(caught.value)
    assert "'key'" in str(caught.value)
    assert "secret1" not in str(caught.value)


def test_yaml_errors_name_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "receivers:\n  ops: {name: ops\nroutes: []\n")

    with pytest.raises(RoutingError, match=r"notify\.yaml: line \d+"):
        load_routing(path)


def test_duplicate_receiver_ids_are_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "receivers:\n  ops: {name: a}\n  ops: {name: b}\n")

    with pytest.raises(RoutingError, match=r"line 3.*duplicate key 'ops'"):
        load_routing(path)


def test_receivers_for_matches_globs_and_all_given_keys(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "receivers:\n  a: {name: A}\n  b: {name: B}\n  c: {name: C}\n"
        "routes:\n"
        "  - {match: {rule: ['ww-effluent-*']}, receivers: [a]}\n"
        "  - {match: {feed: [wastewater], area: [LD-*], severity: [critical, major]},"
        " receivers: [b, a]}\n"
        "  - {match: {}, receivers: [c]}\n",
    )
    config = load_routing(path)

    assert config.receivers_for("wastewater", "ww-effluent-cod", "major", "LD-01") == [
        "a",
        "b",
        "c",
    ]
    assert config.receivers_for("wastewater", "ww-effluent-cod", "minor", "LD-01") == ["a", "c"]
    assert config.receivers_for("wastewater", "ww-inflow", "critical", None) == ["c"]
    assert config.receivers_for("air", "air-pm25", "critical", "LD-01") == ["c"]


def test_default_routing() -> None:
    config = default_routing()

    assert config.receivers_for("air", "air-pm25-hourly", "critical", "A1") == [
        "eco-bureau",
        "emergency-office",
    ]
    assert config.receivers_for("air", "air-pm25-hourly", "major", "A1") == ["eco-bureau"]
    assert config.receivers_for("wastewater", "ww-effluent-nh3n-daily", "major", None) == [
        "eco-bureau"
    ]
    assert config.receivers_for("wastewater", "ww-treatment-rate-monthly", "minor", None) == [
        "planning-office"
    ]
    assert config.receivers_for("water", "water-leakage-dma", "minor", "dma-03") == [
        "planning-office",
        "water-utility",
    ]
    assert config.receivers_for("v2x", "v2x-offline", "major", None) == ["iov-ops"]
    assert all(not r.channels for r in config.receivers.values())
    assert config.receivers["emergency-office"].name == "区应急办"


def test_every_rendering_carries_each_subjects_acknowledge_link() -> None:
    url = "https://console.example/console/ack/41.7.1900000000.abcdefghijklmnopqrstuvwxyz0"
    second = dataclasses.replace(_subject(), subject="wwtp-pangu", ack_link=None)
    notice = _notice(subjects=(dataclasses.replace(_subject(), ack_link=url), second))
    assert f"[确认告警]({url})" in render.markdown(notice)
    assert render.markdown(notice).count("确认告警") == 1  # the subject without a link has none
    assert f"确认告警：{url}" in render.plain(notice)
    assert f'<a href="{url}">确认告警</a>' in render.html(notice)
    english = dataclasses.replace(notice, language="en")
    assert f"[Acknowledge]({url})" in render.markdown(english)
