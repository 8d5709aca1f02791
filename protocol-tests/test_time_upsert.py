"""TIME values (text and binary through psql and psycopg, indexes on TIME), upserts
(`ON CONFLICT` through psql, `ON DUPLICATE KEY UPDATE` and AUTO_INCREMENT through the
mariadb client and PyMySQL), and the Firebird `RDB$` system tables read with SQL."""

import datetime


def test_time_through_psql(cluster):
    r = cluster.psql("""
CREATE TABLE tm (id int PRIMARY KEY, t time, t2 time without time zone);
INSERT INTO tm VALUES (1, '12:34:56.789', '00:00'), (2, '23:59:59.999999', '2024-01-02 03:04:05');
SELECT id, t, t2 FROM tm ORDER BY t DESC;
SELECT id FROM tm WHERE t > '13:00';
CREATE TABLE tk (t time PRIMARY KEY, v int);
INSERT INTO tk VALUES ('10:00', 1), ('09:00', 2), ('11:00:00.5', 3);
SELECT v FROM tk WHERE t = '09:00:00';
SELECT t FROM tk ORDER BY t;
SELECT CAST(TIMESTAMP '2020-01-01 10:11:12' AS time) AS from_ts, '1:2:3'::time::text AS txt;
SELECT '24:00:01'::time;
SELECT 'noon'::time;
""", check=False)
    out, err = r.stdout, r.stderr
    assert "  2 | 23:59:59.999999 | 03:04:05" in out, out
    assert "  1 | 12:34:56.789    | 00:00:00" in out
    assert " 09:00:00\n 10:00:00\n 11:00:00.5\n" in out
    assert " 10:11:12 | 01:02:03" in out
    assert 'date/time field value out of range: "24:00:01"' in err
    assert 'invalid input syntax for type time: "noon"' in err


def test_time_through_psycopg_binary(cluster):
    import psycopg
    with psycopg.connect(cluster.dsn(), autocommit=True) as c:
        c.execute("CREATE TABLE tb (id int PRIMARY KEY, t time)")
        c.execute("INSERT INTO tb VALUES (%s, %s)", (1, datetime.time(8, 9, 10, 123456)))
        row = c.execute("SELECT t FROM tb WHERE id = 1", binary=True).fetchone()
        assert row[0] == datetime.time(8, 9, 10, 123456)
        row = c.execute("SELECT t FROM tb WHERE t = %s", (datetime.time(8, 9, 10, 123456),)).fetchone()
        assert row[0] == datetime.time(8, 9, 10, 123456)
        assert c.execute("SELECT localtime").fetchone()[0].__class__ is datetime.time


def test_on_conflict_through_psql(cluster):
    r = cluster.psql("""
CREATE TABLE up (id int PRIMARY KEY, name text, n int DEFAULT 0, email text UNIQUE);
INSERT INTO up VALUES (1, 'a', 1, 'a@x'), (2, 'b', 1, 'b@x');
INSERT INTO up VALUES (1, 'a2', 5, 'zz') ON CONFLICT (id)
  DO UPDATE SET name = excluded.name, n = up.n + excluded.n RETURNING id, name, n, email;
INSERT INTO up VALUES (2, 'ignored', 5, 'q@x') ON CONFLICT DO NOTHING;
INSERT INTO up VALUES (3, 'c', 1, 'b@x') ON CONFLICT (email)
  DO UPDATE SET n = up.n + 100 WHERE up.n < 10 RETURNING id, n;
INSERT INTO up VALUES (3, 'c', 1, 'b@x') ON CONFLICT (email)
  DO UPDATE SET n = up.n + 100 WHERE up.n < 10 RETURNING id, n;
INSERT INTO up VALUES (4, 'd', 1, 'd@x') ON CONFLICT (id) DO NOTHING RETURNING id;
INSERT INTO up VALUES (6, 'f') ON CONFLICT DO UPDATE SET name = 'x';
SELECT id, name, n, email FROM up ORDER BY id;
""", check=False)
    out, err = r.stdout, r.stderr
    assert "  1 | a2   | 6 | a@x" in out, out
    assert "INSERT 0 0" in out
    assert "  2 | 101" in out
    assert "ON CONFLICT DO UPDATE requires inference specification" in err
    assert "  1 | a2   |   6 | a@x\n  2 | b    | 101 | b@x\n  4 | d    |   1 | d@x" in out


def test_mysql_auto_increment_and_duplicate_key(mysql_cluster):
    r = mysql_cluster.mysql("""
CREATE TABLE ai (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(10));
INSERT INTO ai (name) VALUES ('a'), ('b');
SELECT LAST_INSERT_ID() AS first_id;
INSERT INTO ai VALUES (10, 'c');
INSERT INTO ai (id, name) VALUES (NULL, 'd'), (0, 'e');
SELECT LAST_INSERT_ID() AS next_id;
SELECT id, name FROM ai ORDER BY id;
DESCRIBE ai;
INSERT INTO ai VALUES (1, 'dup') ON DUPLICATE KEY UPDATE name = CONCAT(VALUES(name), '!');
SELECT name FROM ai WHERE id = 1;
SELECT LAST_INSERT_ID(42) AS set_id, LAST_INSERT_ID() AS got;
""")
    out = r.stdout
    assert "first_id\n1\n" in out, out
    assert "next_id\n11\n" in out
    assert "1\ta\n2\tb\n10\tc\n11\td\n12\te\n" in out
    assert "auto_increment" in out
    assert "name\ndup!\n" in out
    assert "set_id\tgot\n42\t42\n" in out


