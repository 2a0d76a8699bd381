"""The application built from the environment, for servers that start workers themselves
(``envmon api serve`` with ``ENVMON_API__WORKERS`` > 1, or ``uvicorn --factory``)."""

from __future__ import annotations

from fastapi import FastAPI

from ingest.registry import load_registry
from ingest.settings import ConfigError, load_settings
from services.api.app import create_app


def app_from_env() -> FastAPI:
    from services.rules.service import load_configuration  # noqa: PLC0415

    settings = load_settings()
    if settings.database.url is None:
        raise ConfigError("the API needs ENVMON_DATABASE_URL")
    registry = load_registry()
    rules, _ = load_configuration(settings, registry)
    return create_app(settings, settings.database.url.get_secret_value(), registry, rules)
