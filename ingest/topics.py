"""Topic scheme: ``<root>/<feed>/<device_id>/<kind>``, e.g. ``liudong/air/aq-guantang/reading``."""

from __future__ import annotations

import re
from typing import NamedTuple

DEFAULT_ROOT = "liudong"
DEVICE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class TopicParts(NamedTuple):
    feed: str
    device_id: str
    kind: str


def topic_for(feed: str, device_id: str, kind: str, root: str = DEFAULT_ROOT) -> str:
    return f"{root}/{feed}/{device_id}/{kind}"


def parse_topic(topic: str, root: str = DEFAULT_ROOT) -> TopicParts | None:
    """Split a topic under ``root``; None when it does not follow the scheme."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != root or not DEVICE_ID.match(parts[2]):
        return None
    return TopicParts(parts[1], parts[2], parts[3])


def subscription(root: str = DEFAULT_ROOT, shared_group: str | None = None) -> str:
    """The filter a collector subscribes to; shared so N collectors split the load."""
    pattern = f"{root}/#"  # everything under the root, so malformed topics are dead-lettered too
    return f"$share/{shared_group}/{pattern}" if shared_group else pattern
