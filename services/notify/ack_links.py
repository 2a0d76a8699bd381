"""Acknowledge links: each firing message carries, per alert, a URL that acknowledges it.

A link is scoped to one notification row — so to one alert, one receiver and one channel
— and signed with HMAC-SHA256 under ``ENVMON_CONSOLE__LINK_SECRET``, which the rule
service (sending) and the API (opening) share. It expires ``link_ttl_h`` after the row was
queued, so a retried message carries the same bytes. The row's id is the link's nonce: a
used link is recorded in ``ack_link_use`` and refused after that.
"""

from __future__ import annotations

import base64
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from ingest.settings import ConsoleSettings

MAC_BYTES = 20  # 160 bits: forging one by guessing is out of reach
_TOKEN = re.compile(r"^(\d{1,19})\.(\d{1,19})\.(\d{1,12})\.([A-Za-z0-9_-]{20,40})$")


@dataclass(frozen=True)
class AckLink:
    notification_id: int
    alert_id: int
    expires: int  # Unix seconds
    mac: str


def _mac(secret: bytes, notification_id: int, alert_id: int, receiver: str, expires: int) -> str:
    message = "\x1f".join(("ack", str(notification_id), str(alert_id), receiver, str(expires)))
    digest = hmac.digest(secret, message.encode(), "sha256")[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_token(
    secret: bytes, notification_id: int, alert_id: int, receiver: str, expires: int
) -> str:
    mac = _mac(secret, notification_id, alert_id, receiver, expires)
    return f"{notification_id}.{alert_id}.{expires}.{mac}"


def parse_token(token: str) -> AckLink | None:
    """The token's parts, or None when it is not shaped like a link at all."""
    m = _TOKEN.match(token)
    if m is None:
        return None
    return AckLink(int(m[1]), int(m[2]), int(m[3]), m[4])


def signature_ok(secret: bytes, link: AckLink, receiver: str) -> bool:
    """The MAC over the link and the receiver its notification row names."""
    expected = _mac(secret, link.notification_id, link.alert_id, receiver, link.expires)
    return hmac.compare_digest(expected, link.mac)


@dataclass(frozen=True)
class AckLinks:
    """What the dispatcher needs to put links in messages."""

    base: str  # the console's public base URL, without a trailing slash
    secret: bytes
    ttl: timedelta

    @classmethod
    def configured(cls, base: str | None, console: ConsoleSettings) -> AckLinks | None:
        """Links to the console at ``base`` under the configured secret and validity; None
        when either is missing."""
        if base is None or console.link_secret is None:
            return None
        secret = console.link_secret.get_secret_value().encode()
        return cls(base, secret, timedelta(hours=console.link_ttl_h))

    def url(self, notification_id: int, alert_id: int, receiver: str, queued: datetime) -> str:
        expires = int((queued + self.ttl).timestamp())
        token = make_token(self.secret, notification_id, alert_id, receiver, expires)
        return f"{self.base}/console/ack/{token}"
