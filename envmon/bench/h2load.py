"""Load from ``h2load`` (nghttp2-client): a C load generator much lighter than the server,
at a fixed request rate or flat out, with each request's time read from its log file.

At a rate, each of a group's clients sends ``--rps`` requests a second over one HTTP/1.1
connection, one at a time; the clients are enough for each to wait at least
``MIN_CLIENT_INTERVAL_S`` between its requests, so a response slower than that (not
one of the targets) is what would hold the next request back.
"""

from __future__ import annotations

import math
import re
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from envmon.bench.stats import percentile

MIN_CLIENT_INTERVAL_S = 0.2
_SUMMARY = re.compile(
    r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed,"
    r" (\d+) errored, (\d+) timeout"
)


class H2loadError(RuntimeError):
    pass


@dataclass(frozen=True)
class Load:
    """One group's figures: response-time percentiles, errors, requests answered a second."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    requests: int
    per_s: float


def binary() -> str:
    found = shutil.which("h2load")
    if found is None:
        raise H2loadError(
            "envmon bench api drives the API with h2load: install nghttp2-client"
            " (apt-get install nghttp2-client)"
        )
    return found


def clients_for(rate: float) -> int:
    return max(1, math.ceil(rate * MIN_CLIENT_INTERVAL_S))


def start(
    base: str,
    key: str,
    paths: Sequence[str],
    *,
    seconds: float,
    warmup_s: float,
    rate: float | None = None,
    clients: int = 20,
    workdir: Path,
    name: str,
) -> tuple[subprocess.Popen[str], Path]:
    """Start h2load on ``paths`` (cycled): at ``rate`` requests a second, or flat out with
    ``clients`` connections. Returns the process and its log file."""
    uris = workdir / f"{name}.uris"
    uris.write_text("".join(f"{base}{p}\n" for p in paths), "utf-8")
    log = workdir / f"{name}.log"
    if rate is not None:
        clients = clients_for(rate)
    command = [
        binary(), "--h1", "-i", str(uris), "-H", f"authorization: Bearer {key}",
        "-c", str(clients), "-m", "1", "-D", f"{seconds:g}", "--warm-up-time", f"{warmup_s:g}",
        "--log-file", str(log),
    ]  # fmt: skip
    if rate is not None:
        command += ["--rps", f"{rate / clients:.3f}"]
    process = subprocess.Popen(  # noqa: S603 - our own arguments
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return process, log


def finish(process: subprocess.Popen[str], log: Path, seconds: float) -> Load:
    """Wait for h2load; the figures of the requests its log holds."""
    out, _ = process.communicate(timeout=seconds * 3 + 120)
    if process.returncode != 0:
        raise H2loadError(f"h2load failed ({process.returncode}): {out[-1500:]}")
    summary = _SUMMARY.search(out)
    if summary is None:
        raise H2loadError(f"no summary in h2load's output: {out[-1500:]}")
    failed, errored, timeout = (int(g) for g in summary.groups()[4:7])
    times, bad = [], 0
    for line in log.read_text().splitlines():
        _, status, micros = line.split("\t")[:3]
        if not 200 <= int(status) < 300:
            bad += 1
        times.append(int(micros) / 1000)
    if not times:
        raise H2loadError(f"h2load answered no request: {out[-1500:]}")
    times.sort()
    return Load(
        p50_ms=round(statistics.median(times), 1),
        p95_ms=round(percentile(times, 0.95), 1),
        p99_ms=round(percentile(times, 0.99), 1),
        errors=bad + failed + errored + timeout,
        requests=len(times),
        per_s=round(len(times) / seconds, 1),
    )


def run_together(
    base: str,
    key: str,
    groups: Mapping[str, Sequence[str]],
    *,
    seconds: float,
    warmup_s: float,
    rate: float | None = None,
    clients: int = 20,
) -> dict[str, Load]:
    """Every group at once (at ``rate`` each, or flat out): the mix the server sees."""
    with tempfile.TemporaryDirectory(prefix="envmon-h2load-") as tmp:
        running = {
            g: start(
                base, key, paths, seconds=seconds, warmup_s=warmup_s, rate=rate,
                clients=clients, workdir=Path(tmp), name=g,
            )
            for g, paths in groups.items()
        }  # fmt: skip
        return {g: finish(p, log, seconds) for g, (p, log) in running.items()}
