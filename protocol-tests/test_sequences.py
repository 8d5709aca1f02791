"""Sequences through the real psql client and psycopg: CREATE/ALTER/DROP SEQUENCE,
nextval/currval/setval, SERIAL columns, concurrent callers, and durability of handed-out
values across `kill -9` of the engine."""

import threading

import pytest


def test_sequence_statements(cluster):
    r = cluster.psql("""
CREATE SEQUENCE s_a;
CREATE SEQUENCE IF NOT EXISTS s_a;
CREATE SEQUENCE s_b START WITH 100 INCREMENT BY 10;
SELECT nextval('s_a') AS a1, nextval('s_a') AS a2, nextval('S_B') AS b1;
SELECT currval('s_b') AS cur;
ALTER SEQUENCE s_b RESTART WITH 5;
SELECT nextval('s_b') AS restarted;
ALTER SEQUENCE s_b INCREMENT BY 2;
SELECT nextval('s_b') AS stepped;
SELECT setval('s_a', 50) AS set;
SELECT nextval('s_a') AS after_set;
SELECT setval('s_a', 7, false) AS set_uncalled;
SELECT nextval('s_a') AS after_uncalled;
CREATE TABLE s_b (x int);
CREATE TABLE s_b_tbl (x int);
CREATE INDEX s_b ON s_b_tbl (x);
CREATE VIEW s_b AS SELECT 1;
DROP SEQUENCE s_a, s_b;
DROP SEQUENCE IF EXISTS s_a;
""")
    out = r.stdout
    assert " a1 | a2 | b1 " in out and "  1 |  2 | 100" in out, out
    assert "cur" in out and " 100\n" in out
    assert "restarted" in out and "         5\n" in out
    assert "stepped" in out and "       7\n" in out
    assert " 51\n" in out
    assert "set_uncalled \n--------------\n            7\n" in out
    assert "after_uncalled \n----------------\n              7\n" in out
    assert r.stderr.count('relation "s_b" already exists') == 3, r.stderr
    assert 'sequence "s_a" does not exist, skipping' in r.stderr


def test_sequence_errors(cluster):
    r = cluster.psql("""
CREATE SEQUENCE s_err;
CREATE SEQUENCE s_err;
CREATE TABLE s_err (a int);
SELECT nextval('no_such_seq');
SELECT nextval(relname) FROM pg_class;
DROP SEQUENCE no_such_seq;
CREATE SEQUENCE s_zero INCREMENT BY 0;
ALTER SEQUENCE s_err RESTART;
DROP SEQUENCE s_err;
""", check=False)
    err = r.stderr
    assert 'relation "s_err" already exists' in err
    assert err.count('relation "s_err" already exists') == 2
    assert 'sequence "no_such_seq" does not exist' in err
    assert "string constant" in err
    assert "INCREMENT must not be zero" in err
    assert "RESTART without a value" in err


def test_serial_columns(cluster):
    r = cluster.psql("""
CREATE TABLE ser_t (id serial PRIMARY KEY, big bigserial, name text);
INSERT INTO ser_t (name) VALUES ('a'), ('b') RETURNING id, big, name;
INSERT INTO ser_t (id, name) VALUES (DEFAULT, 'c') RETURNING id;
SELECT nextval('ser_t_id_seq') AS next_id;
\\d ser_t
\\ds
DROP SEQUENCE ser_t_id_seq;
DROP TABLE ser_t;
SELECT nextval('ser_t_id_seq');
""", check=False)
    out, err = r.stdout, r.stderr
    assert "  1 |   1 | a" in out and "  2 |   2 | b" in out, out
    assert "\n  3\n" in out
    assert "next_id" in out and "       4\n" in out
    assert "nextval('ser_t_id_seq'::regclass)" in out
    assert "not null" in out
    # psql's \\ds lists the owned sequences.
    listed = [line for line in out.splitlines() if "| sequence |" in line]
    assert any("ser_t_id_seq" in line for line in listed), out
    assert any("ser_t_big_seq" in line for line in listed), out
    assert "cannot drop sequence ser_t_id_seq because other objects depend on it" in err
    # Dropped with its table.
    assert 'sequence "ser_t_id_seq" does not exist' in err


def test_concurrent_nextval_never_repeats(cluster):
    import psycopg
    with psycopg.connect(cluster.dsn(), autocommit=True) as c:
        c.execute("CREATE SEQUENCE s_conc")
    seen = []
    lock = threading.Lock()
    errors = []

    def worker():
        try:
            with psycopg.connect(cluster.dsn(), autocommit=True) as c:
                got = [c.execute("SELECT nextval('s_conc')").fetchone()[0] for _ in range(150)]
                # A rolled-back transaction does not give its values back.
                c.execute("BEGIN")
                got.append(c.execute("SELECT nextval('s_conc')").fetchone()[0])
                c.execute("ROLLBACK")
            with lock:
                seen.extend(got)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(seen) == 6 * 151
    assert len(set(seen)) == len(seen), "a value was handed out twice"
    assert sorted(seen) == list(range(1, 6 * 151 + 1))


def test_values_survive_kill_9(fresh_cluster):
    import psycopg
    c = fresh_cluster.start()
    with psycopg.connect(c.dsn(), autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE s_crash")
        before = [conn.execute("SELECT nextval('s_crash')").fetchone()[0] for _ in range(10)]
    c.kill_engine()
    c.start_engine()

    def after():
        with psycopg.connect(c.dsn(), autocommit=True) as conn:
            return conn.execute("SELECT nextval('s_crash')").fetchone()[0]

    value = None
    for _ in range(100):
        try:
            value = after()
            break
        except psycopg.OperationalError:
            import time
            time.sleep(0.1)
    assert value is not None
    assert value > max(before), (value, before)
