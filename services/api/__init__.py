"""The HTTP API (FastAPI): registry, time series, alerts and rules."""

from services.api.app import create_app
from services.api.auth import create_key

__all__ = ["create_app", "create_key"]
