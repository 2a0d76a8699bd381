"""Notification channels: their configuration (validated at load) and their senders.

A sender delivers one notice once; retrying is the dispatcher's business, told by
``DeliveryError.retryable``. Robot keys, tokens, secrets and passwords never appear in an
error or a log line: URLs are shown with user info, query values and fragment masked.
One module per kind of sender: ``robots`` (webhook, WeCom, DingTalk) and ``smtp``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import httpx

from services.notify.channels.config import (
    CHANNEL_TYPES,
    ChannelConfig,
    DingtalkChannel,
    EmailChannel,
    WebhookChannel,
    WecomChannel,
    describe,
)
from services.notify.channels.delivery import DeliveryError, mask_http_logs
from services.notify.channels.robots import DingtalkSender, WebhookSender, WecomSender
from services.notify.channels.smtp import EmailSender
from services.notify.notice import Notice, ReportNotice

__all__ = [
    "CHANNEL_TYPES",
    "ChannelConfig",
    "DeliveryError",
    "DingtalkChannel",
    "EmailChannel",
    "Sender",
    "WebhookChannel",
    "WecomChannel",
    "describe",
    "sender_for",
]


class Sender(Protocol):
    def send(self, notice: Notice) -> None: ...

    def send_report(self, notice: ReportNotice) -> None: ...


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
