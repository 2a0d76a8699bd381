"""The alert state machine of one (rule, subject): a pure fold over its evaluations.

Each evaluation says breach, safe, or nothing (not enough data). Hold and clear times
count from the end of the first window that showed the breach (or the clearing): the
moment it became known in measurement time. A breach opens a pending
alert; once it has held for ``hold.windows`` evaluations and ``hold.duration`` the alert
fires. A firing alert resolves after ``clear.windows`` evaluations (and ``clear.hold``)
past the clear level; between the trip and clear levels it stays firing (hysteresis), so a
value wobbling around the limit never flaps. A pending alert whose breach stops is
discarded without notice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from services.rules.model import Clear, Hold

Phase = Literal["ok", "pending", "firing"]
Change = Literal["pending", "firing", "resolved", "discarded", "update"]


@dataclass(frozen=True)
class Verdict:
    """One evaluation of a subject: ``breach`` None = no verdict (too little data)."""

    start: datetime
    end: datetime
    breach: bool | None
    cleared: bool  # past the clear level (only meaningful when not breaching)
    value: float | None


@dataclass(frozen=True)
class SubjectState:
    phase: Phase = "ok"
    breach_since: datetime | None = None
    breach_streak: int = 0
    clear_since: datetime | None = None
    clear_streak: int = 0


def _held(
    streak: int, since: datetime | None, now: datetime, windows: int, hold: Hold | Clear
) -> bool:
    duration = hold.duration if isinstance(hold, Hold) else hold.hold
    return streak >= windows and since is not None and now - since >= duration


def step(  # noqa: PLR0911 - one return per transition of the machine
    state: SubjectState, v: Verdict, hold: Hold, clear: Clear
) -> tuple[SubjectState, Change | None]:
    """The next state and what changed for the alert (None: nothing to record)."""
    if v.breach is None:
        return state, None
    if v.breach:
        streak = state.breach_streak + 1 if state.phase != "ok" else 1
        since = state.breach_since if state.phase != "ok" else v.end
        if state.phase == "firing":
            return replace(state, clear_since=None, clear_streak=0), "update"
        if _held(streak, since, v.end, hold.windows, hold):
            return SubjectState("firing", since, streak), "firing"
        change: Change = "pending" if state.phase == "ok" else "update"
        return SubjectState("pending", since, streak), change
    if state.phase == "pending":
        return SubjectState(), "discarded"
    if state.phase == "firing":
        if not v.cleared:  # between the trip and the clear level: keep firing
            return replace(state, clear_since=None, clear_streak=0), None
        cstreak = state.clear_streak + 1
        csince = state.clear_since or v.end
        if _held(cstreak, csince, v.end, clear.windows, clear):
            return SubjectState(), "resolved"
        return replace(state, clear_since=csince, clear_streak=cstreak), None
    return state, None
