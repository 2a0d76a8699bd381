"""The HTTP API on a thread of the running process (``envmon up``)."""

from __future__ import annotations

import threading

from ingest.registry import Registry
from ingest.settings import Settings


def serve_in_thread(settings: Settings, db_url: str, registry: Registry) -> tuple[object, str]:
    """Start the API on a background thread (for ``envmon up``); returns (server, address)."""
    import uvicorn  # noqa: PLC0415

    from services.api import create_app  # noqa: PLC0415
    from services.rules.service import load_configuration  # noqa: PLC0415

    rules, _ = load_configuration(settings, registry)
    app = create_app(settings, db_url, registry, rules)
    config = uvicorn.Config(
        app, host=settings.api.host, port=settings.api.port, log_level="warning"
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, name="api", daemon=True).start()
    return server, f"http://{settings.api.host}:{settings.api.port}"
