"""The one settings class, read from ``ENVMON_*`` environment variables.

Nested sections use ``__``: ``ENVMON_INGEST__BATCH_SIZE=5000``. The two most
used settings also have flat names: ``ENVMON_DATABASE_URL`` and ``ENVMON_MQTT_URL``.
"""

from __future__ import annotations

import logging
import os
import ssl
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.production import production_problems
from ingest.secrets import mask_url

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names it and how to fix it."""


class MqttSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="mqtt://[user:password@]host:port of the broker (mqtts:// for TLS);"
        " unset = embedded broker",
    )
    # TLS (mqtts://): the CA that signed the broker's certificate (default: the system's
    # trust store), and a client certificate and key when the broker asks for one.
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    client_id: str = "envmon-collector"
    # Collectors sharing this group split the feed between them ($share/<group>/...).
    shared_group: str | None = "collectors"
    topic_root: str = "liudong"
    # 5 for Mosquitto/EMQX; the embedded amqtt broker speaks 3.1.1 only.
    protocol: int = Field(default=5, description="MQTT protocol version: 5 or 4 (3.1.1)")
    keepalive_s: int = 30
    # How many unacknowledged messages the broker may send us at once (MQTT v5).
    # Acks wait for the commit, so this must exceed a few batches.
    receive_maximum: int = Field(default=65535, ge=1, le=65535)
    session_expiry_s: int = 7 * 24 * 3600
    # Without a URL: which broker to embed. auto = mosquitto when installed, else amqtt.
    embedded: str = Field(default="auto", pattern=r"^(auto|mosquitto|amqtt)$")

    @field_validator("url")
    @classmethod
    def _check_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("mqtt", "tcp", "mqtts") or not parts.hostname:
            raise ValueError(
                "ENVMON_MQTT_URL must look like mqtt://host:1883 or mqtts://host:8883,"
                f" got {mask_url(v)!r}"
            )
        return v

    @model_validator(mode="after")
    def _check_tls(self) -> MqttSettings:
        # without a URL here it may come from the flat ENVMON_MQTT_URL: Settings checks then
        if self.url is not None:
            self.check_tls_files()
        if self.key_file and not self.cert_file:
            raise ValueError("ENVMON_MQTT__KEY_FILE needs ENVMON_MQTT__CERT_FILE")
        for name in ("ca_file", "cert_file", "key_file"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"ENVMON_MQTT__{name.upper()}: no file {path}")
        return self

    def check_tls_files(self) -> None:
        if (self.ca_file or self.cert_file or self.key_file) and not self.tls:
            raise ValueError(
                "ENVMON_MQTT__CA_FILE, __CERT_FILE and __KEY_FILE apply to TLS only:"
                " ENVMON_MQTT_URL must then be mqtts://host:8883"
            )

    @property
    def tls(self) -> bool:
        return self.url is not None and urlsplit(self.url).scheme == "mqtts"

    def tls_context(self) -> ssl.SSLContext | None:
        """The client side of TLS: the broker's certificate verified, host name included."""
        if not self.tls:
            return None
        ctx = ssl.create_default_context(
            cafile=str(self.ca_file) if self.ca_file is not None else None
        )
        if self.cert_file is not None:
            ctx.load_cert_chain(
                self.cert_file, self.key_file if self.key_file is not None else None
            )
        return ctx

    @field_validator("protocol")
    @classmethod
    def _check_protocol(cls, v: int) -> int:
        if v not in (4, 5):
            raise ValueError("ENVMON_MQTT__PROTOCOL must be 5 (MQTT v5) or 4 (MQTT 3.1.1)")
        return v

    def host_port(self) -> tuple[str, int]:
        if self.url is None:
            raise ConfigError("no broker configured: set ENVMON_MQTT_URL=mqtt://host:1883")
        parts = urlsplit(self.url)
        assert parts.hostname is not None
        return parts.hostname, parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    def credentials(self) -> tuple[str, str] | None:
        if self.url is None:
            return None
        parts = urlsplit(self.url)
        if parts.username is None:
            return None
        return parts.username, parts.password or ""