def test_pymysql_lastrowid(mysql_cluster):
    conn = mysql_cluster.pymysql(autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE ai2 (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)")
            cur.execute("INSERT INTO ai2 (v) VALUES (1)")
            first = cur.lastrowid
            cur.execute("INSERT INTO ai2 (v) VALUES (2), (3)")
            assert cur.lastrowid == first + 1
            assert conn.insert_id() == first + 1
            cur.execute("SELECT LAST_INSERT_ID()")
            assert cur.fetchone()[0] == first + 1
    finally:
        conn.close()


def test_firebird_system_tables_by_sql(cluster):
    r = cluster.psql("""
CREATE TABLE fbt (id int PRIMARY KEY, name varchar(10) NOT NULL DEFAULT 'x', amount numeric(9,2), t time);
CREATE SEQUENCE fbgen START WITH 10;
SELECT count(*) AS n FROM rdb$database;
SELECT trim(rdb$relation_name) AS rel, rdb$system_flag AS sys, rdb$relation_type AS kind
  FROM rdb$relations WHERE rdb$relation_name = 'FBT                                                            ';
SELECT trim(rf.rdb$field_name) AS col, rf.rdb$field_position AS pos, rf.rdb$null_flag AS nn,
       f.rdb$field_type AS ty, f.rdb$field_sub_type AS sub, f.rdb$field_scale AS sc,
       f.rdb$field_precision AS pr, f.rdb$character_length AS len
  FROM rdb$relation_fields rf JOIN rdb$fields f ON f.rdb$field_name = rf.rdb$field_source
  WHERE trim(rf.rdb$relation_name) = 'FBT' ORDER BY rf.rdb$field_position;
SELECT trim(i.rdb$index_name) AS idx, i.rdb$unique_flag AS uq, trim(s.rdb$field_name) AS col
  FROM rdb$indices i JOIN rdb$index_segments s ON s.rdb$index_name = i.rdb$index_name
  WHERE trim(i.rdb$relation_name) = 'FBT';
SELECT trim(rdb$constraint_type) AS ctype FROM rdb$relation_constraints WHERE trim(rdb$relation_name) = 'FBT';
SELECT trim(rdb$generator_name) AS gen, rdb$initial_value AS init, rdb$generator_increment AS inc
  FROM rdb$generators;
""")
    out = r.stdout
    assert " n \n---\n 1\n" in out, out
    assert " FBT |   0 |    0" in out
    assert " ID     |   0 |  1 |  8 |   0 |  0 |  0 |" in out
    assert " NAME   |   1 |  1 | 37 |   0 |  0 |    |  10" in out
    assert " AMOUNT |   2 |    |  8 |   1 | -2 |  9 |" in out
    # Firebird leaves the sub-type of TIME NULL.
    assert " T      |   3 |    | 13 |     |  0 |    |" in out
    assert " FBT_PKEY |  1 | ID" in out
    assert "PRIMARY KEY" in out
    assert " FBGEN |    9 |   1" in out


def test_firebird_system_tables_through_firebirdsql(firebird_cluster):
    """The same tables read by a Firebird driver through the Firebird gateway, with the
    names upper-cased the way Firebird stores unquoted names."""
    import pytest
    firebirdsql = pytest.importorskip("firebirdsql")
    assert firebirdsql
    firebird_cluster.psql("""
CREATE TABLE fb_emp (id int PRIMARY KEY, name varchar(20) NOT NULL, t time);
CREATE SEQUENCE fb_emp_seq;
""")
    conn = firebird_cluster.firebirdsql()
    try:
        cur = conn.cursor()
        cur.execute("SELECT RDB$RELATION_NAME FROM RDB$RELATIONS WHERE RDB$SYSTEM_FLAG = 0")
        assert [r[0].strip() for r in cur.fetchall()] == ["FB_EMP"]
        cur.execute(
            "SELECT RDB$FIELD_NAME, RDB$NULL_FLAG FROM RDB$RELATION_FIELDS "
            "WHERE RDB$RELATION_NAME = 'FB_EMP' ORDER BY RDB$FIELD_POSITION")
        assert [(r[0].strip(), r[1]) for r in cur.fetchall()] == [
            ("ID", 1), ("NAME", 1), ("T", None)]
        cur.execute("SELECT RDB$GENERATOR_NAME FROM RDB$GENERATORS")
        assert [r[0].strip() for r in cur.fetchall()] == ["FB_EMP_SEQ"]
    finally:
        conn.close()


def test_char_comparisons_ignore_trailing_blanks(cluster):
    """CHAR(n) values are blank-padded; comparing them with a string ignores the padding
    (PostgreSQL's bpchar, Firebird's CHAR), also through the primary-key index."""
    r = cluster.psql("""
CREATE TABLE chr (c char(5) PRIMARY KEY, v varchar(5));
INSERT INTO chr VALUES ('ab', 'ab'), ('b', 'b ');
SELECT count(*) AS eq FROM chr WHERE c = 'ab';
SELECT count(*) AS col FROM chr WHERE c = v;
SELECT count(*) AS lt FROM chr WHERE c < 'b';
""")
    out = r.stdout
    assert " eq \n----\n  1\n" in out, out
    assert " col \n-----\n   1\n" in out
    assert " lt \n----\n  1\n" in out
