"""What an edge gateway publishes besides readings: the traffic it refused.

The HJ 212 gateway never writes to the database. A frame it cannot accept (bad CRC,
unknown MN, garbage between frames …) is published to ``<root>/hj212/<gateway_id>/dead``
as an :class:`EdgeDeadLetter`, and the collector stores it in ``dead_letter`` like its own
refusals — with the raw bytes the logger sent, the reason, and the MN where readable —
so there is one pipeline for the good and the bad alike.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from ingest.topics import DEFAULT_ROOT, topic_for

EDGE_FEED = "hj212"  # the second topic level of what the gateway publishes about itself
DEAD_KIND = "dead"
MAX_RAW = 8192  # bytes of refused traffic kept per dead letter


class EdgeDeadLetter(BaseModel):
    """One refused frame or span of a logger's stream, as the gateway saw it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1
    received_at: AwareDatetime
    reason: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    detail: str = Field(max_length=300)
    raw_b64: str = Field(max_length=4 * MAX_RAW // 3 + 4, description="the bytes, base64")
    mn: str | None = Field(default=None, max_length=64)
    device_id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    feed: str | None = Field(default=None, pattern=r"^[a-z0-9]{1,20}$")
    device_ts: AwareDatetime | None = None  # the packet's DataTime, when readable
    peer: str | None = Field(default=None, max_length=100)

    @field_validator("raw_b64")
    @classmethod
    def _is_base64(cls, v: str) -> str:
        try:
            base64.b64decode(v, validate=True)
        except binascii.Error:
            raise ValueError("raw_b64 is not base64") from None
        return v

    @property
    def raw(self) -> bytes:
        return base64.b64decode(self.raw_b64)

    @staticmethod
    def encode_raw(raw: bytes) -> str:
        """``raw`` (its first ``MAX_RAW`` bytes) for ``raw_b64``."""
        return base64.b64encode(raw[:MAX_RAW]).decode("ascii")

    def describe(self) -> str:
        """The detail as stored: the MN and the peer first, where known."""
        where = [f"MN={self.mn}"] if self.mn else []
        where += [f"from {self.peer}"] if self.peer else []
        return (f"{', '.join(where)}: " if where else "") + self.detail


def dead_letter_topic(gateway_id: str, root: str = DEFAULT_ROOT) -> str:
    return topic_for(EDGE_FEED, gateway_id, DEAD_KIND, root)
