"""The shared backoff: full jitter under the cap, doubling ceilings, reproducible draws."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.backoff import Backoff

bases = st.floats(min_value=1e-3, max_value=60.0)
factors = st.floats(min_value=1.0, max_value=1e4)


@given(base=bases, factor=factors, seed=st.integers(), attempts=st.integers(1, 200))
def test_every_delay_lies_within_zero_and_the_cap(
    base: float, factor: float, seed: int, attempts: int
) -> None:
    cap = base * factor
    backoff = Backoff(base, cap, rand=random.Random(seed).random)
    for n in range(attempts):
        d = backoff.next()
        assert 0.0 <= d <= backoff.ceiling(n) <= cap


@given(base=bases, factor=factors, attempt=st.integers(0, 2000))
def test_the_ceiling_doubles_until_the_cap(base: float, factor: float, attempt: int) -> None:
    cap = base * factor
    backoff = Backoff(base, cap)
    assert backoff.ceiling(0) == base
    assert backoff.ceiling(attempt + 1) == min(cap, 2 * backoff.ceiling(attempt))


def test_the_cap_is_reached_and_never_passed_even_by_jitter() -> None:
    """The old hand-written copies jittered after the cap: 15 s became up to 18 s."""
    backoff = Backoff(0.5, 15.0, rand=lambda: 0.999999)
    delays = [backoff.next() for _ in range(12)]
    assert max(delays) <= 15.0
    assert delays[-1] == pytest.approx(15.0, rel=1e-5)
    assert [backoff.ceiling(n) for n in range(7)] == [0.5, 1, 2, 4, 8, 15, 15]


def test_a_seeded_source_gives_the_same_delays_and_reset_starts_over() -> None:
    a = Backoff(0.2, 10.0, rand=random.Random(42).random)
    b = Backoff(0.2, 10.0, rand=random.Random(42).random)
    first = [a.next() for _ in range(8)]
    assert first == [b.next() for _ in range(8)]
    assert len(set(first)) == 8  # jittered, not a fixed schedule
    a.reset()
    assert a.attempt == 0
    assert a.next() <= 0.2


def test_a_long_outage_does_not_overflow() -> None:
    backoff = Backoff(0.2, 10.0)
    assert backoff.ceiling(10_000) == 10.0


@pytest.mark.parametrize(("base", "cap"), [(0.0, 1.0), (2.0, 1.0), (-1.0, 5.0)])
def test_nonsense_bounds_are_refused(base: float, cap: float) -> None:
    with pytest.raises(ValueError, match="0 < base <= cap"):
        Backoff(base, cap)
