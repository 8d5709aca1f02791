"""psycopg 3 against a live cluster: server-side parameters (extended protocol), types,
errors with their SQLSTATEs, transactions and snapshot isolation."""

import datetime
import threading
import time
import decimal

import psycopg
import pytest
from psycopg import errors


@pytest.fixture
def conn(cluster):
    with psycopg.connect(cluster.dsn(), autocommit=True) as c:
        yield c


def test_select_one(conn):
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_version_names_rosetta(conn):
    v = conn.execute("SELECT version()").fetchone()[0]
    assert v.startswith("PostgreSQL 15") and "Rosetta" in v
    assert "Rosetta" in conn.info.parameter_status("server_version")


def test_all_types_round_trip_with_parameters(conn):
    conn.execute("DROP TABLE IF EXISTS alltypes")
    conn.execute(
        """CREATE TABLE alltypes (
            id INTEGER PRIMARY KEY, s SMALLINT, b BIGINT, n NUMERIC(10,2), r REAL,
            d DOUBLE PRECISION, ok BOOLEAN, t TEXT, v VARCHAR(10), c CHAR(3), dt DATE,
            ts TIMESTAMP, by BYTEA)""")
    row = (1, 7, 9_000_000_000, decimal.Decimal("12.34"), 1.5, 2.25, True, "héllo", "abc",
           "xy ", datetime.date(2024, 2, 29), datetime.datetime(2024, 1, 2, 3, 4, 5, 123456),
           b"\x00\x01\xff")
    conn.execute("INSERT INTO alltypes VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)", row)
    got = conn.execute("SELECT * FROM alltypes WHERE id = %s", (1,)).fetchone()
    assert got == row
    # NULLs in every column but the key.
    conn.execute("INSERT INTO alltypes (id) VALUES (%s)", (2,))
    got = conn.execute("SELECT * FROM alltypes WHERE id = %s", (2,)).fetchone()
    assert got == (2,) + (None,) * 12
    # Binary results too.
    with conn.cursor(binary=True) as cur:
        cur.execute("SELECT * FROM alltypes WHERE id = %s", (1,))
        assert cur.fetchone() == row


def test_prepared_statement_reuse(conn):
    conn.execute("DROP TABLE IF EXISTS kv")
    conn.execute("CREATE TABLE kv (k INT PRIMARY KEY, v TEXT NOT NULL)")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO kv VALUES (%s, %s)", [(i, f"v{i}") for i in range(50)])
    for i in range(0, 50, 7):
        got = conn.execute("SELECT v FROM kv WHERE k = %s", (i,), prepare=True).fetchone()
        assert got == (f"v{i}",)
    assert conn.execute("SELECT count(*), sum(k) FROM kv").fetchone() == (50, sum(range(50)))


@pytest.mark.parametrize("sql,state", [
    ("SELECT * FROM no_such_table", "42P01"),
    ("SELECT no_such_column FROM kv", "42703"),
    ("SELEC 1", "42601"),
    ("SELECT 1/0", "22012"),
    ("SELECT 'abc'::integer", "22P02"),
    ("INSERT INTO kv VALUES (1, 'dup')", "23505"),
    ("INSERT INTO kv VALUES (1000, NULL)", "23502"),
])
def test_errors_carry_sqlstate_and_session_continues(conn, sql, state):
    conn.execute("CREATE TABLE IF NOT EXISTS kv (k INT PRIMARY KEY, v TEXT NOT NULL)")
    conn.execute("INSERT INTO kv SELECT 1, 'one' WHERE NOT EXISTS (SELECT 1 FROM kv WHERE k = 1)")
    with pytest.raises(psycopg.Error) as e:
        conn.execute(sql)
    assert e.value.sqlstate == state
    assert conn.execute("SELECT 2").fetchone() == (2,)


def test_failed_transaction_refuses_until_rollback(cluster):
    with psycopg.connect(cluster.dsn()) as c:
        c.execute("SELECT 1")
        with pytest.raises(errors.UndefinedTable):
            c.execute("SELECT * FROM nope")
        with pytest.raises(errors.InFailedSqlTransaction):
            c.execute("SELECT 1")
        c.rollback()
        assert c.execute("SELECT 3").fetchone() == (3,)


