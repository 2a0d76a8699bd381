"""``envmon dashboards build|push``: the dashboard files, and putting them on a Grafana."""

from __future__ import annotations

import argparse
import sys

from envmon.cli._common import Subparsers
from ingest.settings import ConfigError, Settings


def cmd_build(_settings: Settings, args: argparse.Namespace) -> int:
    from dashboards.build import OUT_DIR, stale, write  # noqa: PLC0415

    if args.check:
        problems = stale()
        for name in problems:
            print(f"stale: {OUT_DIR / name}", file=sys.stderr)
        if problems:
            print("run `envmon dashboards build` and commit the files", file=sys.stderr)
        return 1 if problems else 0
    for path in write():
        print(path)
    return 0


def cmd_push(settings: Settings, args: argparse.Namespace) -> int:
    from dashboards.push import PushError, datasource_body, push  # noqa: PLC0415

    url = args.url or settings.grafana.url
    token = args.token or (
        settings.grafana.token.get_secret_value() if settings.grafana.token else None
    )
    if not url or not token:
        raise ConfigError(
            "envmon dashboards push needs --url and --token"
            " (or ENVMON_GRAFANA__URL and ENVMON_GRAFANA__TOKEN)"
        )
    db_url = args.datasource_url
    if db_url is None and not args.no_datasource and settings.database.url is not None:
        db_url = settings.database.url.get_secret_value()
    timescaledb = args.timescaledb or (db_url is not None and _has_timescaledb(settings))
    try:
        body = datasource_body(db_url, timescaledb=timescaledb) if db_url else None
        report = push(url.rstrip("/"), token, datasource=body)
    except PushError as e:
        print(f"push failed: {e}", file=sys.stderr)
        return 1
    print(f"Grafana {report.version} at {url}: folder {report.folder},"
          f" datasource {report.datasource}")  # fmt: skip
    for uid in report.dashboards:
        print(f"  {url.rstrip('/')}/d/{uid}")
    return 0


def _has_timescaledb(settings: Settings) -> bool:
    """Whether the configured database runs TimescaleDB (False when it cannot be asked)."""
    if settings.database.url is None:
        return False
    import psycopg  # noqa: PLC0415

    try:
        with psycopg.connect(settings.database.url.get_secret_value(), connect_timeout=5) as c:
            row = c.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    except psycopg.Error:
        return False
    return row is not None


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("dashboards", help="Grafana dashboards as code")
    what = p.add_subparsers(dest="what", required=True)
    b = what.add_parser("build", help="regenerate dashboards/json/ from the dashboard modules")
    b.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    b.set_defaults(func=cmd_build)
    u = what.add_parser("push", help="upsert the folder, datasource and dashboards on a Grafana")
    u.add_argument("--url", help="Grafana base URL (ENVMON_GRAFANA__URL)")
    u.add_argument("--token", help="service account token (ENVMON_GRAFANA__TOKEN)")
    u.add_argument(
        "--datasource-url",
        help="the database as Grafana reaches it (default: ENVMON_DATABASE_URL)",
    )
    u.add_argument("--no-datasource", action="store_true", help="leave the datasource alone")
    u.add_argument(
        "--timescaledb",
        action="store_true",
        help="turn the datasource's TimescaleDB option on (default: detected in"
        " ENVMON_DATABASE_URL's database)",
    )
    u.set_defaults(func=cmd_push)
