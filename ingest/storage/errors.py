"""Database errors classified by SQLSTATE (``psycopg.errors`` class), never by message text.

*Transient*: the same statement can succeed later, so a loop backs off and retries —
the connection went away or the server is shutting down, restarting or out of
resources, or the transaction lost a race (serialization, deadlock, lock timeout).
*Permanent*: retrying cannot help — the schema is not what the code expects (undefined
table or column), the data is refused (class 22, 23), a bug (syntax, wrong parameters).
A loop stops on those and its process exits, so that a supervisor restarts it and
someone looks.

psycopg raises connection failures (refused, reset, unknown host — and also a wrong
database name or password, which libpq reports before any SQLSTATE exists) as
``OperationalError`` without a SQLSTATE: those count as transient.
"""

from __future__ import annotations

from enum import StrEnum

import psycopg


class ErrorKind(StrEnum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"


# 08 connection exception, 53 insufficient resources (disk full, out of memory, too many
# connections), 57 operator intervention (admin/crash shutdown, cannot connect now,
# query cancelled, idle-session timeout), 40 transaction rollback (serialization, deadlock).
TRANSIENT_CLASSES = frozenset({"08", "40", "53", "57"})
TRANSIENT_STATES = frozenset(
    {
        "55P03",  # lock_not_available (lock_timeout, NOWAIT)
        "25P03",  # idle_in_transaction_session_timeout: the server closed the session
        "25006",  # read_only_sql_transaction: a standby after a failover; reconnect
    }
)
PERMANENT_STATES = frozenset(
    {
        "40002",  # transaction_integrity_constraint_violation: the data, at commit
        "57P04",  # database_dropped
    }
)
# The classes that name the data of one statement, not the connection or the schema: the
# collector's writer stores such a batch row by row and dead-letters the refused rows.
DATA_CLASSES = frozenset({"22", "23"})


def classify(exc: BaseException) -> ErrorKind:
    """Whether retrying the failed operation later can succeed.

    Anything that is not a database error is a bug in the loop, hence permanent."""
    if not isinstance(exc, psycopg.Error):
        return ErrorKind.PERMANENT
    state = exc.sqlstate
    if state is None:
        # No SQLSTATE: psycopg's own connection-level errors (refused, lost, closed) are
        # OperationalError; the rest (InterfaceError, ProgrammingError) are misuse.
        if isinstance(exc, psycopg.OperationalError):
            return ErrorKind.TRANSIENT
        return ErrorKind.PERMANENT
    if state in PERMANENT_STATES:
        return ErrorKind.PERMANENT
    if state in TRANSIENT_STATES or state[:2] in TRANSIENT_CLASSES:
        return ErrorKind.TRANSIENT
    return ErrorKind.PERMANENT


def is_transient(exc: BaseException) -> bool:
    return classify(exc) is ErrorKind.TRANSIENT


def is_data_error(exc: BaseException) -> bool:
    """This data was refused: class 22 (data exception) or 23 (integrity violation), or
    psycopg's own DataError for a value it cannot send (no SQLSTATE then)."""
    if isinstance(exc, psycopg.DataError | psycopg.IntegrityError):
        return True
    return isinstance(exc, psycopg.Error) and (exc.sqlstate or "")[:2] in DATA_CLASSES


def describe(exc: BaseException) -> str:
    """The error's class and SQLSTATE, e.g. ``UndefinedTable (42P01)`` — what is recorded."""
    state = exc.sqlstate if isinstance(exc, psycopg.Error) else None
    name = type(exc).__name__
    return f"{name} ({state})" if state else name
