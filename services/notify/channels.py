"""Notification channels: their configuration (validated at load) and their senders.

A sender delivers one notice once; retrying is the dispatcher's business, told by
``DeliveryError.retryable``. Robot keys, tokens, secrets and passwords never appear in an
error or a log line: URLs are shown with user info, query values and fragment masked.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import math
import smtplib
import ssl
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Annotated, Any, Literal, Protocol

import httpx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    field_validator,
    model_validator,
)

from ingest.secrets import mask_url, mask_urls
from services.notify import render
from services.notify.notice import Notice

logger = logging.getLogger(__name__)

WECOM_MAX_BYTES = 4096  # WeCom group robot: markdown content limit (UTF-8 bytes)
DINGTALK_MAX_BYTES = 20000  # DingTalk custom robot: undocumented, about 20 000 bytes
MAX_ANSWER_BYTES = 64 * 1024
WECOM_RETRYABLE = frozenset({-1, 45009})  # system busy, rate limit
DINGTALK_RETRYABLE = frozenset({-1, 130101})  # system busy, sending too fast

Timeout = Annotated[float, Field(gt=0, le=300)]


class DeliveryError(Exception):
    """A notice was not delivered. ``detail`` is short and never holds a secret."""

    def __init__(self, channel: str, detail: str, *, retryable: bool) -> None:
        super().__init__(f"{channel}: {detail}")
        self.channel = channel
        self.detail = detail
        self.retryable = retryable


class _Channel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookChannel(_Channel):
    type: Literal["webhook"] = "webhook"
    url: HttpUrl
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: Timeout = 10

    @field_validator("headers")
    @classmethod
    def _not_reserved(cls, headers: dict[str, str]) -> dict[str, str]:
        reserved = {"content-type", "content-length", "host", "idempotency-key"}
        clash = sorted(name for name in headers if name.lower() in reserved)
        if clash:
            raise ValueError(f"set by the sender, not configurable: {', '.join(clash)}")
        return headers


class WecomChannel(_Channel):
    """WeCom (企业微信) group robot: ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``."""

    type: Literal["wecom"] = "wecom"
    url: HttpUrl
    timeout_s: Timeout = 10

    @field_validator("url")
    @classmethod
    def _has_key(cls, url: HttpUrl) -> HttpUrl:
        return _require_query_param(url, "key")


class DingtalkChannel(_Channel):
    """DingTalk custom robot: ``https://oapi.dingtalk.com/robot/send?access_token=…``."""

    type: Literal["dingtalk"] = "dingtalk"
    url: HttpUrl
    secret: SecretStr | None = None  # set when the robot uses signed mode ("加签")
    timeout_s: Timeout = 10

    @field_validator("url")
    @classmethod
    def _has_token(cls, url: HttpUrl) -> HttpUrl:
        return _require_query_param(url, "access_token")

    @field_validator("secret")
    @classmethod
    def _secret_not_empty(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and not secret.get_secret_value().strip():
            raise ValueError("must not be empty (omit it for an unsigned robot)")
        return secret


class EmailChannel(_Channel):
    type: Literal["email"] = "email"
    host: str = Field(min_length=1)
    port: int = Field(25, ge=1, le=65535)
    starttls: bool = False
    ssl: bool = False  # implicit TLS (SMTPS, usually port 465)
    username: str | None = None
    password: SecretStr | None = None
    sender: str
    to: list[str] = Field(min_length=1)
    timeout_s: Timeout = 10

    @field_validator("sender")
    @classmethod
    def _sender_address(cls, sender: str) -> str:
        return _check_address(sender)

    @field_validator("to")
    @classmethod
    def _to_addresses(cls, to: list[str]) -> list[str]:
        return [_check_address(a) for a in to]

    @model_validator(mode="after")
    def _consistent(self) -> EmailChannel:
        if self.starttls and self.ssl:
            raise ValueError("starttls and ssl are exclusive (ssl: implicit TLS, e.g. port 465)")
        if self.username is not None and self.password is None:
            raise ValueError("username given without password")
        if self.password is not None and self.username is None:
            raise ValueError("password given without username")
        return self


ChannelConfig = Annotated[
    WebhookChannel | WecomChannel | DingtalkChannel | EmailChannel, Field(discriminator="type")
]
CHANNEL_TYPES = ("webhook", "wecom", "dingtalk", "email")


class Sender(Protocol):
    def send(self, notice: Notice) -> None: ...


def sender_for(
    config: ChannelConfig,
    *,
    http: httpx.Client | None = None,
    clock: Callable[[], float] = time.time,
) -> Sender:
    """The sender for one configured channel.

    HTTP senders use ``http`` when given (shared connection pool, owned by the caller),
    else a short-lived client per notice.
    """
    mask_http_logs()
    if isinstance(config, WebhookChannel):
        return WebhookSender(config, http)
    if isinstance(config, WecomChannel):
        return WecomSender(config, http)
    if isinstance(config, DingtalkChannel):
        return DingtalkSender(config, http, clock)
    return EmailSender(config, clock)


def describe(config: ChannelConfig) -> str:
    """The channel as shown in errors and logs, without credentials."""
    if isinstance(config, EmailChannel):
        return f"email {config.host}:{config.port}"
    return f"{config.type} {mask_url(str(config.url), strict=True)}"


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
            f"errcode {code}: {_scrub(message)}".rstrip(": "), retryable=code in retryable_codes
        )