def test_rollback_discards_and_commit_keeps(cluster):
    with psycopg.connect(cluster.dsn(), autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS acct")
        c.execute("CREATE TABLE acct (id INT PRIMARY KEY, bal INT)")
        c.execute("INSERT INTO acct VALUES (1, 100)")
    with psycopg.connect(cluster.dsn()) as c:
        c.execute("UPDATE acct SET bal = bal - 10 WHERE id = 1")
        c.rollback()
        assert c.execute("SELECT bal FROM acct").fetchone() == (100,)
        c.execute("UPDATE acct SET bal = bal - 10 WHERE id = 1")
        c.commit()
        assert c.execute("SELECT bal FROM acct").fetchone() == (90,)


def test_snapshot_isolation_and_write_conflict(cluster):
    with psycopg.connect(cluster.dsn(), autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS si")
        c.execute("CREATE TABLE si (id INT PRIMARY KEY, v INT)")
        c.execute("INSERT INTO si VALUES (1, 0)")
    a = psycopg.connect(cluster.dsn())
    b = psycopg.connect(cluster.dsn())
    b.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        assert a.execute("SELECT v FROM si WHERE id = 1").fetchone() == (0,)
        assert b.execute("SELECT v FROM si WHERE id = 1").fetchone() == (0,)
        a.execute("UPDATE si SET v = 1 WHERE id = 1")
        a.commit()
        # b keeps its snapshot ...
        assert b.execute("SELECT v FROM si WHERE id = 1").fetchone() == (0,)
        # ... and the later writer fails with a serialization failure.
        with pytest.raises(errors.SerializationFailure):
            b.execute("UPDATE si SET v = 2 WHERE id = 1")
        b.rollback()
        assert b.execute("SELECT v FROM si WHERE id = 1").fetchone() == (1,)
    finally:
        a.close()
        b.close()


def test_create_and_drop_database(cluster):
    with psycopg.connect(cluster.dsn(), autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS other")
        c.execute("CREATE DATABASE other")
    with psycopg.connect(cluster.dsn("other"), autocommit=True) as o:
        o.execute("CREATE TABLE only_here (x INT)")
        o.execute("INSERT INTO only_here VALUES (42)")
        assert o.execute("SELECT x FROM only_here").fetchone() == (42,)
    with psycopg.connect(cluster.dsn(), autocommit=True) as c:
        with pytest.raises(errors.UndefinedTable):
            c.execute("SELECT * FROM only_here")
        c.execute("DROP DATABASE other")
    with pytest.raises(psycopg.OperationalError) as e:
        psycopg.connect(cluster.dsn("other"))
    assert "does not exist" in str(e.value)


def test_wrong_password_is_refused(cluster):
    dsn = cluster.dsn().replace("password=test-secret", "password=wrong")
    with pytest.raises(psycopg.OperationalError) as e:
        psycopg.connect(dsn)
    assert "password authentication failed" in str(e.value)


def test_read_committed_waits_for_the_row_and_applies_on_top(cluster):
    """PostgreSQL's default: a second writer of a row waits for the first and then
    updates the committed version; nobody fails."""
    with psycopg.connect(cluster.dsn(), autocommit=True) as c:
        assert c.execute("SHOW transaction_isolation").fetchone() == ("read committed",)
        c.execute("DROP TABLE IF EXISTS rc")
        c.execute("CREATE TABLE rc (id INT PRIMARY KEY, v INT)")
        c.execute("INSERT INTO rc VALUES (1, 0)")
    a = psycopg.connect(cluster.dsn())
    b = psycopg.connect(cluster.dsn())
    try:
        a.execute("UPDATE rc SET v = v + 1 WHERE id = 1")
        done = threading.Event()

        def second():
            b.execute("UPDATE rc SET v = v + 10 WHERE id = 1")
            b.commit()
            done.set()

        t = threading.Thread(target=second)
        t.start()
        # b waits for a's row lock ...
        assert not done.wait(0.5)
        a.commit()
        # ... and then applies its change on top of a's.
        t.join(10)
        assert done.is_set()
        with psycopg.connect(cluster.dsn(), autocommit=True) as c:
            assert c.execute("SELECT v FROM rc").fetchone() == (11,)
    finally:
        a.close()
        b.close()


def test_deadlock_is_detected(cluster):
    with psycopg.connect(cluster.dsn(), autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS dl")
        c.execute("CREATE TABLE dl (id INT PRIMARY KEY, v INT)")
        c.execute("INSERT INTO dl VALUES (1, 0), (2, 0)")
    a = psycopg.connect(cluster.dsn())
    b = psycopg.connect(cluster.dsn())
    try:
        a.execute("UPDATE dl SET v = 1 WHERE id = 1")
        b.execute("UPDATE dl SET v = 2 WHERE id = 2")
        outcome = {}

        def first():
            try:
                a.execute("UPDATE dl SET v = 1 WHERE id = 2")
                outcome["a"] = "ok"
            except errors.DeadlockDetected:
                outcome["a"] = "deadlock"

        t = threading.Thread(target=first)
        t.start()
        time.sleep(0.3)
        try:
            b.execute("UPDATE dl SET v = 2 WHERE id = 1")
            outcome["b"] = "ok"
        except errors.DeadlockDetected:
            outcome["b"] = "deadlock"
            b.rollback()
        t.join(10)
        assert sorted(outcome.values()) == ["deadlock", "ok"], outcome
    finally:
        a.rollback()
        a.close()
        b.close()


def test_lock_timeout(cluster):
    with psycopg.connect(cluster.dsn(), autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS lt")
        c.execute("CREATE TABLE lt (id INT PRIMARY KEY, v INT)")
        c.execute("INSERT INTO lt VALUES (1, 0)")
    a = psycopg.connect(cluster.dsn())
    b = psycopg.connect(cluster.dsn(), autocommit=True)
    try:
        a.execute("UPDATE lt SET v = 1 WHERE id = 1")
        b.execute("SET lock_timeout = '200ms'")
        started = time.time()
        with pytest.raises(errors.LockNotAvailable):
            b.execute("UPDATE lt SET v = 2 WHERE id = 1")
        assert time.time() - started < 5
    finally:
        a.rollback()
        a.close()
        b.close()


def test_prepared_plans_follow_catalog_changes(cluster):
    """Prepared statements keep their bound plan between executions; a catalog change
    (new index, re-created table) makes the next execution bind again, and a changed
    result shape is refused as PostgreSQL does (0A000)."""
    with psycopg.connect(cluster.dsn(), autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS pc")
        c.execute("CREATE TABLE pc (id INT PRIMARY KEY, v INT)")
        c.execute("INSERT INTO pc SELECT g, g * 10 FROM generate_series(1, 50) g")
        q = "SELECT v FROM pc WHERE v = %s"
        for _ in range(3):
            assert c.execute(q, (70,), prepare=True).fetchall() == [(70,)]
        c.execute("CREATE INDEX pc_v ON pc (v)")
        c.execute("INSERT INTO pc VALUES (51, 70)")
        assert sorted(c.execute(q, (70,), prepare=True).fetchall()) == [(70,), (70,)]
        # Same shape, new table: rebinds and reads the new rows.
        c.execute("DROP TABLE pc")
        c.execute("CREATE TABLE pc (id INT PRIMARY KEY, v INT)")
        c.execute("INSERT INTO pc VALUES (1, 70)")
        assert c.execute(q, (70,), prepare=True).fetchall() == [(70,)]
        w = "UPDATE pc SET v = v + 1 WHERE id = %s"
        for _ in range(3):
            c.execute(w, (1,), prepare=True)
        assert c.execute("SELECT v FROM pc").fetchone() == (73,)
        # A catalog change made by another session (psycopg forgets its own prepared
        # statements after DDL on the same connection, so only this reaches the engine's
        # cache): same shape rebinds, a different result type is refused.
        k = "SELECT v FROM pc WHERE id = %s"
        assert c.execute(k, (1,), prepare=True).fetchall() == [(73,)]
        with psycopg.connect(cluster.dsn(), autocommit=True) as other:
            other.execute("DROP TABLE pc")
            other.execute("CREATE TABLE pc (id INT PRIMARY KEY, v INT)")
            other.execute("INSERT INTO pc VALUES (1, 5)")
        assert c.execute(k, (1,), prepare=True).fetchall() == [(5,)]
        with psycopg.connect(cluster.dsn(), autocommit=True) as other:
            other.execute("DROP TABLE pc")
            other.execute("CREATE TABLE pc (id INT PRIMARY KEY, v TEXT)")
        with pytest.raises(errors.FeatureNotSupported, match="cached plan"):
            c.execute(k, (1,), prepare=True)
