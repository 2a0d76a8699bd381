"""Render the first page of each PDF report from a few simulated days, for the README.

    ENVMON_DATABASE_URL=postgresql://… .venv/bin/python tools/render_report_pages.py

Stores ``--days`` simulated days from the start of ``--month`` (every station, plant and
DMA, the RSUs of the first ``--intersections`` intersections) into a fresh schema,
renders each report as a PDF and its first page as a PNG (``pdftoppm``) in ``--out``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from envmon.replay import StoredReplay, subset
from ingest.registry import load_registry
from ingest.storage.maintain import refresh_rollups
from ingest.storage.migrate import connect, migrate
from services.reports import build_report, parse_period
from services.reports.formats import render
from services.reports.period import local_midnight
from services.storage import MIGRATIONS
from simulators import DistrictSimulator

SCHEMA = "report_pages"
PERIODS = {
    "air-daily": "day",
    "air-monthly": "month",
    "air-annual": "year",
    "wwtp-monthly": "month",
    "leakage-monthly": "month",
    "rsu-monthly": "month",
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--month", default="2026-11")
    p.add_argument("--days", type=int, default=3)
    p.add_argument("--intersections", type=int, default=40)
    p.add_argument("--out", type=Path, default=Path("docs/reports"))
    args = p.parse_args()
    url = os.environ.get("ENVMON_DATABASE_URL")
    if not url:
        print("set ENVMON_DATABASE_URL to a PostgreSQL server", file=sys.stderr)
        return 2
    registry = load_registry()
    crossings = {i.id for i in registry.intersections[: args.intersections]}
    ids = [s.id for _, s in registry.reporting_sites()] + [d.id for d in registry.dmas]
    ids += sorted(crossings)  # with their RSUs
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    migrate(url, SCHEMA, timescale_mode="off", extra=MIGRATIONS)
    month = parse_period(month=args.month)
    start = month.start
    end = min(start + timedelta(days=args.days), datetime.now(UTC))
    sim = DistrictSimulator(subset(registry, ids), 7, ("bypass",), 0.0, run_window=(start, end))
    replay = StoredReplay(url, SCHEMA, registry, sim)
    t = start
    while t < end:
        n = replay.store(t, min(t + timedelta(hours=1), end))
        print(f"{t.isoformat()}: {n:,} messages", file=sys.stderr)
        t += timedelta(hours=1)
    replay.close()
    refresh_rollups(url, SCHEMA, datetime.now(UTC), storage="postgresql")
    day = (local_midnight(month.first) + timedelta(days=1)).date().isoformat()
    args.out.mkdir(parents=True, exist_ok=True)
    with connect(url, SCHEMA) as conn, tempfile.TemporaryDirectory() as tmp:
        for name, kind in PERIODS.items():
            period = parse_period(
                day=day if kind == "day" else None,
                month=args.month if kind == "month" else None,
                year=args.month[:4] if kind == "year" else None,
            )
            pdf = Path(tmp) / f"{name}.pdf"
            pdf.write_bytes(render(build_report(conn, registry, name, period), "pdf"))
            subprocess.run(
                ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                 str(args.out / name)],
                check=True,
            )  # fmt: skip
            print(f"{args.out / name}.png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