class WebhookSender(_HttpSender):
    """POSTs the notice as JSON; any 2xx is delivered. Receivers dedupe on Idempotency-Key."""

    def __init__(self, config: WebhookChannel, http: httpx.Client | None = None) -> None:
        super().__init__(describe(config), config.timeout_s, http)
        self.config = config

    def send(self, notice: Notice) -> None:
        headers = {**self.config.headers, "Idempotency-Key": notice.idempotency_key}
        status, _ = self._post(str(self.config.url), webhook_body(notice), headers)
        self._check_status(status)
        logger.debug("%s: delivered %s", self.channel, notice.idempotency_key)


class WecomSender(_HttpSender):
    def __init__(self, config: WecomChannel, http: httpx.Client | None = None) -> None:
        super().__init__(describe(config), config.timeout_s, http)
        self.config = config

    def send(self, notice: Notice) -> None:
        content = truncate_utf8(render.markdown(notice), WECOM_MAX_BYTES)
        body = {"msgtype": "markdown", "markdown": {"content": content}}
        status, answer = self._post(str(self.config.url), body)
        self._robot_answer(status, answer, WECOM_RETRYABLE)
        logger.debug("%s: delivered %s", self.channel, notice.idempotency_key)


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
        text = truncate_utf8(render.markdown(notice), DINGTALK_MAX_BYTES)
        body = {"msgtype": "markdown", "markdown": {"title": render.title(notice), "text": text}}
        status, answer = self._post(self.signed_url(), body)
        self._robot_answer(status, answer, DINGTALK_RETRYABLE)
        logger.debug("%s: delivered %s", self.channel, notice.idempotency_key)

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


class EmailSender:
    """One multipart (text/plain + text/html) message per notice, over SMTP."""

    def __init__(self, config: EmailChannel, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.channel = describe(config)
        self._clock = clock

    def send(self, notice: Notice) -> None:
        message = self.message(notice)
        try:
            with self._connect() as smtp:
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            retryable = any(400 <= code < 500 for code in codes)
            raise self._error(f"all recipients refused (SMTP {codes})", retryable) from None
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
            raise self._error(
                f"SMTP {code} {_smtp_text(exc.smtp_error)}", 400 <= code < 500
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise self._error("server does not support STARTTLS or AUTH", False) from None
        except ssl.SSLCertVerificationError as exc:
            raise self._error(f"certificate not trusted ({exc.verify_message})", False) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise self._error(f"connection failed ({type(exc).__name__})", True) from None
        if refused:
            # Delivered to the others: a retry would send them the notice twice.
            logger.warning(
                "%s: %s refused %s", self.channel, notice.idempotency_key, sorted(refused)
            )
        logger.debug("%s: delivered %s", self.channel, notice.idempotency_key)

    def message(self, notice: Notice) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = render.title(notice)
        message["From"] = self.config.sender
        message["To"] = ", ".join(self.config.to)
        message["Date"] = formatdate(self._clock(), localtime=False)
        message["Message-ID"] = message_id(notice.idempotency_key)
        message.set_content(render.plain(notice))
        message.add_alternative(render.html(notice), subtype="html")
        return message

    @contextlib.contextmanager
    def _connect(self) -> Iterator[smtplib.SMTP]:
        c = self.config
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if c.ssl:
            smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout_s)
        with smtp:
            if c.starttls:
                smtp.starttls(context=context)
            if c.username is not None and c.password is not None:
                smtp.login(c.username, c.password.get_secret_value())
            yield smtp

    def _error(self, detail: str, retryable: bool) -> DeliveryError:
        return DeliveryError(self.channel, detail, retryable=retryable)


def message_id(idempotency_key: str) -> str:
    """The same key gives the same Message-ID, so a re-sent mail threads as a duplicate."""
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}@envmon>"


def webhook_body(n: Notice) -> dict[str, Any]:
    return {
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
            }
            for s in n.subjects
        ],
        "limit": n.limit,
        "standard": n.standard,
        "clause": n.clause,
        "edition": n.edition,
        "link": n.link,
    }


def truncate_utf8(text: str, max_bytes: int, marker: str = "\n…") -> str:
    """At most ``max_bytes`` UTF-8 bytes, cut at a line end if one is near, never mid-character."""
    if len(text.encode()) <= max_bytes:
        return text
    budget = max_bytes - len(marker.encode())
    cut = text.encode()[:budget].decode(errors="ignore")
    line_end = cut.rfind("\n")
    if line_end > len(cut) // 2:
        cut = cut[:line_end]
    return cut + marker


def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_ANSWER_BYTES:
            break
    return b"".join(chunks)[:MAX_ANSWER_BYTES]


def _require_query_param(url: HttpUrl, name: str) -> HttpUrl:
    values = [v for k, v in url.query_params() if k == name]
    if not values or not values[0].strip():
        raise ValueError(f"the URL must carry the {name!r} query parameter")
    return url


def _check_address(address: str) -> str:
    _, addr = parseaddr(address)
    if "@" not in addr or any(ch in address for ch in "\r\n"):
        raise ValueError("not an e-mail address")
    return address


def _smtp_text(error: bytes | str) -> str:
    text = error.decode(errors="replace") if isinstance(error, bytes) else error
    return _scrub(" ".join(text.split()))[:120]


def _scrub(text: str) -> str:
    """Text a server sent back, on one line, its URLs (robot keys) masked."""
    return mask_urls(" ".join(text.split()), strict=True)


class _MaskUrlQuery(logging.Filter):
    """httpx logs every request with its full URL, robot key included, at INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                mask_url(str(a), strict=True) if isinstance(a, httpx.URL) else a
                for a in record.args
            )
        return True


_MASK = _MaskUrlQuery()


def mask_http_logs() -> None:
    """Keep robot keys out of httpx's request log lines (once a sender exists)."""
    http_log = logging.getLogger("httpx")
    if _MASK not in http_log.filters:
        http_log.addFilter(_MASK)
