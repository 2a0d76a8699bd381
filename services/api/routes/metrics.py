"""Prometheus metrics (text exposition format), read from the database's own counters and
from ``loop_health``, where the collector and rule service processes count their loops'
failures."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from ingest.feeds import KINDS
from services.api.auth import require
from services.api.deps import DbConn

router = APIRouter(tags=["metrics"])
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    # Every digit: "%g" keeps six, which turns a timestamp or a count above a million
    # into 1.76e+09.
    return str(int(value)) if value.is_integer() else repr(value)


def _family(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{labels} {_number(value)}" for labels, value in samples]
    return lines


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    dependencies=[Depends(require("viewer"))],
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics(conn: DbConn) -> PlainTextResponse:
    """Rows stored per table, dead letters per reason, messages missing by seq gaps per
    feed, open alerts, outbox backlog,
    collector lag, the rule engine's latest pass time, and each loop's failures and latest
    success. Prometheus scrapes it with a viewer key (``authorization`` in its scrape
    config)."""
    tables = [k.table for k in KINDS]
    # A hypertable's rows go into its chunks (its inheritance children): count them too.
    stored = conn.execute(
        "SELECT p.relname, sum(s.n_tup_ins)::bigint FROM pg_class p"
        " JOIN pg_namespace n ON n.oid = p.relnamespace AND n.nspname = current_schema()"
        " JOIN pg_stat_user_tables s ON s.relid = p.oid"
        "   OR s.relid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = p.oid)"
        " WHERE p.relname = ANY(%s) GROUP BY p.relname ORDER BY p.relname",
        (tables,),
    ).fetchall()
    dead = conn.execute(
        "SELECT reason, count(*) FROM dead_letter GROUP BY reason ORDER BY reason"
    ).fetchall()
    gaps = conn.execute(
        "SELECT feed, sum(to_seq - from_seq + 1 - recovered)::bigint FROM seq_gap"
        " GROUP BY feed ORDER BY feed"
    ).fetchall()
    alerts = conn.execute(
        "SELECT severity, count(*) FROM alert WHERE state <> 'resolved'"
        " GROUP BY severity ORDER BY severity"
    ).fetchall()
    outbox = conn.execute(
        "SELECT state, count(*) FROM notification WHERE state IN ('pending', 'failed')"
        " GROUP BY state ORDER BY state"
    ).fetchall()
    lag = conn.execute(
        "SELECT extract(epoch FROM now() - max(received_at)) FROM device_latest"
    ).fetchone()
    engine = conn.execute("SELECT last_pass_s FROM rule_engine WHERE id = 1").fetchone()
    loops = conn.execute(
        "SELECT loop, instance, transient_failures, permanent_failures,"
        " extract(epoch FROM last_success_at) FROM loop_health ORDER BY loop, instance"
    ).fetchall()
    lines = _family(
        "envmon_rows_inserted_total", "counter", "rows inserted into each feed table",
        [(f'{{table="{t}"}}', float(n)) for t, n in stored],
    )  # fmt: skip
    lines += _family(
        "envmon_dead_letters", "gauge", "dead letters kept, by reason",
        [(f'{{reason="{r}"}}', float(n)) for r, n in dead],
    )  # fmt: skip
    lines += _family(
        "envmon_seq_missing_total", "counter",
        "messages missing by the devices' sequence numbers and not arrived late, by feed",
        [(f'{{feed="{f}"}}', float(n)) for f, n in gaps],
    )  # fmt: skip
    lines += _family(
        "envmon_alerts_open", "gauge", "alerts not resolved, by severity",
        [(f'{{severity="{s}"}}', float(n)) for s, n in alerts],
    )  # fmt: skip
    lines += _family(
        "envmon_outbox_notifications", "gauge", "notifications waiting or failed",
        [(f'{{state="{s}"}}', float(n)) for s, n in outbox],
    )  # fmt: skip
    if lag is not None and lag[0] is not None:
        lines += _family(
            "envmon_collector_lag_seconds", "gauge", "seconds since the newest stored row",
            [("", float(lag[0]))],
        )  # fmt: skip
    if engine is not None and engine[0] is not None:
        lines += _family(
            "envmon_rule_pass_seconds", "gauge", "duration of the rule engine's latest pass",
            [("", float(engine[0]))],
        )  # fmt: skip
    failures: list[tuple[str, float]] = []
    success: list[tuple[str, float]] = []
    for loop, instance, transient, permanent, last_success in loops:
        who = f'loop="{_label(loop)}",instance="{_label(instance)}"'
        failures += [
            (f'{{{who},kind="transient"}}', float(transient)),
            (f'{{{who},kind="permanent"}}', float(permanent)),
        ]
        if last_success is not None:
            success.append((f"{{{who}}}", float(last_success)))
    lines += _family(
        "envmon_loop_failures_total", "counter", "failed passes of each long-running loop",
        failures,
    )  # fmt: skip
    lines += _family(
        "envmon_loop_last_success_timestamp_seconds", "gauge",
        "unix time of each loop's latest successful pass", success,
    )  # fmt: skip
    return PlainTextResponse("\n".join(lines) + "\n", media_type=CONTENT_TYPE)
