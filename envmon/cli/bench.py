"""``envmon bench ingest|hj212|rules|api``: the benchmarks, each printing one JSON line last."""

from __future__ import annotations

import argparse
import json

from envmon.cli._common import Subparsers, positive
from envmon.cli.run import DATA_DIR
from ingest.settings import Settings


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.bench.ingest import bench_ingest  # noqa: PLC0415

    print(json.dumps(bench_ingest(settings, args), ensure_ascii=False))
    return 0


def cmd_hj212(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.bench.hj212 import bench_hj212  # noqa: PLC0415

    print(json.dumps(bench_hj212(settings, args), ensure_ascii=False))
    return 0


def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.bench.api import bench_api  # noqa: PLC0415

    print(json.dumps(bench_api(settings, args, DATA_DIR), ensure_ascii=False))
    return 0


def cmd_district(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.bench.district import bench_district  # noqa: PLC0415

    print(json.dumps(bench_district(settings, args), ensure_ascii=False))
    return 0


def cmd_broker_crash(_settings: Settings, args: argparse.Namespace) -> int:
    from envmon.bench.broker_crash import main  # noqa: PLC0415

    return main(args.seconds, args.runs)


def cmd_rules(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.bench.rules import bench_rules  # noqa: PLC0415

    print(json.dumps(bench_rules(settings, args), ensure_ascii=False))
    return 0


def _connections(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _interval(text: str) -> float:
    value = float(text)
    if not value >= 1.0:  # two uploads of a logger in one second would share their DataTime
        raise argparse.ArgumentTypeError(f"must be at least 1 s (DataTime has seconds), got {text}")
    return value


def _add_storage(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--storage",
        choices=("postgresql", "timescaledb"),
        default="postgresql",
        help="storage flavour (embedded unless ENVMON_DATABASE_URL is set)",
    )


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("bench", help="benchmarks")
    bench = p.add_subparsers(dest="what", required=True)
    b = bench.add_parser("ingest", help="broker → collector → database throughput and latency")
    b.add_argument("--duration", type=positive, default=60.0, metavar="SECONDS")
    b.add_argument("--rate", type=positive, default=25_000.0, help="offered messages per second")
    b.add_argument("--batch-size", type=int, default=None)
    b.add_argument(
        "--backlog", type=int, default=500_000,
        help="messages queued while the collector is away, then drained (0: skip)",
    )  # fmt: skip
    _add_storage(b)
    b.set_defaults(func=cmd_ingest)
    c = bench.add_parser(
        "broker-crash",
        help="acknowledged messages a SIGKILL of Mosquitto loses, per persistence setting",
    )
    c.add_argument("--seconds", type=positive, default=10.0, help="publishing before the kill")
    c.add_argument("--runs", type=int, default=3, help="runs per setting (medians)")
    c.set_defaults(func=cmd_broker_crash)
    h = bench.add_parser(
        "hj212", help="HJ 212 loggers → gateway process → broker → collector → database"
    )
    h.add_argument("--connections", type=_connections, default=2000, help="loggers (2000)")
    h.add_argument("--duration", type=positive, default=60.0, metavar="SECONDS")
    h.add_argument(
        "--interval", type=_interval, default=1.0, metavar="SECONDS",
        help="between two uploads of a logger (default 1)",
    )  # fmt: skip
    h.add_argument(
        "--resend", type=positive, default=10.0, metavar="SECONDS",
        help="a logger sends an upload again after this long without its 9014 (default 10)",
    )  # fmt: skip
    _add_storage(h)
    h.set_defaults(func=cmd_hj212)
    r = bench.add_parser("rules", help="evaluation passes of the whole pack over the district")
    r.add_argument("--minutes", type=int, default=120, help="simulated minutes (default 120)")
    r.add_argument("--seed", type=int, default=0)
    r.set_defaults(func=cmd_rules)
    d = bench.add_parser(
        "district", help="the whole system at the district's own rate: CPU and RSS per process"
    )
    d.add_argument("--duration", type=positive, default=180.0, metavar="SECONDS")
    d.add_argument("--warmup", type=positive, default=30.0, metavar="SECONDS")
    d.add_argument(
        "--api-rate", type=float, default=2.0, help="control-room requests a second (2; 0: none)"
    )
    _add_storage(d)
    d.set_defaults(func=cmd_district)
    a = bench.add_parser("api", help="API response times over days of the whole district")
    a.add_argument("--days", type=int, default=7, help="days of data (default 7)")
    a.add_argument("--rate", type=positive, default=100.0, help="requests a second (100)")
    a.add_argument(
        "--seconds", type=positive, default=20.0, help="at the rate, per run (default 20)"
    )
    a.add_argument("--requests", type=int, default=400, help="distinct requests per group")
    a.add_argument("--clients", type=int, default=20, help="connections flat out (default 20)")
    a.add_argument("--compare-days", type=int, default=1, help="the second fill (1; 0: none)")
    a.add_argument("--runs", type=int, default=3, help="runs; medians are reported")
    a.add_argument("--seed", type=int, default=1)
    a.add_argument("--schema", default="bench_api", help="where the fill is kept")
    a.add_argument("--refill", action="store_true", help="fill again even if a fill is kept")
    _add_storage(a)
    a.set_defaults(func=cmd_api)
