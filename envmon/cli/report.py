"""``envmon report NAME --date D | --month M | --year Y``: a report as a file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from envmon.cli._common import Subparsers
from ingest.settings import ConfigError, Settings
from ingest.storage.migrate import connect


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from ingest.registry import load_registry  # noqa: PLC0415
    from services.reports import REPORTS, build_report, parse_period  # noqa: PLC0415
    from services.reports.formats import ReportFontError, filename, render  # noqa: PLC0415

    if settings.database.url is None:
        raise ConfigError("envmon report needs ENVMON_DATABASE_URL (the database to report on)")
    if args.name not in REPORTS:
        raise ConfigError(f"no report {args.name!r}; the reports are {', '.join(REPORTS)}")
    try:
        period = parse_period(day=args.date, month=args.month, year=args.year)
    except ValueError as exc:
        raise ConfigError(f"envmon report {args.name}: {exc}") from None
    with connect(settings.database.url.get_secret_value(), settings.database.schema_name) as conn:
        try:
            report = build_report(conn, load_registry(args.registry), args.name, period)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    try:
        data = render(report, args.format, args.lang, font=settings.reports.font)
    except ReportFontError as exc:
        raise ConfigError(str(exc)) from None
    if args.out == "-":
        sys.stdout.buffer.write(data)
        return 0
    out = Path(args.out) if args.out else Path(filename(report, args.format))
    if out.is_dir():
        out = out / filename(report, args.format)
    out.write_bytes(data)
    print(f"{out} ({len(data):,} bytes)", file=sys.stderr)
    return 0


def add_parser(sub: Subparsers) -> None:
    from services.reports import REPORTS  # noqa: PLC0415
    from services.reports.formats import FORMATS  # noqa: PLC0415

    p = sub.add_parser(
        "report",
        help="render a report (air daily, WWTP monthly, ...) from the configured database",
        description="Render a report for a local day, month or year (Asia/Shanghai) from"
        " the database in ENVMON_DATABASE_URL.",
    )
    p.add_argument("name", choices=list(REPORTS))
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--date", metavar="YYYY-MM-DD")
    when.add_argument("--month", metavar="YYYY-MM")
    when.add_argument("--year", metavar="YYYY")
    p.add_argument("--format", choices=FORMATS, default="pdf")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="headers and text")
    p.add_argument("--out", metavar="PATH", help="file or directory ('-': standard output)")
    p.add_argument("--registry", type=Path, metavar="FILE", help="registry file")
    p.set_defaults(func=cmd_report)
