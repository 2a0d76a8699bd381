"""Signing in and out: a password or an API key opens a session of the account's role.

Failures are throttled per address and per account, and audited like the API's refused
keys; the cookie is HttpOnly and SameSite=Strict, and writes also need the session's CSRF
token, which the console's pages carry.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.api.auth import ANONYMOUS, Principal, audit, check_key, client_address, throttled
from services.api.console._page import render
from services.api.deps import DbConn
from services.api.limits import AuthThrottle
from services.api.people import SESSION_COOKIE, check_password, end_session, start_session
from services.api.problems import ApiError

router = APIRouter(prefix="/console", include_in_schema=False)
Field = Annotated[str, Form(max_length=500)]


def _safe_next(target: str | None) -> str:
    """Only a path of this console: never another site (an open redirect)."""
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return "/console/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "signin.html", None, next=_safe_next(request.query_params.get("next")))


@router.post("/login", response_model=None)
def login(  # noqa: PLR0917 - FastAPI passes the form's fields
    request: Request,
    conn: DbConn,
    user: Field = "",
    password: Field = "",
    key: Field = "",
    next: Field = "/console/",
) -> Response:
    target = _safe_next(next)
    try:
        who, via = _who(conn, request, user.strip(), password, key.strip())
    except ApiError as exc:
        if exc.status != 429:
            raise
        return render(request, "signin.html", None, status=429, error=exc.detail, next=target)
    if who is None:
        return render(request, "signin.html", None, status=401, error="sign_in_failed", next=target)
    assert who.name is not None
    assert who.role is not None
    hours = request.app.state.settings.console.session_h
    token, _ = start_session(conn, who.name, who.role, via, hours)
    audit(conn, who, request, 200, after={"signed_in": via, "address": client_address(request)})
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=int(hours * 3600), httponly=True, samesite="strict",
        secure=request.app.state.settings.console.secure_cookies, path="/",
    )  # fmt: skip
    return response


def _who(
    conn: DbConn, request: Request, user: str, password: str, key: str
) -> tuple[Principal | None, str]:
    """The account the form names, or None (the failure throttled and audited)."""
    if key:
        try:
            return check_key(conn, request, key), "key"
        except ApiError as exc:
            if exc.status == 401:
                return None, "key"
            raise
    address = client_address(request)
    ids = (f"address:{address}", f"user:{user}")
    throttled(conn, request, *ids)
    role = check_password(conn, user, password) if user and password else None
    if role is not None:
        return Principal(user, role), "password"  # type: ignore[arg-type]
    throttle: AuthThrottle = request.app.state.auth_throttle
    throttle.failed(*ids)
    audit(
        conn, ANONYMOUS, request, 401,
        after={"reason": "wrong user name or password", "user": user[:64], "address": address},
    )  # fmt: skip
    return None, "password"


@router.post("/logout", response_class=RedirectResponse)
def logout(request: Request, conn: DbConn) -> RedirectResponse:
    """Ends the session. A cross-site form cannot reach it: the cookie is SameSite=Strict."""
    token = request.cookies.get(SESSION_COOKIE)
    if token is not None:
        end_session(conn, token)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
