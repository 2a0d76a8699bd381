"""``envmon rules check|test|run|list``: the rule files and the rule service."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from envmon.cli._common import Subparsers, stop_on_signals
from envmon.runtime.servers import database_url
from ingest.registry import load_registry
from ingest.settings import ConfigError, Settings


def cmd_check(_settings: Settings, args: argparse.Namespace) -> int:
    from services.rules import check_files, load_rules  # noqa: PLC0415

    registry = load_registry()
    problems = check_files(args.files, registry)
    for p in problems:
        print(p, file=sys.stderr)
    if not problems:
        n = len(load_rules(args.files, registry))
        print(f"{n} rules in {len(args.files)} files: OK")
    return 1 if problems else 0


def cmd_list(settings: Settings, _args: argparse.Namespace) -> int:
    from services.rules.service import load_configuration  # noqa: PLC0415

    rules, _ = load_configuration(settings, load_registry())
    for r in rules:
        print(
            json.dumps(
                {
                    "id": r.id,
                    "kind": getattr(r, "kind", ""),
                    "feed": r.feed,
                    "severity": r.severity,
                    "title": r.title.zh,
                },
                ensure_ascii=False,
            )
        )
    return 0


def _progress(name: str) -> Callable[[datetime], None] | None:
    """A one-line progress display on a terminal (nothing when stderr is a file)."""
    if not sys.stderr.isatty():
        return None

    def show(now: datetime) -> None:
        print(f"\r{name}: replayed to {now:%Y-%m-%d %H:%M}", end="", file=sys.stderr, flush=True)

    return show


def cmd_test(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.replay import ScenarioError, load_scenario, run_scenario  # noqa: PLC0415

    failed = 0
    with database_url(settings) as url:
        for path in args.files:
            try:
                spec = load_scenario(path)
                t0 = time.monotonic()

                outcome = run_scenario(
                    spec,
                    url,
                    rule_files=args.rules,
                    timescaledb=settings.database.timescaledb,
                    on_progress=_progress(spec.name),
                )
            except ScenarioError as exc:
                print(f"FAIL {path}: {exc}")
                failed += 1
                continue
            if args.print:
                print(outcome.as_yaml())
            diff = outcome.differences(spec.expect)
            took = time.monotonic() - t0
            n = len(outcome.transitions)
            if diff:
                failed += 1
                print(f"FAIL {path} ({spec.name}, {took:.1f} s)")
                print("\n".join(diff))
            else:
                print(f"ok   {path} ({spec.name}: {n} transitions, {took:.1f} s)")
    print(f"{len(args.files) - failed} passed, {failed} failed")
    return 1 if failed else 0


def cmd_run(settings: Settings, _args: argparse.Namespace) -> int:
    from envmon.runtime.reports import start_report_schedule  # noqa: PLC0415
    from envmon.runtime.servers import prepare_database  # noqa: PLC0415
    from services.rules import RuleService  # noqa: PLC0415

    if settings.database.url is None:
        raise ConfigError("envmon rules run needs ENVMON_DATABASE_URL (or use `envmon up`)")
    stop = stop_on_signals()
    registry, _ = prepare_database(settings, settings.database.url.get_secret_value(), wait=stop)
    url = settings.database.url.get_secret_value()
    service = RuleService(settings, url, registry)
    service.watch.wake(stop)  # a loop that fails for good ends the wait too
    reports = start_report_schedule(settings, url, registry, service)
    service.start()
    stop.wait()
    reports.stop()
    service.stop()
    service.watch.check()
    return 0


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("rules", help="rule files and the rule service")
    rules = p.add_subparsers(dest="what", required=True)
    c = rules.add_parser("check", help="validate rule files; exit 1 with the reasons")
    c.add_argument("files", type=Path, nargs="+")
    c.set_defaults(func=cmd_check)
    t = rules.add_parser("test", help="replay scenario files and compare the alerts")
    t.add_argument("files", type=Path, nargs="+")
    t.add_argument(
        "--rules",
        type=Path,
        action="append",
        default=[],
        help="rule files to test (default: the packaged pack)",
    )
    t.add_argument("--print", action="store_true", help="print the outcome as an expect block")
    t.set_defaults(func=cmd_test)
    r = rules.add_parser("run", help="run the rule service against the configured database")
    r.set_defaults(func=cmd_run)
    ls = rules.add_parser("list", help="the rules that load (JSON lines)")
    ls.set_defaults(func=cmd_list)
