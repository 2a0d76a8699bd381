"""Acknowledge links: signed per notification, alert and receiver; any change is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.notify.ack_links import AckLinks, make_token, parse_token, signature_ok

SECRET = b"k" * 32


def test_a_token_round_trips_and_verifies_for_its_receiver_only() -> None:
    token = make_token(SECRET, 41, 7, "duty-office", 1_900_000_000)
    link = parse_token(token)
    assert link is not None
    assert (link.notification_id, link.alert_id, link.expires) == (41, 7, 1_900_000_000)
    assert signature_ok(SECRET, link, "duty-office")
    assert not signature_ok(SECRET, link, "water-utility")
    assert not signature_ok(b"x" * 32, link, "duty-office")


@given(position=st.integers(min_value=0, max_value=200), char=st.sampled_from("0123456789aZ_-."))
def test_changing_any_character_breaks_the_link(position: int, char: str) -> None:
    token = make_token(SECRET, 41, 7, "duty", 1_900_000_000)
    i = position % len(token)
    forged = token[:i] + char + token[i + 1 :]
    if forged == token:
        return
    link = parse_token(forged)
    assert link is None or not signature_ok(SECRET, link, "duty")


@given(st.text(max_size=120))
def test_arbitrary_text_never_parses_into_a_valid_link(text: str) -> None:
    link = parse_token(text)
    assert link is None or not signature_ok(SECRET, link, "duty")


def test_the_url_expires_a_fixed_time_after_the_row_was_queued() -> None:
    links = AckLinks("https://console.example", SECRET, timedelta(hours=72))
    queued = datetime(2026, 12, 1, 8, tzinfo=UTC)
    url = links.url(41, 7, "duty", queued)
    assert url == links.url(41, 7, "duty", queued)  # a retry sends the same bytes
    assert url.startswith("https://console.example/console/ack/41.7.")
    link = parse_token(url.rsplit("/", 1)[1])
    assert link is not None
    assert link.expires == int((queued + timedelta(hours=72)).timestamp())
