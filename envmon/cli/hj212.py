"""``envmon hj212 parse``: HJ 212 packets, one a line, read and shown as JSON lines;
``envmon hj212 serve``: the gateway between the data loggers and the broker."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from pydantic import ValidationError

from envmon.cli._common import Subparsers, log
from ingest.hj212 import ACCEPT_ANY, ACCEPT_STANDARD, CrcVariant, decode_packet, describe
from ingest.secrets import mask_url
from ingest.settings import ConfigError, Settings

if TYPE_CHECKING:
    from ingest.gateway import Gateway, GatewayStats

_ACCEPT = {
    "hj212": ACCEPT_STANDARD,
    "modbus": frozenset({CrcVariant.MODBUS}),
    "either": ACCEPT_ANY,
}


def parse_lines(lines: Iterable[bytes], accept: frozenset[CrcVariant]) -> int:
    failed = False
    for line in lines:
        if not line.strip(b"\r\n"):
            continue
        decoded = decode_packet(line, accept)
        failed |= not decoded.ok
        print(json.dumps(describe(decoded), ensure_ascii=False), flush=True)
    return 1 if failed else 0


def cmd_parse(_settings: Settings, args: argparse.Namespace) -> int:
    accept = _ACCEPT[args.crc]
    if args.file is None or args.file == "-":
        return parse_lines(sys.stdin.buffer, accept)
    stream: BinaryIO
    try:
        # closed below; only a failure to open is the caller's to fix
        stream = Path(args.file).open("rb")  # noqa: SIM115
    except OSError as exc:
        raise ConfigError(f"cannot read {args.file}: {exc.strerror}") from None
    with stream:
        return parse_lines(stream, accept)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from ingest.gateway import Gateway, new_event_loop  # noqa: PLC0415 - aiomqtt only here
    from ingest.registry import load_registry  # noqa: PLC0415

    url = settings.mqtt.url
    if url is None:
        raise ConfigError(
            "envmon hj212 serve publishes to a configured broker: set ENVMON_MQTT_URL"
            " (envmon up and envmon demo start a gateway of their own)"
        )
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    cfg = settings.hj212.model_copy(update=overrides)
    settings = settings.model_copy(update={"hj212": cfg})
    try:
        registry = load_registry(args.registry)
    except OSError as exc:
        raise ConfigError(f"cannot read {args.registry}: {exc.strerror}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        raise ConfigError(
            f"--registry {args.registry} is not a registry file: {where}: {first['msg']}"
            f" ({exc.error_count()} error(s))"
        ) from None
    gateway = Gateway(settings, registry)
    print(
        f"HJ 212 gateway for {len(gateway.directory)} loggers on {cfg.host}:{cfg.port},"
        f" publishing to {mask_url(url)}; Ctrl-C to stop",
        file=sys.stderr,
    )
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        stats = runner.run(_serve(gateway))
    print(json.dumps(stats.as_dict(), ensure_ascii=False))
    return 0


async def _serve(gateway: Gateway) -> GatewayStats:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log.info("serving until SIGINT or SIGTERM")
    return await gateway.serve(stop)


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("hj212", help="HJ 212 data-logger packets")
    hj = p.add_subparsers(dest="what", required=True)
    parse = hj.add_parser(
        "parse",
        help="decode packets, one a line (CR LF optional), into JSON lines;"
        " exit 1 if any line is not a valid packet",
    )
    parse.add_argument("file", nargs="?", metavar="FILE", help="default: standard input")
    parse.add_argument(
        "--crc",
        choices=sorted(_ACCEPT),
        default="hj212",
        help="CRC algorithm the packets must use (default: the standard's, hj212)",
    )
    parse.set_defaults(func=cmd_parse)
    serve = hj.add_parser(
        "serve",
        help="the gateway: data loggers over TCP in, readings into the broker (ENVMON_MQTT_URL)",
    )
    serve.add_argument("--host", help="address to listen on (default ENVMON_HJ212__HOST)")
    serve.add_argument("--port", type=int, help="TCP port (default ENVMON_HJ212__PORT, 9212)")
    serve.add_argument(
        "--registry", type=Path, metavar="FILE", help="registry file (default: the district's)"
    )
    serve.set_defaults(func=cmd_serve)
