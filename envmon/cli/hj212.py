"""``envmon hj212 parse``: HJ 212 packets, one a line, read and shown as JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from envmon.cli._common import Subparsers
from ingest.hj212 import ACCEPT_ANY, ACCEPT_STANDARD, CrcVariant, decode_packet, describe
from ingest.settings import ConfigError, Settings

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
