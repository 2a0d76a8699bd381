"""The rule service: the engine and the outbox dispatcher, each on its own thread.

Both loops follow ``ingest.loops``: every failure is logged and counted in
``loop_health``; a transient one is retried with backoff; a permanent one stops the loop
and sets ``watch``, on which the entry point waits to exit non-zero.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Sequence
from pathlib import Path

import psycopg
from psycopg.rows import TupleRow

from ingest.backoff import Backoff
from ingest.loops import LoopGuard, LoopWatch
from ingest.registry.model import Registry
from ingest.settings import ConfigError, Settings
from ingest.storage.health import LoopHealth
from ingest.storage.migrate import connect
from services.notify.ack_links import AckLinks
from services.notify.outbox import Dispatcher, run_dispatcher
from services.notify.routing import RoutingConfig, RoutingError, default_routing, load_routing
from services.rules.engine import ENGINE_LOCK, Clock, CycleStats, RuleEngine, utcnow
from services.rules.load import RuleError, default_pack, load_rules
from services.rules.model import RuleBase

log = logging.getLogger(__name__)


def rule_paths(spec: str | None) -> list[Path]:
    """The files named by ``ENVMON_RULES__PATH`` (files or directories, ":"-separated)."""
    if not spec:
        return default_pack()
    out: list[Path] = []
    for part in spec.split(":"):
        p = Path(part)
        out += sorted(p.glob("*.yaml")) if p.is_dir() else [p]
    return out


def load_configuration(
    settings: Settings, registry: Registry
) -> tuple[list[RuleBase], RoutingConfig]:
    """Rules and routing, checked against each other; a problem is a ConfigError at start."""
    try:
        rules = load_rules(rule_paths(settings.rules.path), registry)
    except RuleError as exc:
        raise ConfigError(f"ENVMON_RULES__PATH: {exc}") from None
    path = settings.notify.config_path
    try:
        routing = load_routing(Path(path)) if path else default_routing()
    except RoutingError as exc:
        raise ConfigError(f"ENVMON_NOTIFY__CONFIG_PATH: {exc}") from None
    for rule in rules:
        unknown = [r for r in rule.receivers if r not in routing.receivers]
        if unknown:
            raise ConfigError(f"rule {rule.id}: unknown receivers {unknown}")
    return rules, routing


def ack_links(settings: Settings, routing: RoutingConfig) -> AckLinks | None:
    """Acknowledge links for firing messages, when both the console's address (the routing
    file's ``api_base``) and ``ENVMON_CONSOLE__LINK_SECRET`` are set."""
    links = AckLinks.configured(routing.api_base, settings.console)
    if links is None:
        missing = "api_base in the routing file" if routing.api_base is None else ""
        if settings.console.link_secret is None:
            missing += (" and " if missing else "") + "ENVMON_CONSOLE__LINK_SECRET"
        log.info("messages carry no acknowledge links: set %s", missing)
    return links


class RuleService:
    def __init__(
        self,
        settings: Settings,
        db_url: str,
        registry: Registry,
        *,
        rules: Sequence[RuleBase] | None = None,
        routing: RoutingConfig | None = None,
        clock: Clock = utcnow,
        watch: LoopWatch | None = None,
        instance: str | None = None,
    ) -> None:
        if rules is None or routing is None:
            loaded_rules, loaded_routing = load_configuration(settings, registry)
            rules = loaded_rules if rules is None else rules
            routing = loaded_routing if routing is None else routing
        self.settings = settings
        self._url = db_url
        self._schema = settings.database.schema_name
        self.engine = RuleEngine(rules, registry, routing, clock)
        self.dispatcher = Dispatcher(
            routing,
            retry_base_s=settings.notify.retry_base_s,
            retry_cap_s=settings.notify.retry_cap_s,
            ack_links=ack_links(settings, routing),
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._engine_lock = threading.Lock()
        self._conn: psycopg.Connection[TupleRow] | None = None
        self.watch = watch or LoopWatch()
        self.instance = instance or socket.gethostname()
        self._health = LoopHealth(
            db_url, self._schema, connect_timeout_s=settings.database.connect_timeout_s
        )
        log.info("rule service: %d rules, %d receivers", len(rules), len(routing.receivers))

    def _connect(self) -> psycopg.Connection[TupleRow]:
        return connect(self._url, self._schema, autocommit=True)

    def start(self) -> None:
        for name, target in (("rules", self._run_engine), ("outbox", self._run_outbox)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        self.dispatcher.close()
        self._health.close()

    def loop_guard(self, name: str) -> LoopGuard:
        """The failure policy of one of this service's loops (counted in loop_health)."""
        interval = self.settings.rules.interval_s
        return LoopGuard(
            name,
            self.instance,
            watch=self.watch,
            backoff=Backoff(min(interval, 15.0), max(interval, 15.0)),
            health=self._health,
            logger=log,
        )

    def cycle(self) -> CycleStats:
        """One evaluation pass now (also used at the end of a demo run)."""
        with self._engine_lock:
            if self._conn is None or self._conn.closed:
                self._conn = self._locked_connection()
            return self.engine.cycle(self._conn)

    def catch_up(self, max_cycles: int = 20) -> None:
        """Evaluate until nothing is left (after the data stopped: the end of a demo)."""
        self._stop.clear()
        try:
            for _ in range(max_cycles):
                if not self.cycle().evaluations:
                    break
        finally:
            self._stop.set()
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _locked_connection(self) -> psycopg.Connection[TupleRow]:
        """A connection holding the engine lock: one active engine per database."""
        conn = self._connect()
        waiting = False
        while not self._stop.is_set():
            row = conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s || current_schema(), 0))",
                (ENGINE_LOCK,),
            ).fetchone()
            if row and row[0]:
                return conn
            if not waiting:
                log.info("another rule engine is active on this schema; standing by")
                waiting = True
            self._stop.wait(5)
        conn.close()
        raise SystemExit(0)

    def _run_engine(self) -> None:
        guard = self.loop_guard("rules-engine")
        while not self._stop.is_set():
            delay: float | None = self.settings.rules.interval_s
            try:
                stats = self.cycle()
                changes = {k: n for k, n in stats.transitions.items() if k != "update"}
                if changes:
                    log.info("rules: %s in %.2f s", changes, stats.seconds)
                guard.succeeded()
            except SystemExit:
                return
            except Exception as exc:
                delay = guard.failed(exc)
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
            if delay is None:
                return
            self._stop.wait(delay)
        if self._conn is not None:
            self._conn.close()

    def _run_outbox(self) -> None:
        run_dispatcher(
            self.dispatcher, self._connect, self._stop, guard=self.loop_guard("notify-dispatcher")
        )
