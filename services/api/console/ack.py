"""Acknowledging from a message: the link in a WeCom, DingTalk or e-mail notification.

Opening the link (GET) only shows the alert and a comment box — chat apps fetch links
for previews, and a preview must not acknowledge anything. Sending the form (POST) checks
the signature, the expiry and that the link is unused, records its use, and acknowledges
the alert as the receiver the message went to, naming the message. A forged, expired or
reused link is refused and audited.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from services.alerts import AlertError, acknowledge
from services.api.auth import ANONYMOUS, Principal, audit, client_address
from services.api.console._page import render
from services.api.deps import DbConn
from services.api.routes.alerts import alert_detail
from services.notify.ack_links import AckLink, parse_token, signature_ok

router = APIRouter(prefix="/console", include_in_schema=False)


class LinkRefused(Exception):  # noqa: N818 - an outcome shown to the person
    def __init__(self, reason: str, status: int) -> None:
        self.reason, self.status = reason, status
        super().__init__(reason)


def _checked(request: Request, conn: DbConn, token: str) -> tuple[AckLink, dict[str, Any]]:
    """The link and its notification row, or LinkRefused (forged, expired, used, off)."""
    secret = request.app.state.settings.console.link_secret
    if secret is None:
        raise LinkRefused("link_off", 404)
    link = parse_token(token)
    if link is None:
        raise LinkRefused("link_forged", 403)
    row = conn.execute(
        "SELECT n.receiver, n.alert_id, n.channel, n.transition, u.used_at"
        " FROM notification n LEFT JOIN ack_link_use u ON u.notification_id = n.id"
        " WHERE n.id = %s",
        (link.notification_id,),
    ).fetchone()
    if (
        row is None
        or row[1] != link.alert_id
        or row[3] != "firing"
        or not signature_ok(secret.get_secret_value().encode(), link, str(row[0]))
    ):
        raise LinkRefused("link_forged", 403)
    if link.expires <= datetime.now(UTC).timestamp():
        raise LinkRefused("link_expired", 410)
    if row[4] is not None:
        raise LinkRefused("link_used", 410)
    return link, {"receiver": row[0], "channel": row[2]}


def _refused(request: Request, conn: DbConn, exc: LinkRefused, token: str) -> HTMLResponse:
    audit(
        conn, ANONYMOUS, request, exc.status,
        after={"reason": exc.reason, "link": token[:40], "address": client_address(request)},
    )  # fmt: skip
    return render(request, "ack.html", None, status=exc.status, refused=exc.reason)


@router.get("/ack/{token}", response_class=HTMLResponse)
def ack_page(request: Request, conn: DbConn, token: str) -> HTMLResponse:
    try:
        link, note = _checked(request, conn, token)
    except LinkRefused as exc:
        return _refused(request, conn, exc, token)
    return render(
        request, "ack.html", None,
        alert=alert_detail(conn, link.alert_id), receiver=note["receiver"], token=token,
    )  # fmt: skip


@router.post("/ack/{token}", response_class=HTMLResponse)
def ack_from_link(
    request: Request,
    conn: DbConn,
    token: str,
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    try:
        link, note = _checked(request, conn, token)
    except LinkRefused as exc:
        return _refused(request, conn, exc, token)
    receiver = str(note["receiver"])
    actor = f"{receiver} (message link)"
    before = alert_detail(conn, link.alert_id)
    try:
        with conn.transaction():
            used = conn.execute(
                "INSERT INTO ack_link_use (notification_id, alert_id, receiver, address)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
                (link.notification_id, link.alert_id, receiver, client_address(request)),
            ).fetchone()
            if used is None:  # a second request won the race
                raise LinkRefused("link_used", 410)  # noqa: TRY301 - rolls the transaction back
            acknowledge(
                conn, link.alert_id, actor, comment, datetime.now(UTC), via=_via(link, note)
            )
    except LinkRefused as exc:
        return _refused(request, conn, exc, token)
    except AlertError as exc:
        audit(conn, ANONYMOUS, request, 409, after={"reason": str(exc), "via": "link"})
        return render(
            request, "ack.html", None, status=409, alert=before, receiver=receiver,
            token=None, not_firing=True,
        )  # fmt: skip
    after = alert_detail(conn, link.alert_id)
    audit(
        conn, Principal(actor, None), request, 200,
        before={"state": before.state}, after={"state": after.state, "via": "message link",
        "notification_id": link.notification_id},
    )  # fmt: skip
    return render(request, "ack.html", None, alert=after, receiver=receiver, done=True)


def _via(link: AckLink, note: dict[str, Any]) -> dict[str, Any]:
    return {
        "via": "message link", "notification_id": link.notification_id,
        "channel": note["channel"], "receiver": note["receiver"],
    }  # fmt: skip
