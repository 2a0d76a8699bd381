"""Notifications: routing, channels, rendering and the outbox dispatcher."""

from services.notify.ack_links import AckLinks
from services.notify.notice import Notice, SubjectLine
from services.notify.outbox import Dispatcher
from services.notify.routing import RoutingConfig, RoutingError, default_routing, load_routing

__all__ = [
    "AckLinks",
    "Dispatcher",
    "Notice",
    "RoutingConfig",
    "RoutingError",
    "SubjectLine",
    "default_routing",
    "load_routing",
]
