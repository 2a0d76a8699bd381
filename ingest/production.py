"""What production refuses: embedded servers, anonymous broker access, placeholder secrets.

With ``ENVMON_ENVIRONMENT=production`` (the production stack sets it) a service stops at
start, naming the variable, rather than run on a password from an example file.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

PLACEHOLDERS = frozenset(
    {"", "change-me", "changeme", "change-me-too", "password", "passwd", "secret", "postgres",
     "admin", "envmon", "example", "test", "default", "none", "null"}
)  # fmt: skip
_PLACEHOLDER_PARTS = ("change-me", "changeme", "change_me", "placeholder", "replace-me", "xxxx")


def is_placeholder(secret: str) -> bool:
    s = secret.strip().lower()
    return (
        s in PLACEHOLDERS
        or any(p in s for p in _PLACEHOLDER_PARTS)
        or (s.startswith("<") and s.endswith(">"))
        or (s.startswith("${") and s.endswith("}"))
    )


def _url_secret(url: str) -> str | None:
    password = urlsplit(url).password
    return None if password is None else unquote(password)


def production_problems(
    database_url: str | None,
    mqtt_url: str | None,
    grafana_token: str | None,
    link_secret: str | None = None,
) -> list[str]:
    """Each setting production refuses, with what to do instead."""
    out = []
    if database_url is None:
        out.append("ENVMON_DATABASE_URL: unset (the embedded database is for development)")
    else:
        secret = _url_secret(database_url)
        if secret is None or is_placeholder(secret):
            out.append("ENVMON_DATABASE_URL: give the database user a real password")
    if mqtt_url is None:
        out.append("ENVMON_MQTT_URL: unset (the embedded broker is for development)")
    else:
        user, secret = urlsplit(mqtt_url).username, _url_secret(mqtt_url)
        if user is None or secret is None:
            out.append(
                "ENVMON_MQTT_URL: no account (mqtts://<user>:<secret>@host:8883);"
                " envmon broker config issues them"
            )
        elif is_placeholder(secret):
            out.append(
                "ENVMON_MQTT_URL: a placeholder secret; use the one envmon broker config issued"
            )
    if grafana_token is not None and is_placeholder(grafana_token):
        out.append("ENVMON_GRAFANA__TOKEN: a placeholder; make a service-account token in Grafana")
    if link_secret is not None and is_placeholder(link_secret):
        out.append("ENVMON_CONSOLE__LINK_SECRET: a placeholder; use `openssl rand -hex 32`")
    return out
