"""``envmon``: the command line of the Liudong monitoring backend.

One module per command group; each adds its parsers and runs its commands, importing
the heavy parts (servers, services, benchmarks) only when its command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

import psycopg

from envmon.cli import (
    alerts,
    api,
    bench,
    broker,
    dashboards,
    hj212,
    report,
    rules,
    run,
    traffic,
)
from envmon.cli._common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_LOOP_FAILED,
    EXIT_USAGE,
    log,
    setup_logging,
)
from envmon.runtime.embedded import EmbeddedError
from ingest.loops import LoopFailedError
from ingest.mqtt import BrokerUnavailableError
from ingest.settings import ConfigError, Settings, load_settings
from simulators.scenarios import UnknownScenarioError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="envmon",
        description="Liudong New District smart-environment monitoring backend",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    run.add_parsers(sub)
    traffic.add_parsers(sub)
    bench.add_parser(sub)
    rules.add_parser(sub)
    alerts.add_parser(sub)
    api.add_parser(sub)
    dashboards.add_parser(sub)
    hj212.add_parser(sub)
    broker.add_parser(sub)
    report.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    func: Callable[[Settings, argparse.Namespace], int] = args.func
    try:
        settings = load_settings()
        log.info("configuration: %s", json.dumps(settings.describe(), ensure_ascii=False))
        return func(settings, args)
    except (ConfigError, UnknownScenarioError) as exc:
        print(f"envmon: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (BrokerUnavailableError, EmbeddedError) as exc:
        print(f"envmon: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except psycopg.errors.InsufficientPrivilege as exc:
        print(
            f"envmon: the database refused ({exc.diag.message_primary}): grant the user of"
            " ENVMON_DATABASE_URL what the migrations need (CREATE on the database or the"
            " schema), or run `envmon migrate` once as the schema's owner",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except LoopFailedError as exc:  # its traceback is already logged
        print(f"envmon: {exc}", file=sys.stderr)
        return EXIT_LOOP_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
