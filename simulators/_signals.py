"""Deterministic signal building blocks: hashed noise, diurnal curves, seasons, episodes.

Every value is a pure function of ``(seed, keys, time)`` and never of a running random
state, so a device's reading at a given instant is the same however the time range is
chunked, and the same on every run with the same seed.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable

LOCAL_OFFSET_S = 8 * 3600
DAY_S = 86_400
_YEAR_DAYS = 365.2425
_TWO_64 = 2.0**-64


def _digest(seed: int, keys: tuple[object, ...]) -> bytes:
    text = "\x1f".join([str(seed), *map(str, keys)])
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def unit(seed: int, *keys: object) -> float:
    """Uniform in [0, 1) from a hash of the seed and keys."""
    return int.from_bytes(_digest(seed, keys)[:8], "little") * _TWO_64


def gauss(seed: int, *keys: object) -> float:
    """Standard normal (Box-Muller over one hash) from the seed and keys."""
    d = _digest(seed, keys)
    u1 = (int.from_bytes(d[:8], "little") + 1) * _TWO_64  # (0, 1]: log is finite
    u2 = int.from_bytes(d[8:], "little") * _TWO_64
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def smooth(t: float, scale_s: float, seed: int, *keys: object) -> float:
    """Slowly varying noise (≈ N(0, 0.5..1)): cosine interpolation of normal knots every
    ``scale_s`` seconds, so consecutive samples are correlated like a real process."""
    x = t / scale_s
    i = math.floor(x)
    w = (1.0 - math.cos(math.pi * (x - i))) / 2.0
    return (1.0 - w) * gauss(seed, *keys, i) + w * gauss(seed, *keys, i + 1)


def clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else min(x, hi)


def local_hour(t: float) -> float:
    """Hour of the Asia/Shanghai day, 0 <= h < 24, for epoch seconds ``t``."""
    return ((t + LOCAL_OFFSET_S) % DAY_S) / 3600.0


def local_day(t: float) -> int:
    """Index of the Asia/Shanghai calendar day (days since 1970-01-01 local)."""
    return math.floor((t + LOCAL_OFFSET_S) / DAY_S)


def bump(hour: float, center: float, width: float) -> float:
    """A Gaussian bump on the 24-hour circle, 1 at ``center``."""
    d = abs(hour - center) % 24.0
    d = min(d, 24.0 - d)
    return math.exp(-0.5 * (d / width) ** 2)


def day_mean(curve: Callable[[float], float], steps: int = 24 * 12) -> float:
    """Mean of a curve of the local hour over one day (to normalise profiles to mean 1)."""
    return sum(curve(24.0 * i / steps) for i in range(steps)) / steps


def seasonal(t: float, lo: float, hi: float, peak_doy: float) -> float:
    """Annual cosine between ``lo`` and ``hi`` peaking on day-of-year ``peak_doy``."""
    doy = ((t + LOCAL_OFFSET_S) / DAY_S) % _YEAR_DAYS
    return lo + (hi - lo) * (1.0 + math.cos(2.0 * math.pi * (doy - peak_doy) / _YEAR_DAYS)) / 2.0


def episode(
    t: float, seed: int, key: str, prob_per_day: float, *, min_days: int = 2, max_days: int = 4
) -> float:
    """Strength 0..1 of multi-day episodes (e.g. regional haze).

    An episode starts on local day ``s`` when ``hash(seed, key, s) < prob_per_day`` and lasts
    ``min_days..max_days`` days (also from the hash); it builds up over its first half day and
    clears over its last, so a day's value depends on nothing but the seed and the time.
    """
    x = (t + LOCAL_OFFSET_S) / DAY_S
    today = math.floor(x)
    strength = 0.0
    for start in range(today - max_days, today + 1):
        if unit(seed, key, "episode", start) >= prob_per_day:
            continue
        length = min_days + int(
            unit(seed, key, "episode-length", start) * (max_days - min_days + 1)
        )
        age = x - start
        if 0.0 <= age < length:
            edge = min(age, length - age) / 0.5
            strength = max(strength, math.sin(math.pi / 2.0 * min(edge, 1.0)) ** 2)
    return strength