class DatabaseSettings(BaseModel):
    url: SecretStr | None = Field(
        default=None,
        description="postgresql://user:password@host:5432/db; unset = embedded PostgreSQL",
    )
    # Schema for all tables; tests give each run its own.
    schema_name: str = Field(default="envmon", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    # Use TimescaleDB features when the extension is installable ("auto"), never, or require it.
    timescaledb: str = Field(default="auto", pattern=r"^(auto|off|require)$")
    connect_timeout_s: float = 5.0
    # Raw rows older than this are deleted (both flavours; rollups are kept); unset: keep all.
    raw_retention_days: int | None = Field(default=None, ge=1)


class IngestSettings(BaseModel):
    batch_size: int = Field(default=5000, ge=1, le=200_000)
    batch_interval_ms: int = Field(default=200, ge=1, le=60_000)
    # Decoded messages waiting for the writer, at most; the receiver blocks beyond it.
    max_pending: int = Field(default=100_000, ge=1)
    future_tolerance_s: float = 600.0
    # Live messages older than this (by the collector's clock) are refused as too_old: a
    # clock reset to 1970 or year 1 is not a reading. Large enough for a logger's buffer
    # after a long outage and for a year of backfill; raise it to load older history.
    max_age_days: float = Field(default=400.0, gt=0)
    stats_interval_s: float = 10.0
    # Plain PostgreSQL: how often the collector brings the hourly/daily rollups up to date.
    rollup_interval_s: float = Field(default=30.0, gt=0)
    flush_timeout_s: float = 10.0


class Hj212Settings(BaseModel):
    """The HJ 212 gateway: where data loggers connect, and how patient it is with them."""

    # 0.0.0.0 to take loggers from the network; the default serves this host only.
    host: str = "127.0.0.1"
    port: int = Field(default=9212, ge=0, le=65535)
    # Third topic level of the dead letters it publishes (<root>/hj212/<gateway_id>/dead).
    gateway_id: str = Field(default="hj212-gateway", pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    # An idle connection is closed after idle_factor x the logger's upload interval (at
    # least idle_min_s): loggers before HJ 212-2025 send no heartbeat; for one that does,
    # its heartbeat interval when shorter.
    idle_factor: float = Field(default=3.0, gt=0)
    idle_min_s: float = Field(default=120.0, gt=0)
    # A connection that has sent no valid packet yet is closed after this long.
    first_packet_timeout_s: float = Field(default=120.0, gt=0)
    # Connections served at once; one more is closed on arrival (counted, logged).
    max_connections: int = Field(default=5000, ge=1)
    # Garbage without a single valid packet: the connection is closed past this many bytes.
    garbage_limit_bytes: int = Field(default=4096, ge=1)
    # How long a reading may wait for the broker's PUBACK before its 9014 is given up.
    publish_timeout_s: float = Field(default=10.0, gt=0)
    # Split packets waiting for their other parts, per connection.
    max_split_pending: int = Field(default=64, ge=1)
    # Dead letters waiting for the broker; beyond it the oldest are dropped (and counted).
    dead_letter_backlog: int = Field(default=10_000, ge=1)
    flush_timeout_s: float = Field(default=5.0, ge=0)
    # History re-request: a gap in a logger's readings still open history_delay_s after
    # it was found (resends fill it meanwhile) is asked for (CN 2051/2061 with
    # BeginTime/EndTime), its newest history_max_hours at most; a request without its
    # 9012 after history_timeout_s, or refused, is asked again history_retry_s later.
    history: bool = True
    history_max_hours: float = Field(default=72.0, gt=0)
    history_delay_s: float = Field(default=60.0, ge=0)
    history_timeout_s: float = Field(default=120.0, gt=0)
    history_retry_s: float = Field(default=300.0, gt=0)


class RulesSettings(BaseModel):
    # Rule files (YAML) or directories of them, separated by ":"; default: the packaged pack.
    path: str | None = None
    enabled: bool = True
    interval_s: float = Field(default=1.0, gt=0, description="seconds between evaluations")


class NotifySettings(BaseModel):
    # The receivers and routes file (YAML); default: the district's receivers, no channel.
    config_path: str | None = None
    retry_base_s: float = Field(default=2.0, gt=0)
    retry_cap_s: float = Field(default=600.0, gt=0)


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # Reads without an API key; writes always need one.
    anonymous_read: bool = False
    pool_size: int = Field(default=10, ge=1, le=200)
    # Server processes of `envmon api serve` (each with its own pool).
    workers: int = Field(default=1, ge=1, le=64)
    # A log line per request costs about a third of a small request's time; a reverse
    # proxy in front usually keeps the access log.
    access_log: bool = False
    # Failed authentications (wrong, revoked or expired keys) per client address and per
    # key: past auth_failures within auth_window_s, 429 for auth_lockout_s (per process).
    auth_failures: int = Field(default=10, ge=1)
    auth_window_s: float = Field(default=60.0, gt=0)
    auth_lockout_s: float = Field(default=300.0, gt=0)
    # Event streams (SSE) open at once, per key and in all (per process); more get 429.
    streams_per_key: int = Field(default=5, ge=1)
    streams_total: int = Field(default=50, ge=1)
    # How long a request waits for a pooled database connection before a 503.
    pool_timeout_s: float = Field(default=5.0, gt=0)


class ConsoleSettings(BaseModel):
    # Signs the "acknowledge" links of notifications; the rule service that sends them
    # and the API that opens them need the same value (at least 32 characters). Unset:
    # messages carry no acknowledge link (`envmon up` makes one in its data directory).
    link_secret: SecretStr | None = None
    link_ttl_h: float = Field(default=72.0, gt=0, le=24 * 30, description="link validity")
    session_h: float = Field(default=8.0, gt=0, le=24 * 30, description="sign-in validity")
    # Session cookies only over HTTPS; set when the console is served behind TLS.
    secure_cookies: bool = False
    # A map tile URL template ({z}/{x}/{y}) for intranets with a tile server; unset: the
    # district's outline is drawn from the registry, with no tiles at all.
    tiles: str | None = None
    # The tiles' datum: AMap and Tencent basemaps are GCJ-02, and WGS-84 points drift by
    # hundreds of metres on them. Default: gcj02 for AMap/Tencent hosts, else wgs84.
    tiles_datum: Literal["wgs84", "gcj02"] | None = None
    tiles_attribution: str = ""

    @field_validator("link_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        return value

    @field_validator("tiles")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None and not all(f"{{{p}}}" in value for p in "zxy"):
            raise ValueError("a tile URL needs {z}, {x} and {y}")
        return value

    def datum(self) -> Literal["wgs84", "gcj02"]:
        if self.tiles_datum is not None:
            return self.tiles_datum
        host = (urlsplit(self.tiles).hostname or "") if self.tiles else ""
        gcj_hosts = ("autonavi.com", "amap.com", "map.qq.com", "gtimg.com")
        return "gcj02" if host.endswith(gcj_hosts) else "wgs84"


class ReportsSettings(BaseModel):
    # A TrueType font (.ttf/.ttc) with Chinese glyphs for PDF reports; default: the first
    # of the usual system fonts found (fonts-wqy-microhei on Debian/Ubuntu).
    font: str | None = None


class GrafanaSettings(BaseModel):
    url: str | None = None
    token: SecretStr | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ENVMON_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    mqtt: MqttSettings = MqttSettings()
    database: DatabaseSettings = DatabaseSettings()
    ingest: IngestSettings = IngestSettings()
    hj212: Hj212Settings = Hj212Settings()
    rules: RulesSettings = RulesSettings()
    notify: NotifySettings = NotifySettings()
    api: ApiSettings = ApiSettings()
    console: ConsoleSettings = ConsoleSettings()
    grafana: GrafanaSettings = GrafanaSettings()
    reports: ReportsSettings = ReportsSettings()
    # production: no embedded servers, no anonymous broker access, no placeholder secrets
    environment: Literal["development", "production"] = "development"
    # Flat aliases for the two settings everyone sets.
    database_url: SecretStr | None = None
    mqtt_url: str | None = None

    @model_validator(mode="after")
    def _flat_aliases(self) -> Settings:
        if self.database_url is not None and self.database.url is None:
            self.database.url = self.database_url
        if self.mqtt_url is not None and self.mqtt.url is None:
            self.mqtt.url = MqttSettings._check_url(self.mqtt_url)
        self.mqtt.check_tls_files()
        return self

    def describe(self) -> dict[str, Any]:
        """The resolved configuration with secrets masked, for the start-up log."""
        data = self.model_dump(mode="json", exclude={"database_url", "mqtt_url"})
        if self.mqtt.url:
            data["mqtt"]["url"] = mask_url(self.mqtt.url)
        if self.database.url is not None:
            data["database"]["url"] = mask_url(self.database.url.get_secret_value())
        if self.grafana.url:
            data["grafana"]["url"] = mask_url(self.grafana.url)
        return data


def _production_problems(s: Settings) -> list[str]:
    db = s.database.url.get_secret_value() if s.database.url is not None else None
    token = s.grafana.token.get_secret_value() if s.grafana.token is not None else None
    link = s.console.link_secret
    return production_problems(
        db, s.mqtt.url, token, link.get_secret_value() if link is not None else None
    )


def load_settings() -> Settings:
    """Read settings from the environment (and, with ``ENVMON_SECRETS_DIR``, from files
    named like the variables in lower case, e.g. Docker secrets ``envmon_database_url``);
    a bad value raises ConfigError naming it."""
    secrets_dir = os.environ.get("ENVMON_SECRETS_DIR") or None
    if secrets_dir is not None and not Path(secrets_dir).is_dir():
        raise ConfigError(f"ENVMON_SECRETS_DIR: no directory {secrets_dir}")
    try:
        settings = Settings(_secrets_dir=secrets_dir)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            if err["loc"]:
                name = "ENVMON_" + "__".join(str(p).upper() for p in err["loc"])
                lines.append(f"{name}: {err['msg']}")
            else:  # a check across sections: its message names the variables
                lines.append(str(err["msg"]).removeprefix("Value error, "))
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
    if settings.environment == "production" and (problems := _production_problems(settings)):
        raise ConfigError(
            "refused in production (ENVMON_ENVIRONMENT=production):\n  " + "\n  ".join(problems)
        )
    return settings
