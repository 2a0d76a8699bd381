"""Alerts: lifecycle, history and the operator actions (acknowledge, resolve)."""

from services.alerts.store import AlertError, acknowledge, resolve

__all__ = ["AlertError", "acknowledge", "resolve"]
