"""What every console page shares: templates, language, the signed-in person."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from ingest.feeds import LOCAL_TZ
from services.api.auth import RANK, Principal, authenticate
from services.api.console._text import FEEDS, SEVERITIES, STATES, TEXT, Language, word
from services.api.deps import Conn
from services.notify.render import format_value

LANG_COOKIE = "envmon_lang"
_ENV = Environment(
    loader=PackageLoader("services.api.console", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


class SignInRequired(Exception):  # noqa: N818 - a redirect, not an error
    """The page needs a signed-in person: answered with a redirect to the sign-in page."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(path)


def missing(request: Request, who: Principal, detail: str) -> HTMLResponse:
    """A page for what does not exist (the API answers the same with a 404 problem)."""
    return render(request, "missing.html", who, status=404, detail=detail)


def language(request: Request) -> Language:
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return "en" if asked == "en" else "zh"


def local_time(at: datetime | None, seconds: bool = False) -> str:
    if at is None:
        return "—"
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def viewer(request: Request, conn: Conn) -> Principal:
    """The signed-in person (or anonymous, when the API allows anonymous reading)."""
    who = authenticate(conn, request)
    if who.role is None and not request.app.state.settings.api.anonymous_read:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return who


def can(who: Principal, role: str) -> bool:
    return who.role is not None and RANK[who.role] >= RANK[role]


def render(
    request: Request,
    template: str,
    who: Principal | None,
    status: int = 200,
    csp: str | None = None,
    **context: Any,
) -> HTMLResponse:
    lang = language(request)
    found = getattr(request.state, "console_session", None)  # set when it authenticated
    csrf = found.csrf if found is not None else ""

    def t(key: str) -> str:
        return word(TEXT, key, lang)

    html = _ENV.get_template(template).render(
        t=t,
        lang=lang,
        state_name=lambda s: word(STATES, s, lang),
        severity_name=lambda s: word(SEVERITIES, s, lang),
        feed_name=lambda s: word(FEEDS, s, lang),
        name=lambda zh, en: (en or zh) if lang == "en" else (zh or en),
        local_time=local_time,
        value=format_value,
        who=who,
        operator=who is not None and can(who, "operator"),
        csrf=csrf,
        path=request.url.path,
        other_lang_url=_with_lang(request, "zh" if lang == "en" else "en"),
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    response.headers["Content-Security-Policy"] = csp or CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


# Everything from this server: no script, style, font or image from anywhere else (map
# tiles, when configured, are the one exception, added by the overview).
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
    " connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def _with_lang(request: Request, lang: str) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    params.append(("lang", lang))
    return request.url.path + "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in params)
