"""What every sender shares: the delivery error, and how a server's words are shown."""

from __future__ import annotations

import logging

import httpx

from ingest.secrets import mask_url, mask_urls


class DeliveryError(Exception):
    """A notice was not delivered. ``detail`` is short and never holds a secret."""

    def __init__(self, channel: str, detail: str, *, retryable: bool) -> None:
        super().__init__(f"{channel}: {detail}")
        self.channel = channel
        self.detail = detail
        self.retryable = retryable


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


def scrub(text: str) -> str:
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
