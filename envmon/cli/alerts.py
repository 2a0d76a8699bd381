"""``envmon alerts list|show|ack|resolve``: the duty officer's view of the alerts."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from envmon.cli._common import Subparsers
from ingest.feeds import LOCAL_TZ
from ingest.settings import ConfigError, Settings
from ingest.storage.migrate import connect

STATES = ("pending", "firing", "acknowledged", "resolved")


def _url(settings: Settings) -> str:
    if settings.database.url is None:
        raise ConfigError("envmon alerts needs ENVMON_DATABASE_URL (the database to look at)")
    return settings.database.url.get_secret_value()


def _local(t: datetime | None) -> str | None:
    return t.astimezone(LOCAL_TZ).isoformat() if t is not None else None


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    states = args.state or ["firing", "acknowledged"]
    with connect(_url(settings), settings.database.schema_name) as conn:
        rows = conn.execute(
            "SELECT id, state, severity, rule_id, subject, subject_name_zh, value, started_at,"
            " fired_at FROM alert WHERE state = ANY(%s) ORDER BY id DESC LIMIT %s",
            (states, args.limit),
        ).fetchall()
    for r in rows:
        item = dict(
            zip(
                ("id", "state", "severity", "rule", "subject", "name", "value"),
                r[:7],
                strict=True,
            )
        )
        item |= {"started": _local(r[7]), "fired": _local(r[8])}
        print(json.dumps(item, ensure_ascii=False, default=str))
    return 0


def cmd_show(settings: Settings, args: argparse.Namespace) -> int:
    with connect(_url(settings), settings.database.schema_name) as conn:
        row = conn.execute("SELECT to_jsonb(a) FROM alert a WHERE id = %s", (args.id,)).fetchone()
        if row is None:
            raise ConfigError(f"no alert {args.id}")
        history = conn.execute(
            "SELECT transition, at, actor, detail FROM alert_event WHERE alert_id = %s ORDER BY id",
            (args.id,),
        ).fetchall()
    out: dict[str, Any] = dict(row[0])
    out["history"] = [
        {"transition": t, "at": _local(at), "actor": actor, "detail": detail}
        for t, at, actor, detail in history
    ]
    print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    return 0


def cmd_act(settings: Settings, args: argparse.Namespace) -> int:
    from services.alerts import AlertError, acknowledge, resolve  # noqa: PLC0415

    action = acknowledge if args.what == "ack" else resolve
    with connect(_url(settings), settings.database.schema_name, autocommit=True) as conn:
        try:
            with conn.transaction():
                action(conn, args.id, args.by, args.comment, datetime.now(UTC))
        except AlertError as exc:
            raise ConfigError(str(exc)) from None
    print(f"alert {args.id}: {'acknowledged' if args.what == 'ack' else 'resolved'} by {args.by}")
    return 0


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("alerts", help="list, show, acknowledge and resolve alerts")
    alerts = p.add_subparsers(dest="what", required=True)
    ls = alerts.add_parser("list", help="open alerts, newest first (JSON lines)")
    ls.add_argument("--state", action="append", choices=STATES, help="default: open ones")
    ls.add_argument("--limit", type=int, default=100)
    ls.set_defaults(func=cmd_list)
    show = alerts.add_parser("show", help="one alert with its evidence and history")
    show.add_argument("id", type=int)
    show.set_defaults(func=cmd_show)
    for name, text in (("ack", "acknowledge a firing alert"), ("resolve", "clear an alert")):
        a = alerts.add_parser(name, help=text)
        a.add_argument("id", type=int)
        a.add_argument("--by", required=True, help="who (recorded on the alert)")
        a.add_argument("--comment", default="")
        a.set_defaults(func=cmd_act)
