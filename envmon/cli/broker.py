"""``envmon broker config``: the broker's accounts and their permissions, from the registry."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from envmon.cli._common import Subparsers
from ingest.broker import (
    AccountPlan,
    BrokerConfigError,
    FromDatabase,
    api_devices,
    issued_hashes,
    write_config,
)
from ingest.registry import load_registry
from ingest.settings import ConfigError, Settings
from ingest.storage.migrate import connect


def cmd_config(settings: Settings, args: argparse.Namespace) -> int:
    registry = load_registry(args.registry)
    plan = AccountPlan(
        root=settings.mqtt.topic_root,
        shared_group=settings.mqtt.shared_group,
        gateway_id=settings.hj212.gateway_id,
        simulator=args.simulator,
    )
    database = None
    if settings.database.url is not None:  # the devices registered through the API too
        with connect(settings.database.url.get_secret_value(), settings.database.schema_name) as c:
            added, retired = api_devices(c)
            database = FromDatabase(added, retired, issued_hashes(c))
        print(
            f"from the database: {len(added)} devices registered through the API,"
            f" {len(retired)} retired",
            file=sys.stderr,
        )
    try:
        written = write_config(
            args.out,
            registry,
            plan,
            now=datetime.now(UTC),
            rotate=set(args.rotate),
            database=database,
        )
    except BrokerConfigError as exc:
        raise ConfigError(str(exc)) from None
    o = written.outcome
    print(
        f"{written.config}: {len(o.hashes)} accounts — {len(o.issued) - len(o.rotated)} new,"
        f" {len(o.rotated)} rotated, {len(o.kept)} kept, {len(o.removed)} removed"
        + (f" ({', '.join(o.removed)})" if o.removed else ""),
        file=sys.stderr,
    )
    if written.credentials is not None:
        print(
            f"{written.credentials}: the secrets of the {len(o.issued)} new and rotated"
            " accounts, shown only here. Hand each to its device or service, then delete"
            " the file.",
            file=sys.stderr,
        )
    print(
        "the broker reads the file only at start (SIGHUP does not reload it): restart it"
        " to apply; its sessions and queued messages survive a clean restart",
        file=sys.stderr,
    )
    return 0


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("broker", help="the MQTT broker's accounts and permissions")
    what = p.add_subparsers(dest="what", required=True)
    config = what.add_parser(
        "config",
        help="write the broker's security file (Mosquitto dynamic-security plugin) from the"
        " registry (and, with ENVMON_DATABASE_URL, the devices registered through the API):"
        " one account per MQTT device, the collectors and the HJ 212 gateway",
    )
    config.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="directory of the security file"
    )
    config.add_argument(
        "--registry", type=Path, metavar="FILE", help="registry file (default: the district's)"
    )
    config.add_argument(
        "--rotate",
        action="append",
        default=[],
        metavar="USER",
        help="issue a new secret to this account (a device id or a service user); repeatable",
    )
    config.add_argument(
        "--simulator",
        action="store_true",
        help="also an account that may publish as any device (demos and tests only)",
    )
    config.set_defaults(func=cmd_config)
