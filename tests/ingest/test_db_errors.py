"""Database errors classified by SQLSTATE, on errors the real PostgreSQL raises."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import errors, sql

from envmon.runtime.embedded import free_port
from ingest.storage.errors import ErrorKind, classify, describe, is_data_error
from tests.fixtures.servers import Database

pytestmark = pytest.mark.database
Conn = psycopg.Connection[tuple[object, ...]]


@pytest.fixture
def conn(database: Database) -> Iterator[Conn]:
    with psycopg.connect(
        database.url, autocommit=True, options=f"-c search_path={database.schema}"
    ) as c:
        c.execute("CREATE TABLE probe (id int PRIMARY KEY, v int NOT NULL)")
        c.execute("INSERT INTO probe VALUES (1, 10), (2, 20)")
        yield c


def raised(op: Callable[[], object]) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as info:
        op()
    return info.value


@pytest.mark.parametrize(
    ("query", "cls", "data"),
    [
        ("SELECT * FROM no_such_table", errors.UndefinedTable, False),
        ("SELECT no_such_column FROM probe", errors.UndefinedColumn, False),
        ("SELEC 1", errors.SyntaxError, False),
        ("SELECT 1 / 0", errors.DivisionByZero, True),
        ("SELECT 'x'::int", errors.InvalidTextRepresentation, True),
        ("INSERT INTO probe VALUES (1, 1)", errors.UniqueViolation, True),
        ("INSERT INTO probe VALUES (3, NULL)", errors.NotNullViolation, True),
    ],
)
def test_schema_data_and_integrity_errors_are_permanent(
    conn: Conn, query: str, cls: type[psycopg.Error], data: bool
) -> None:
    exc = raised(lambda: conn.execute(query.encode()))
    assert isinstance(exc, cls)
    assert classify(exc) is ErrorKind.PERMANENT
    assert is_data_error(exc) is data


def test_a_refused_connection_is_transient() -> None:
    exc = raised(lambda: psycopg.connect(f"postgresql://x@127.0.0.1:{free_port()}/x"))
    assert type(exc) is psycopg.OperationalError
    assert exc.sqlstate is None
    assert classify(exc) is ErrorKind.TRANSIENT


def test_a_terminated_backend_is_transient_and_so_is_the_closed_connection_after(
    database: Database, conn: Conn
) -> None:
    with database.connect() as other:
        other.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
    exc = raised(lambda: conn.execute("SELECT 1"))
    assert exc.sqlstate in {"57P01", None}  # admin shutdown, or just the lost socket
    assert classify(exc) is ErrorKind.TRANSIENT
    closed = raised(lambda: conn.execute("SELECT 1"))
    assert isinstance(closed, psycopg.OperationalError)
    assert classify(closed) is ErrorKind.TRANSIENT


def test_a_statement_timeout_is_transient(conn: Conn) -> None:
    conn.execute("SET statement_timeout = '50ms'")
    exc = raised(lambda: conn.execute("SELECT pg_sleep(2)"))
    assert isinstance(exc, errors.QueryCanceled)
    assert classify(exc) is ErrorKind.TRANSIENT


def test_a_lock_timeout_and_nowait_are_transient(database: Database, conn: Conn) -> None:
    with database.connect() as holder, holder.transaction():
        holder.execute("SELECT * FROM probe WHERE id = 1 FOR UPDATE")
        nowait = raised(lambda: conn.execute("SELECT * FROM probe WHERE id = 1 FOR UPDATE NOWAIT"))
        conn.execute("SET lock_timeout = '50ms'")
        timeout = raised(lambda: conn.execute("UPDATE probe SET v = 0 WHERE id = 1"))
    for exc in (nowait, timeout):
        assert isinstance(exc, errors.LockNotAvailable)
        assert classify(exc) is ErrorKind.TRANSIENT


def test_a_serialization_failure_is_transient(database: Database, conn: Conn) -> None:
    conn.autocommit = False
    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    conn.execute("SELECT v FROM probe WHERE id = 1").fetchone()  # the snapshot is taken
    with database.connect() as other:
        other.execute("UPDATE probe SET v = v + 1 WHERE id = 1")
    exc = raised(lambda: conn.execute("UPDATE probe SET v = v + 1 WHERE id = 1"))
    conn.rollback()
    assert isinstance(exc, errors.SerializationFailure)
    assert classify(exc) is ErrorKind.TRANSIENT
    assert describe(exc) == "SerializationFailure (40001)"


def test_a_deadlock_is_transient(database: Database, conn: Conn) -> None:
    conn.autocommit = False
    conn.execute("UPDATE probe SET v = 0 WHERE id = 1")
    other = database.connect()
    other.execute("UPDATE probe SET v = 0 WHERE id = 2")
    caught: list[BaseException] = []

    def cross() -> None:  # waits for row 1, held by conn
        try:
            other.execute("UPDATE probe SET v = 0 WHERE id = 1")
        except psycopg.Error as exc:
            caught.append(exc)
        other.rollback()

    t = threading.Thread(target=cross)
    t.start()
    try:
        conn.execute("SELECT pg_sleep(0.2)")  # let the other side start waiting
        conn.execute("UPDATE probe SET v = 0 WHERE id = 2")  # the cycle closes here ...
    except psycopg.Error as exc:
        caught.append(exc)  # ... and one of the two is chosen as the victim
    conn.rollback()
    t.join(10)
    other.close()
    [victim] = caught
    assert isinstance(victim, errors.DeadlockDetected)
    assert classify(victim) is ErrorKind.TRANSIENT


@pytest.mark.parametrize(
    ("state", "kind"),
    [
        ("53300", ErrorKind.TRANSIENT),  # too_many_connections
        ("53100", ErrorKind.TRANSIENT),  # disk_full
        ("57P03", ErrorKind.TRANSIENT),  # cannot_connect_now
        ("08006", ErrorKind.TRANSIENT),  # connection_failure
        ("25006", ErrorKind.TRANSIENT),  # read_only_sql_transaction (a standby)
        ("57P04", ErrorKind.PERMANENT),  # database_dropped
        ("40002", ErrorKind.PERMANENT),  # integrity violation at commit
        ("42501", ErrorKind.PERMANENT),  # insufficient_privilege
        ("XX000", ErrorKind.PERMANENT),  # internal_error
    ],
)
def test_states_hard_to_provoke_are_raised_by_the_server_with_their_code(
    conn: Conn, state: str, kind: ErrorKind
) -> None:
    raise_it = sql.SQL("DO $$ BEGIN RAISE EXCEPTION 'probe' USING ERRCODE = {}; END $$")
    exc = raised(lambda: conn.execute(raise_it.format(sql.Literal(state))))
    assert exc.sqlstate == state
    assert isinstance(exc, errors.lookup(state))
    assert classify(exc) is kind


def test_what_is_not_a_database_error_is_permanent() -> None:
    assert classify(KeyError("x")) is ErrorKind.PERMANENT
    assert classify(psycopg.ProgrammingError("bad parameters")) is ErrorKind.PERMANENT
    assert describe(KeyError("x")) == "KeyError"
