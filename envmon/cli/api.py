"""``envmon api serve|key``: the HTTP API and its keys."""

from __future__ import annotations

import argparse
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
