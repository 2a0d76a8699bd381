"""Secrets kept out of logs, errors and printed commands: URLs shown with credentials masked.

``mask_url`` replaces the password of ``user:password@host`` and the values of query
parameters named like a key or token (``?key=``, ``?access_token=``, ``?sign=`` …) with
``***``. ``strict=True`` also masks the user name, every query value and the fragment, for
URLs (webhooks) whose parts are someone else's to name. ``mask_urls`` masks each URL
inside a text (e.g. an error body a server sent back).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "***"
# Query parameters whose name contains one of these carry a secret (matched lower-case).
SECRET_PARAMS = ("key", "token", "secret", "pass", "pwd", "sign", "auth", "credential")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")


def mask_url(url: str, *, strict: bool = False) -> str:
    """``url`` with its password and secret query values replaced by ``***`` (``strict``:
    its user name, every query value and the fragment too). A URL that cannot be parsed
    is masked whole."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = parts.netloc
    if at and strict:
        netloc = f"{MASK}@{hostport}"
    elif at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:{MASK}@{hostport}"
    fragment = MASK if strict and parts.fragment else parts.fragment
    return urlunsplit((parts.scheme, netloc, parts.path, _query(parts.query, strict), fragment))


def mask_urls(text: str, *, strict: bool = False) -> str:
    """``text`` with every URL in it masked as by :func:`mask_url`."""
    return _URL.sub(lambda m: mask_url(m.group(0), strict=strict), text)


def _query(query: str, strict: bool) -> str:
    out = []
    for pair in query.split("&") if query else ():
        name, eq, _ = pair.partition("=")
        if strict:
            out.append(f"{name}={MASK}" if eq else MASK)
        elif eq and any(s in unquote(name).lower() for s in SECRET_PARAMS):
            out.append(f"{name}={MASK}")
        else:
            out.append(pair)
    return "&".join(out)
