"""The operator console: server-rendered pages over the API's own data and roles.

One module per page (``overview``, ``alerts``, ``device``, ``signin``, ``ack``); every
script, style and picture is served from ``static/`` — nothing comes from the internet.
"""

from __future__ import annotations

from importlib import resources
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from services.api.console import ack, alerts, device, overview, signin
from services.api.console._page import SignInRequired


def install(app: FastAPI) -> None:
    """The console's pages, its static files, and the redirect to sign in."""
    static = resources.files(__name__).joinpath("static")
    app.mount("/console/static", StaticFiles(directory=str(static)), name="console-static")
    for module in (overview, alerts, device, signin, ack):
        app.include_router(module.router)

    async def to_sign_in(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        target = quote(exc.path, safe="/")
        return RedirectResponse(f"/console/login?next={target}", status_code=303)

    app.add_exception_handler(SignInRequired, to_sign_in)


__all__ = ["install"]
