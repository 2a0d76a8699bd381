"""Alerts: lifecycle, history and the operator actions (acknowledge, resolve)."""

from services.alerts.store import (
    AlertError,
    AlertEvent,
    Origin,
    Seen,
    acknowledge,
    close,
    fire,
    open_alert,
    resolve,
    update,
)

__all__ = [
    "AlertError",
    "AlertEvent",
    "Origin",
    "Seen",
    "acknowledge",
    "close",
    "fire",
    "open_alert",
    "resolve",
    "update",
]
