"""The outbox dispatcher: groups queued notifications, sends them, retries until delivered.

Rows wait ``group_wait_s`` so that alerts of one rule, area, receiver and transition
raised together (a whole intersection dark, an area's stations in one episode) leave as
one message listing the subjects. A group is fixed once formed (``batch_id``), so its
retries carry the same idempotency key. A retryable failure backs off (capped, jittered)
and is retried for as long as it takes; a permanent one (bad key, refused address) is
marked failed with its reason. Sends run on a small thread pool, each bounded by its
channel's timeout, so one hanging receiver never holds up the others.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import psycopg
from psycopg.rows import TupleRow

from ingest.backoff import Backoff
from ingest.loops import LoopGuard, LoopWatch, run_connected
from services.notify.ack_links import AckLinks
from services.notify.channels import DeliveryError, Sender, sender_for
from services.notify.notice import Attachment, Notice, ReportNotice, SubjectLine
from services.notify.routing import RoutingConfig

log = logging.getLogger(__name__)

Conn = psycopg.Connection[TupleRow]
MAX_BATCHES = 64


@dataclass
class DispatchStats:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _subject(d: Mapping[str, Any], ack_link: str | None = None) -> SubjectLine:
    return SubjectLine(
        subject=d["subject"],
        name_zh=d["name_zh"],
        name_en=d["name_en"],
        area=d.get("area"),
        value=d.get("value"),
        window_start=datetime.fromisoformat(d["window_start"]),
        window_end=datetime.fromisoformat(d["window_end"]),
        detail=d.get("detail", ""),
        ack_link=ack_link,
    )


def build_notice(
    receiver: str,
    keys: list[str],
    facts: list[Mapping[str, Any]],
    routing: RoutingConfig,
    ack_links: Sequence[str | None] = (),
) -> Notice:
    """One message for a group of queued rows (same rule, transition, area, receiver);
    ``ack_links`` pairs with ``facts``, one acknowledge link (or None) per row."""
    first = facts[0]
    key = (
        keys[0]
        if len(keys) == 1
        else "group-" + hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:32]
    )
    known = routing.receivers.get(receiver)
    links = list(ack_links) + [None] * (len(facts) - len(ack_links))
    subjects = sorted(
        (_subject(f["subject"], link) for f, link in zip(facts, links, strict=True)),
        key=lambda s: s.subject,
    )
    return Notice(
        idempotency_key=key,
        receiver=receiver,
        transition=first["transition"],
        rule_id=first["rule_id"],
        title_zh=first["title_zh"],
        title_en=first["title_en"],
        severity=first["severity"],
        feed=first["feed"],
        measure_zh=first["measure_zh"],
        measure_en=first["measure_en"],
        unit=first["unit"],
        limit=first["limit"],
        standard=first["standard"],
        clause=first["clause"],
        edition=first.get("edition"),
        at=max(datetime.fromisoformat(f["at"]) for f in facts),
        subjects=tuple(subjects),
        link=first.get("link") if len(facts) == 1 else None,
        language=known.language if known is not None else "zh",
    )


def build_report_notice(
    receiver: str,
    key: str,
    facts: Mapping[str, Any],
    files: Sequence[Attachment],
    routing: RoutingConfig,
) -> ReportNotice:
    """The message of one queued report row (a report is never grouped with another)."""
    known = routing.receivers.get(receiver)
    return ReportNotice(
        idempotency_key=key,
        receiver=receiver,
        report=facts["report"],
        title_zh=facts["title_zh"],
        title_en=facts["title_en"],
        period=facts["period"],
        headline=tuple(facts.get("headline", ())),
        files=tuple(files),
        link=facts.get("link"),
        language=known.language if known is not None else "zh",
    )


def _attachments(conn: Conn, batch: int) -> list[Attachment]:
    rows = conn.execute(
        "SELECT f.filename, f.media_type, f.content FROM notification n"
        " JOIN report_file f ON f.id = ANY(n.files) WHERE n.batch_id = %s ORDER BY f.id",
        (batch,),
    ).fetchall()
    return [Attachment(name, media, bytes(content)) for name, media, content in rows]


class Dispatcher:
    def __init__(
        self,
        routing: RoutingConfig,
        *,
        retry_base_s: float = 2.0,
        retry_cap_s: float = 600.0,
        workers: int = 4,
        senders: Mapping[tuple[str, int], Sender] | None = None,
        http: httpx.Client | None = None,
        ack_links: AckLinks | None = None,
    ) -> None:
        self.routing = routing
        self.ack_links = ack_links
        self.retry_base_s = retry_base_s
        self.retry_cap_s = retry_cap_s
        self._retry = Backoff(min(retry_base_s, retry_cap_s), retry_cap_s)
        self._http = http or httpx.Client()
        self._owns_http = http is None
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="notify")
        self._senders: dict[tuple[str, int], Sender] = dict(senders or {})
        for rid, receiver in routing.receivers.items():
            for i, channel in enumerate(receiver.channels):
                self._senders.setdefault((rid, i), sender_for(channel, http=self._http))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._owns_http:
            self._http.close()

    def backoff_s(self, attempts: int) -> float:
        """The wait after the ``attempts``-th failed delivery (never above the cap)."""
        return self._retry.delay(attempts - 1)

    def form_batches(self, conn: Conn) -> None:
        """Group the rows that have waited ``group_wait_s`` into batches (alerts of one rule,
        area and transition together; a report row is a batch of its own)."""
        conn.execute(
            "WITH g AS (SELECT receiver, channel, rule_id, transition, coalesce(area, '') AS a,"
            " CASE WHEN kind = 'report' THEN idempotency_key END AS r,"
            " nextval('notification_batch_seq') AS b FROM notification"
            " WHERE state = 'pending' AND batch_id IS NULL"
            " AND created_at <= now() - make_interval(secs => %s)"
            " GROUP BY receiver, channel, rule_id, transition, coalesce(area, ''), r)"
            " UPDATE notification n SET batch_id = g.b FROM g"
            " WHERE n.state = 'pending' AND n.batch_id IS NULL"
            " AND n.created_at <= now() - make_interval(secs => %s)"
            " AND n.receiver = g.receiver AND n.channel = g.channel AND n.rule_id = g.rule_id"
            " AND n.transition = g.transition AND coalesce(n.area, '') = g.a"
            " AND CASE WHEN n.kind = 'report' THEN n.idempotency_key END IS NOT DISTINCT FROM g.r",
            (self.routing.group_wait_s, self.routing.group_wait_s),
        )

    def run_once(self, conn: Conn) -> DispatchStats:
        """Send every batch that is due; returns what happened."""
        with conn.transaction():
            self.form_batches(conn)
            due = conn.execute(
                "SELECT batch_id, receiver, channel, array_agg(idempotency_key ORDER BY id),"
                " array_agg(notice || jsonb_build_object('transition', transition) ORDER BY id),"
                " max(attempts), bool_or(kind = 'report'), array_agg(id ORDER BY id),"
                " array_agg(alert_id ORDER BY id), array_agg(created_at ORDER BY id)"
                " FROM notification WHERE state = 'pending' AND batch_id IS NOT NULL"
                " AND next_attempt_at <= now() GROUP BY batch_id, receiver, channel"
                " ORDER BY batch_id LIMIT %s",
                (MAX_BATCHES,),
            ).fetchall()
        stats = DispatchStats()
        jobs = []
        for batch, receiver, channel, keys, facts, attempts, is_report, ids, alerts, queued in due:
            notice: Notice | ReportNotice
            if is_report:
                files = _attachments(conn, batch)
                notice = build_report_notice(receiver, keys[0], facts[0], files, self.routing)
            else:
                links: list[str | None] = []
                if self.ack_links is not None and facts[0]["transition"] == "firing":
                    links = [
                        self.ack_links.url(n, a, receiver, q)
                        for n, a, q in zip(ids, alerts, queued, strict=True)
                    ]
                notice = build_notice(receiver, list(keys), list(facts), self.routing, links)
            jobs.append((batch, attempts, self._pool.submit(self._send, receiver, channel, notice)))
        for batch, attempts, job in jobs:
            error = job.result()
            with conn.transaction():
                self._record(conn, batch, attempts + 1, error, stats)
        return stats

    def _send(
        self, receiver: str, channel: int, notice: Notice | ReportNotice
    ) -> DeliveryError | None:
        sender = self._senders.get((receiver, channel))
        if sender is None:
            return DeliveryError("config", f"{receiver} has no channel {channel}", retryable=False)
        try:
            if isinstance(notice, ReportNotice):
                sender.send_report(notice)
            else:
                sender.send(notice)
        except DeliveryError as exc:
            return exc
        except Exception as exc:  # a sender bug must not stop the dispatcher
            log.exception("sending to %s failed unexpectedly", receiver)
            return DeliveryError("unknown", type(exc).__name__, retryable=True)
        return None

    def _record(
        self,
        conn: Conn,
        batch: int,
        attempts: int,
        error: DeliveryError | None,
        stats: DispatchStats,
    ) -> None:
        if error is None:
            conn.execute(
                "UPDATE notification SET state = 'sent', sent_at = now(), attempts = %s,"
                " last_error = NULL WHERE batch_id = %s AND state = 'pending'",
                (attempts, batch),
            )
            stats.sent += 1
            return
        text = f"{error.channel}: {error.detail}"[:500]
        stats.errors.append(text)
        if error.retryable:
            conn.execute(
                "UPDATE notification SET attempts = %s, last_error = %s,"
                " next_attempt_at = now() + make_interval(secs => %s)"
                " WHERE batch_id = %s AND state = 'pending'",
                (attempts, text, self.backoff_s(attempts), batch),
            )
            stats.retrying += 1
            log.warning("delivery failed (attempt %d), will retry: %s", attempts, text)
        else:
            conn.execute(
                "UPDATE notification SET state = 'failed', attempts = %s, last_error = %s"
                " WHERE batch_id = %s AND state = 'pending'",
                (attempts, text, batch),
            )
            stats.failed += 1
            log.error("delivery failed for good: %s", text)


def run_dispatcher(
    dispatcher: Dispatcher,
    connect: Callable[[], Conn],
    stop: threading.Event,
    interval_s: float = 1.0,
    *,
    guard: LoopGuard | None = None,
) -> None:
    """Dispatch until ``stop`` is set. A failed pass is logged and counted by ``guard``
    (``ingest.loops``): transient ones reconnect after its backoff, a permanent one ends
    the loop and sets the guard's watch."""
    guard = guard or LoopGuard(
        "notify-dispatcher", "local", watch=LoopWatch(), backoff=Backoff(interval_s, 15.0)
    )
    run_connected(dispatcher.run_once, connect, stop, interval_s, guard)
