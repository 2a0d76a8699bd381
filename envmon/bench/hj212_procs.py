"""The processes around ``envmon bench hj212``: the gateway as its own ``envmon hj212
serve``, and what /proc says of a process (memory, CPU time) while it runs."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from envmon.runtime.embedded import EmbeddedError, free_port, wait_for_port
from ingest.settings import ConfigError, Settings

SPARE_FILES = 512  # besides one socket per connection: broker, database, pipes, libraries


def raise_open_files(connections: int) -> int:
    """Allow this process (and the children it starts, which inherit it) a socket per
    connection; the soft limit it set. Refuses when the hard limit is too low."""
    need = connections + SPARE_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            raise ConfigError(
                f"--connections {connections} needs {need} open files per process, and the"
                f" hard limit is {hard}: raise it (ulimit -Hn, LimitNOFILE= of a systemd"
                f" unit, nofile in /etc/security/limits.conf) or ask for fewer connections"
            )
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        soft = need
    return soft


def proc_status(pid: int) -> dict[str, float]:
    """VmHWM (peak) and VmRSS of ``pid`` in MB; empty where /proc is not there."""
    out: dict[str, float] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            out[name] = int(value.split()[0]) / 1024  # kB
    return out


def proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds ``pid`` has used so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


class GatewayProcess:
    """``envmon hj212 serve`` for the bench's registry, on a free port of this host."""

    def __init__(self, settings: Settings, registry: Path, log_path: Path) -> None:
        assert settings.mqtt.url is not None
        self.port = free_port()
        self.log_path = log_path
        self._env = {
            **os.environ,
            "ENVMON_MQTT_URL": settings.mqtt.url,
            "ENVMON_MQTT__TOPIC_ROOT": settings.mqtt.topic_root,
            "ENVMON_MQTT__PROTOCOL": str(settings.mqtt.protocol),
        }
        self._args = [
            sys.executable, "-m", "envmon", "hj212", "serve", "--registry", str(registry),
            "--host", "127.0.0.1", "--port", str(self.port),
        ]  # fmt: skip
        self._proc: subprocess.Popen[str] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._proc is not None, "not started"
        return self._proc.pid

    def start(self, timeout: float = 60.0) -> None:
        self._log = self.log_path.open("ab")
        self._proc = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            self._args, env=self._env, stdout=subprocess.PIPE, stderr=self._log, text=True
        )
        try:
            wait_for_port("127.0.0.1", self.port, timeout)
        except EmbeddedError:
            self.close()
            raise EmbeddedError(f"the HJ 212 gateway did not start:\n{self.log_tail()}") from None

    def stop(self, timeout: float = 60.0) -> dict[str, Any]:
        """SIGTERM, and the counters it prints as its last line."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGTERM)
        out, _ = self._proc.communicate(timeout=timeout)
        self._close_log()
        lines = out.strip().splitlines()
        if self._proc.returncode != 0 or not lines:
            raise EmbeddedError(
                f"the HJ 212 gateway exited with {self._proc.returncode}:\n{self.log_tail()}"
            )
        summary: dict[str, Any] = json.loads(lines[-1])
        return summary

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.communicate(timeout=10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
