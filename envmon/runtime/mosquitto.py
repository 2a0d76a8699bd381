"""Mosquitto started by the program from the project's configuration (``deploy/``).

Without :class:`BrokerSecurity` it is the embedded broker: one listener on 127.0.0.1,
anonymous clients allowed — the only place they are. With it, the configuration is
production's: registered accounts only (the dynamic-security file of
``envmon broker config``) and, given TLS files, the TLS listener too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from envmon.runtime.ports import EmbeddedError, free_port, wait_for_port

DYNSEC_PLUGIN = "mosquitto_dynamic_security.so"
_PLUGIN_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib",
                "/usr/local/lib")  # fmt: skip


@dataclass(frozen=True, slots=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path
    require_certificate: bool = False  # clients must present a certificate of the CA


@dataclass(frozen=True, slots=True)
class BrokerSecurity:
    dynsec: Path  # the security file written by `envmon broker config`
    tls: TlsFiles | None = None


def dynsec_plugin() -> str:
    for d in _PLUGIN_DIRS:
        if (Path(d) / DYNSEC_PLUGIN).exists():
            return str(Path(d) / DYNSEC_PLUGIN)
    raise EmbeddedError(
        f"Mosquitto's dynamic-security plugin ({DYNSEC_PLUGIN}) is not installed;"
        " it ships with the mosquitto package of Debian and the eclipse-mosquitto image"
    )


def mosquitto_config(
    port: int,
    data_dir: Path,
    security: BrokerSecurity | None = None,
    tls_port: int | None = None,
    overrides: Mapping[str, str] | None = None,
) -> str:
    """The project's Mosquitto configuration on 127.0.0.1 with local ports and paths
    (and ``overrides``: directive → value, replacing the file's or added)."""
    text = resources.files("envmon.runtime").joinpath("mosquitto.conf").read_text("utf-8")
    tls = security.tls if security else None
    subst: dict[str, str | None] = {
        "listener 1883": f"listener {port} 127.0.0.1",
        "listener 8883": f"listener {tls_port} 127.0.0.1" if tls else None,
        "cafile": f"cafile {tls.ca}" if tls else None,
        "certfile": f"certfile {tls.cert}" if tls else None,
        "keyfile": f"keyfile {tls.key}" if tls else None,
        "tls_version": "tls_version tlsv1.2" if tls else None,
        "#require_certificate": "require_certificate true"
        if tls and tls.require_certificate
        else None,
        "allow_anonymous": "allow_anonymous false" if security else "allow_anonymous true",
        "plugin": f"plugin {dynsec_plugin()}" if security else None,
        "plugin_opt_config_file": f"plugin_opt_config_file {security.dynsec}" if security else None,
        "persistence_location": f"persistence_location {data_dir}/",
        **{k: f"{k} {v}" for k, v in (overrides or {}).items()},
    }
    out = []
    for line in text.splitlines():
        key = line if line.startswith("listener") else line.partition(" ")[0]
        if key in subst:
            if (new := subst[key]) is not None:
                out.append(new)
        else:
            out.append(line)
    present = {line.partition(" ")[0] for line in text.splitlines()}
    out += [f"{k} {v}" for k, v in (overrides or {}).items() if k not in present]
    if os.geteuid() == 0:
        # Started as root, mosquitto drops to the "mosquitto" user, which cannot write
        # a private temporary directory: it would silently keep no persistent sessions.
        out.append("user root")
    return "\n".join(out) + "\n"


class MosquittoBroker:
    """A mosquitto process with the project's configuration; can be stopped and restarted."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        security: BrokerSecurity | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        binary = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
        )
        if binary is None:
            raise EmbeddedError("no mosquitto binary on PATH")
        self.binary = binary
        self.data_dir = data_dir
        self.security = security
        self.overrides = dict(overrides or {})
        self.port = port or free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.tls_port = free_port() if security and security.tls else None
        self.protocol = 5
        self._proc: subprocess.Popen[bytes] | None = None

    def tls_url(self, host: str = "localhost") -> str:
        """mqtts:// URL of the TLS listener (``host`` as the server certificate names it)."""
        if self.tls_port is None:
            raise EmbeddedError("this broker has no TLS listener")
        return f"mqtts://{host}:{self.tls_port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "mosquitto.conf"
        conf.write_text(
            mosquitto_config(self.port, self.data_dir, self.security, self.tls_port, self.overrides)
        )
        self._log = (self.data_dir / "mosquitto.log").open("ab")
        self._proc = subprocess.Popen(  # noqa: S603 - our own binary and config
            [self.binary, "-c", str(conf)], stdout=self._log, stderr=subprocess.STDOUT
        )
        try:
            wait_for_port("127.0.0.1", self.port, 10)
            if self.tls_port is not None:
                wait_for_port("127.0.0.1", self.tls_port, 10)
        except EmbeddedError:
            self.stop()
            raise EmbeddedError(
                f"mosquitto did not start; see {self.data_dir / 'mosquitto.log'}"
            ) from None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing is saved (start() starts it again on its data)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None
            self._log.close()

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
            self._log.close()

    def log_text(self) -> str:
        path = self.data_dir / "mosquitto.log"
        return path.read_text("utf-8", "replace") if path.exists() else ""
