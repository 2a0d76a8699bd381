"""The wire contract: one module per feed, each declaring its message kinds."""

from ingest.feeds import air, v2x, wastewater, water
from ingest.feeds._base import LOCAL_TZ, SCHEMA_VERSION, Aggregates, Feed, Kind, Payload

FEEDS: dict[str, Feed] = {f.name: f for f in (wastewater.FEED, air.FEED, water.FEED, v2x.FEED)}
KINDS: tuple[Kind, ...] = tuple(k for f in FEEDS.values() for k in f.kinds)


def kind_for(feed: str, kind: str) -> Kind | None:
    f = FEEDS.get(feed)
    return f.kind(kind) if f is not None else None


__all__ = [
    "FEEDS",
    "KINDS",
    "LOCAL_TZ",
    "SCHEMA_VERSION",
    "Aggregates",
    "Feed",
    "Kind",
    "Payload",
    "kind_for",
]
