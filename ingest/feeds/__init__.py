"""The wire contract: one module per feed, each declaring its message kinds.

Adding a feed: write its module, add its name to ``FeedName`` (``_base.py``) and its
``FEED`` to the tuple below; every filter, route parameter and rule file follows.
"""

from typing import get_args

from ingest.feeds import air, v2x, wastewater, water
from ingest.feeds._base import (
    DATA_FLAGS,
    LOCAL_TZ,
    SCHEMA_VERSION,
    VALID_FLAG,
    Aggregates,
    DataFlag,
    Feed,
    FeedName,
    Kind,
    Payload,
)

FEED_NAMES: tuple[FeedName, ...] = get_args(FeedName)
FEEDS: dict[str, Feed] = {f.name: f for f in (wastewater.FEED, air.FEED, water.FEED, v2x.FEED)}
if tuple(FEEDS) != FEED_NAMES:  # a name without its module, or a module without its name
    raise ImportError(f"ingest.feeds: FeedName {FEED_NAMES} != registered feeds {tuple(FEEDS)}")
KINDS: tuple[Kind, ...] = tuple(k for f in FEEDS.values() for k in f.kinds)


def kind_for(feed: str, kind: str) -> Kind | None:
    f = FEEDS.get(feed)
    return f.kind(kind) if f is not None else None


__all__ = [
    "DATA_FLAGS",
    "FEEDS",
    "FEED_NAMES",
    "KINDS",
    "LOCAL_TZ",
    "SCHEMA_VERSION",
    "VALID_FLAG",
    "Aggregates",
    "DataFlag",
    "Feed",
    "FeedName",
    "Kind",
    "Payload",
    "kind_for",
]
