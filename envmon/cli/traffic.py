"""``envmon simulate``, ``replay`` and ``backfill``: device traffic into a configured broker."""

from __future__ import annotations

import argparse
from pathlib import Path

from envmon.cli._common import Subparsers, add_run_options, positive, stop_on_signals
from ingest.settings import Settings


def cmd_simulate(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.runtime.traffic import simulate  # noqa: PLC0415

    return simulate(settings, args, stop_on_signals())


def cmd_replay(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.runtime.traffic import replay_file  # noqa: PLC0415

    return replay_file(settings, args, stop_on_signals())


def cmd_backfill(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.runtime.traffic import backfill  # noqa: PLC0415

    return backfill(settings, args, stop_on_signals())


def add_parsers(sub: Subparsers) -> None:
    p = sub.add_parser("simulate", help="publish simulated devices to the configured broker")
    add_run_options(p, malformed=0.0)
    p.add_argument(
        "--duration",
        type=positive,
        metavar="SECONDS",
        help="wall seconds to run (default: until Ctrl-C); with --no-publish the"
        " recording covers SECONDS times --speed of simulated time ending now",
    )
    p.add_argument(
        "--feed", action="append", default=[], dest="feeds", help="only these feeds (repeatable)"
    )
    p.add_argument("--record", type=Path, metavar="FILE", help="also write a JSON-lines recording")
    p.add_argument(
        "--no-publish", action="store_true", help="only write the recording, as fast as possible"
    )
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("replay", help="publish a recording at any speed")
    p.add_argument("file", type=Path)
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="1 = as recorded, 10 = ten times faster, 0 = as fast as possible",
    )
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("backfill", help="publish N days of history as fast as possible")
    p.add_argument("--days", type=positive, required=True)
    p.add_argument("--feed", action="append", default=[], dest="feeds")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_backfill)
