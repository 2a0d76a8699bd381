"""``envmon api serve|key``: the HTTP API and its keys."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime, timedelta

from envmon.cli._common import Subparsers
from ingest.settings import ConfigError, Settings
from ingest.storage.migrate import connect


def _url(settings: Settings) -> str:
    if settings.database.url is None:
        raise ConfigError("envmon api needs ENVMON_DATABASE_URL (or use `envmon up`)")
    return settings.database.url.get_secret_value()


def cmd_serve(settings: Settings, _args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415

    from envmon.runtime.servers import prepare_database  # noqa: PLC0415

    prepare_database(settings, _url(settings))  # migrations and the registry, once
    # Each worker process (one by default) builds the application from the environment.
    uvicorn.run(
        "services.api.asgi:app_from_env", factory=True, workers=settings.api.workers,
        host=settings.api.host, port=settings.api.port, access_log=settings.api.access_log,
    )  # fmt: skip
    return 0


def cmd_key(settings: Settings, args: argparse.Namespace) -> int:
    from services.api import create_key  # noqa: PLC0415

    expires = None
    if args.expires_days > 0:
        expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=args.expires_days)
    with connect(_url(settings), settings.database.schema_name) as conn:
        key = create_key(conn, args.name, args.role, expires)
    until = f"valid until {expires.isoformat()}" if expires else "valid until revoked"
    print(f"API key for {args.name} ({args.role}), {until} — shown once, keep it:")
    print(key)
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise ConfigError("envmon api user: no terminal to ask on; use --password-stdin")
    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        raise ConfigError("envmon api user: the two passwords differ")
    return first


def cmd_user(settings: Settings, args: argparse.Namespace) -> int:
    """A person who signs in to the console with a password (scrypt hash kept)."""
    from services.api.people import PasswordError, disable_user, set_user  # noqa: PLC0415

    with connect(_url(settings), settings.database.schema_name) as conn:
        if args.disable:
            done = disable_user(conn, args.name)
            print(f"{args.name}: {'disabled, sessions ended' if done else 'no such enabled user'}")
            return 0 if done else 1
        if args.role is None:
            raise ConfigError("envmon api user: --role is needed (viewer, operator or admin)")
        try:
            new = set_user(conn, args.name, args.role, _password(args))
        except PasswordError as exc:
            raise ConfigError(f"envmon api user: {exc}") from None
    what = "created" if new else "updated (their sessions ended)"
    print(f"console user {args.name} ({args.role}) {what}")
    return 0


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("api", help="the HTTP API and its keys")
    api = p.add_subparsers(dest="what", required=True)
    s = api.add_parser(
        "serve", help="serve the API (ENVMON_API__HOST, ENVMON_API__PORT, ENVMON_API__WORKERS)"
    )
    s.set_defaults(func=cmd_serve)
    k = api.add_parser("key", help="make an API key (printed once; only its hash is stored)")
    k.add_argument("--name", required=True, help="who holds it (recorded in the audit trail)")
    k.add_argument("--role", required=True, choices=("viewer", "operator", "admin"))
    k.add_argument(
        "--expires-days",
        type=int,
        default=365,
        metavar="N",
        help="the key is refused after N days (default 365; 0: valid until revoked)",
    )
    k.set_defaults(func=cmd_key)
    u = api.add_parser(
        "user",
        help="a person who signs in to the console with a password (asked twice, or one line"
        " on standard input with --password-stdin); again to change it, --disable to end it",
    )
    u.add_argument("--name", required=True, help="the sign-in name (recorded in the audit trail)")
    u.add_argument("--role", choices=("viewer", "operator", "admin"))
    u.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    u.add_argument("--disable", action="store_true", help="refuse this user from now on")
    u.set_defaults(func=cmd_user)
