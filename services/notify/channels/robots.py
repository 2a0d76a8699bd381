"""HTTP senders: the generic webhook, the WeCom and the DingTalk group robots."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import math
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from services.notify import render, render_report
from services.notify.channels.config import (
    DingtalkChannel,
    WebhookChannel,
    WecomChannel,
    describe,
)
from services.notify.channels.delivery import DeliveryError, scrub, truncate_utf8
from services.notify.notice import Notice, ReportNotice

logger = logging.getLogger(__name__)

WECOM_MAX_BYTES = 4096  # WeCom group robot: markdown content limit (UTF-8 bytes)
DINGTALK_MAX_BYTES = 20000  # DingTalk custom robot: undocumented, about 20 000 bytes
MAX_ANSWER_BYTES = 64 * 1024
WECOM_RETRYABLE = frozenset({-1, 45009})  # system busy, rate limit
DINGTALK_RETRYABLE = frozenset({-1, 130101})  # system busy, sending too fast


class _HttpSender:
    def __init__(self, channel: str, timeout_s: float, http: httpx.Client | None) -> None:
        self.channel = channel
        self._timeout = httpx.Timeout(timeout_s)
        self._http = http

    def _post(
        self, url: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> tuple[int, bytes]:
        """POST the JSON body; the status and (at most 64 KiB of) the answer."""
        data = json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
        all_headers = {**(headers or {}), "Content-Type": "application/json; charset=utf-8"}
        try:
            with (
                self._client() as client,
                client.stream(
                    "POST", url, content=data, headers=all_headers, timeout=self._timeout
                ) as response,
            ):
                return response.status_code, _read_capped(response)
        except httpx.TimeoutException as exc:
            raise self._error(f"timeout ({type(exc).__name__})", retryable=True) from None
        except httpx.TransportError as exc:
            # The message of a transport error may quote the URL: keep the class name only.
            raise self._error(f"transport error ({type(exc).__name__})", retryable=True) from None
        except httpx.HTTPError as exc:  # e.g. a broken gzip answer
            raise self._error(f"HTTP error ({type(exc).__name__})", retryable=True) from None

    def _client(self) -> contextlib.AbstractContextManager[httpx.Client]:
        if self._http is not None:
            return contextlib.nullcontext(self._http)
        return httpx.Client(timeout=self._timeout, follow_redirects=False)

    def _error(self, detail: str, *, retryable: bool) -> DeliveryError:
        return DeliveryError(self.channel, detail, retryable=retryable)

    def _check_status(self, status: int) -> None:
        if 200 <= status < 300:
            return
        retryable = status >= 500 or status in (408, 425, 429)
        raise self._error(f"HTTP {status}", retryable=retryable)

    def _robot_answer(self, status: int, answer: bytes, retryable_codes: frozenset[int]) -> None:
        """WeCom and DingTalk robots: HTTP 200 and ``{"errcode": 0, ...}`` is success."""
        self._check_status(status)
        try:
            parsed = json.loads(answer)
        except (UnicodeDecodeError, json.JSONDecodeError):
            parsed = None
        code = parsed.get("errcode") if isinstance(parsed, dict) else None
        if not isinstance(code, int) or isinstance(code, bool):
            raise self._error("unparseable answer", retryable=True)
        if code == 0:
            return
        assert isinstance(parsed, dict)
        message = str(parsed.get("errmsg", ""))[:120]
        raise self._error(
            f"errcode {code}: {scrub(message)}".rstrip(": "), retryable=code in retryable_codes
        )


class WebhookSender(_HttpSender):
    """POSTs the notice as JSON; any 2xx is delivered. Receivers dedupe on Idempotency-Key."""

    def __init__(self, config: WebhookChannel, http: httpx.Client | None = None) -> None:
        super().__init__(describe(config), config.timeout_s, http)
        self.config = config

    def send(self, notice: Notice) -> None:
        self._deliver(webhook_body(notice), notice.idempotency_key)

    def send_report(self, notice: ReportNotice) -> None:
        self._deliver(report_body(notice), notice.idempotency_key)

    def _deliver(self, body: Mapping[str, Any], key: str) -> None:
        headers = {**self.config.headers, "Idempotency-Key": key}
        status, _ = self._post(str(self.config.url), body, headers)
        self._check_status(status)
        logger.debug("%s: delivered %s", self.channel, key)


class WecomSender(_HttpSender):
    def __init__(self, config: WecomChannel, http: httpx.Client | None = None) -> None:
        super().__init__(describe(config), config.timeout_s, http)
        self.config = config

    def send(self, notice: Notice) -> None:
        self._deliver(render.markdown(notice), notice.idempotency_key)

    def send_report(self, notice: ReportNotice) -> None:
        self._deliver(render_report.markdown(notice), notice.idempotency_key)

    def _deliver(self, markdown: str, key: str) -> None:
        content = truncate_utf8(markdown, WECOM_MAX_BYTES)
        body = {"msgtype": "markdown", "markdown": {"content": content}}
        status, answer = self._post(str(self.config.url), body)
        self._robot_answer(status, answer, WECOM_RETRYABLE)
        logger.debug("%s: delivered %s", self.channel, key)


class DingtalkSender(_HttpSender):
    def __init__(
        self,
        config: DingtalkChannel,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(describe(config), config.timeout_s, http)
        self.config = config
        self._clock = clock

    def send(self, notice: Notice) -> None:
        self._deliver(render.title(notice), render.markdown(notice), notice.idempotency_key)

    def send_report(self, notice: ReportNotice) -> None:
        self._deliver(
            render_report.title(notice), render_report.markdown(notice), notice.idempotency_key
        )

    def _deliver(self, title: str, markdown: str, key: str) -> None:
        text = truncate_utf8(markdown, DINGTALK_MAX_BYTES)
        body = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        status, answer = self._post(self.signed_url(), body)
        self._robot_answer(status, answer, DINGTALK_RETRYABLE)
        logger.debug("%s: delivered %s", self.channel, key)

    def signed_url(self) -> str:
        url = str(self.config.url)
        if self.config.secret is None:
            return url
        timestamp = str(round(self._clock() * 1000))
        sign = dingtalk_sign(self.config.secret.get_secret_value(), timestamp)
        return f"{url}&timestamp={timestamp}&sign={urllib.parse.quote_plus(sign)}"


def dingtalk_sign(secret: str, timestamp: str) -> str:
    """Base64 of HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}"), before URL-encoding."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_body(n: Notice) -> dict[str, Any]:
    return {
        "kind": "alert",
        "idempotency_key": n.idempotency_key,
        "receiver": n.receiver,
        "transition": n.transition,
        "rule_id": n.rule_id,
        "severity": n.severity,
        "feed": n.feed,
        "title": render.title(n),
        "text": render.markdown(n),
        "at": n.at.isoformat(),
        "unit": n.unit,
        "subjects": [
            {
                "subject": s.subject,
                "name_zh": s.name_zh,
                "name_en": s.name_en,
                "area": s.area,
                "value": s.value if s.value is not None and math.isfinite(s.value) else None,
                "window_start": s.window_start.isoformat(),
                "window_end": s.window_end.isoformat(),
                "detail": s.detail,
                "ack_link": s.ack_link,
            }
            for s in n.subjects
        ],
        "limit": n.limit,
        "standard": n.standard,
        "clause": n.clause,
        "edition": n.edition,
        "link": n.link,
    }


def report_body(n: ReportNotice) -> dict[str, Any]:
    """A report as JSON: the headline, the link, and each file in base64."""
    return {
        "kind": "report",
        "idempotency_key": n.idempotency_key,
        "receiver": n.receiver,
        "report": n.report,
        "period": n.period,
        "title": render_report.title(n),
        "text": render_report.markdown(n),
        "headline": list(n.headline),
        "link": n.link,
        "files": [
            {
                "filename": f.filename,
                "media_type": f.media_type,
                "size": len(f.content),
                "content_base64": base64.b64encode(f.content).decode(),
            }
            for f in n.files
        ],
    }


def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_ANSWER_BYTES:
            break
    return b"".join(chunks)[:MAX_ANSWER_BYTES]
