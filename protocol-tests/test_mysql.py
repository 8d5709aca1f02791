"""The MySQL gateway driven by real MySQL clients: the `mariadb` command-line client,
PyMySQL (text protocol, client-side parameters) and, when installed,
mysql-connector-python (binary protocol: COM_STMT_PREPARE/EXECUTE), plus psycopg on the
same engine for cross-protocol checks."""

import datetime
import decimal

import psycopg
import pymysql
import pytest


def rows(out: str):
    """The data lines of `mariadb --batch` output (tab-separated, header dropped)."""
    lines = out.strip("\n").split("\n")
    return [line.split("\t") for line in lines[1:]] if lines and lines[0] else []


def test_client_chatter_and_version(mysql_cluster):
    r = mysql_cluster.mysql("select @@version_comment limit 1;\nSELECT VERSION();\n")
    assert "Rosetta" in r.stdout
    assert "8.0.36-Rosetta-" in r.stdout


def test_wrong_password_and_unknown_user_are_refused(mysql_cluster):
    import subprocess
    for user, password in (("admin", "wrong"), ("nobody", "test-secret")):
        r = subprocess.run(
            ["mariadb", "-h", "127.0.0.1", "-P", str(mysql_cluster.mysql_port), "-u", user,
             f"-p{password}", "-e", "select 1"], capture_output=True, text=True, timeout=30)
        assert r.returncode != 0
        assert "ERROR 1045 (28000)" in r.stderr


def test_mariadb_session(mysql_cluster):
    sql = """
CREATE TABLE `Orders` (id INT PRIMARY KEY, item VARCHAR(20) NOT NULL, price DECIMAL(10,2),
  qty TINYINT, flag BOOLEAN, small SMALLINT, big BIGINT, f FLOAT, d DOUBLE, c CHAR(2),
  t TEXT, b BLOB, day DATE, at DATETIME, ts TIMESTAMP);
INSERT INTO `Orders` (id, item, price, qty, flag, day, at) VALUES
  (1, 'apple', 1.50, 3, TRUE, '2024-01-02', '2024-01-02 03:04:05'),
  (2, 'pear', 2.25, 4, FALSE, NULL, NULL),
  (3, 'fig', 9.99, 1, 1, NULL, NULL),
  (4, 'kiwi', 0.10, 7, 0, NULL, NULL);
SELECT id, item FROM Orders ORDER BY id LIMIT 1, 2;
UPDATE Orders SET qty = qty + 1 WHERE id >= 3;
DELETE FROM Orders WHERE id = 4;
SELECT id, price, flag, day, at FROM Orders WHERE id = 1;
SHOW TABLES;
DESCRIBE Orders;
"""
    r = mysql_cluster.mysql(sql, args=("--batch", "-v", "-v"))
    out = r.stdout
    assert "Query OK, 4 rows affected" in out, out
    assert "Query OK, 2 rows affected" in out, out
    assert "Query OK, 1 row affected" in out, out
    assert "2\tpear\n3\tfig\n" in out
    assert "1\t1.50\t1\t2024-01-02\t2024-01-02 03:04:05\n" in out
    assert "\nOrders\n" in out
    assert "id\tint\tNO\tPRI\tNULL\t\n" in out
    assert "item\tvarchar(20)\tNO\t\tNULL\t\n" in out
    assert "price\tdecimal(10,2)\tYES" in out


def test_errors_have_mysql_codes_and_session_goes_on(mysql_cluster):
    mysql_cluster.mysql("CREATE TABLE errs (id INT PRIMARY KEY, v VARCHAR(5) NOT NULL);"
                        "INSERT INTO errs VALUES (1, 'a');")
    sql = """SELECT * FROM nosuch;
INSERT INTO errs VALUES (1, 'dup');
SELEC 1;
SELECT nocol FROM errs;
INSERT INTO errs VALUES (2, NULL);
SELECT COUNT(*) FROM errs;
"""
    r = mysql_cluster.mysql(sql, check=False, args=("--batch",))
    err = r.stderr
    assert "ERROR 1146 (42S02)" in err
    assert "ERROR 1062 (23000)" in err
    assert "ERROR 1064 (42000)" in err
    assert "ERROR 1054 (42S22)" in err
    assert "ERROR 1048 (23000)" in err
    assert r.stdout.strip().endswith("1")


def test_use_switches_database(mysql_cluster):
    r = mysql_cluster.mysql("USE nosuchdb;\n", check=False)
    assert "ERROR 1049" in r.stderr
    mysql_cluster.mysql("CREATE DATABASE other;")
    r = mysql_cluster.mysql(
        "USE other;\nCREATE TABLE only_here (x INT);\nSHOW TABLES;\nUSE rosetta;\nSHOW TABLES;\n",
        args=("--batch",))
    assert r.stdout.count("only_here") == 1
    r = mysql_cluster.mysql("SHOW TABLES;", db="other", args=("--batch",))
    assert "only_here" in r.stdout


def test_show_databases_and_variables(mysql_cluster):
    r = mysql_cluster.mysql("SHOW DATABASES;\nSHOW VARIABLES LIKE 'version_comment';\n"
                            "SELECT @@autocommit, @@session.sql_mode;\n", args=("--batch",))
    assert "\nrosetta\n" in r.stdout
    assert "version_comment\tRosetta" in r.stdout


def test_transactions(mysql_cluster):
    conn = mysql_cluster.pymysql(autocommit=True)
    cur = conn.cursor()
    cur.execute("CREATE TABLE txn (id INT PRIMARY KEY)")
    cur.execute("START TRANSACTION")
    cur.execute("INSERT INTO txn VALUES (1)")
    cur.execute("ROLLBACK")
    cur.execute("BEGIN")
    cur.execute("INSERT INTO txn VALUES (2)")
    cur.execute("COMMIT")
    cur.execute("SELECT id FROM txn")
    assert cur.fetchall() == ((2,),)
    conn.close()


def test_pymysql_with_parameters(mysql_cluster):
    conn = mysql_cluster.pymysql()
    cur = conn.cursor()
    cur.execute("CREATE TABLE py (id INT PRIMARY KEY, amount DECIMAL(12,4), at DATETIME, "
                "note VARCHAR(50), ok BOOLEAN)")
    n = cur.executemany("INSERT INTO py VALUES (%s, %s, %s, %s, %s)", [
        (1, decimal.Decimal("12.3456"), datetime.datetime(2024, 5, 6, 7, 8, 9, 123456), "it's", True),
        (2, None, None, None, None),
    ])
    assert n == 2
    conn.commit()
    cur.execute("SELECT id, amount, at, note, ok FROM py WHERE id = %s", (1,))
    assert cur.fetchall() == ((1, decimal.Decimal("12.3456"),
                               datetime.datetime(2024, 5, 6, 7, 8, 9, 123456), "it's", 1),)
    assert cur.execute("UPDATE py SET note = %s WHERE id > %s", ("x", 0)) == 2
    assert cur.execute("DELETE FROM py WHERE id = %s", (2,)) == 1
    with pytest.raises(pymysql.err.ProgrammingError) as e:
        cur.execute("SELECT * FROM nope")
    assert e.value.args[0] == 1146
    cur.execute("SELECT COUNT(*) FROM py")
    assert cur.fetchall() == ((1,),)
    conn.commit()
    conn.close()


def test_binary_protocol_prepared_statements(mysql_cluster):
    connector = pytest.importorskip("mysql.connector")
    conn = connector.connect(host="127.0.0.1", port=mysql_cluster.mysql_port, user="admin",
                             password="test-secret", database="rosetta",
                             auth_plugin="mysql_native_password")
    cur = conn.cursor(prepared=True)
    cur.execute("CREATE TABLE bin (id INT PRIMARY KEY, amount DECIMAL(10,2), at DATETIME, "
                "day DATE, name VARCHAR(10), big BIGINT, d DOUBLE)")
    cur.execute("INSERT INTO bin VALUES (?, ?, ?, ?, ?, ?, ?)",
                (1, decimal.Decimal("1.50"), datetime.datetime(2020, 1, 2, 3, 4, 5),
                 datetime.date(2020, 1, 2), "a", 2**40, 0.5))
    cur.execute("INSERT INTO bin VALUES (?, ?, ?, ?, ?, ?, ?)",
                (2, None, None, None, None, None, None))
    conn.commit()
    cur.execute("SELECT id, amount, at, day, name, big, d FROM bin WHERE id = ? OR id = ? ORDER BY id",
                (1, 2))
    got = [tuple(r) for r in cur.fetchall()]
    assert got == [
        (1, decimal.Decimal("1.50"), datetime.datetime(2020, 1, 2, 3, 4, 5),
         datetime.date(2020, 1, 2), "a", 2**40, 0.5),
        (2, None, None, None, None, None, None),
    ]
    conn.close()


def test_cross_protocol_values_round_trip(mysql_cluster):
    with psycopg.connect(mysql_cluster.dsn(), autocommit=True) as pg:
        pg.execute("CREATE TABLE shared (id INT PRIMARY KEY, amount NUMERIC(14,4), at TIMESTAMP, "
                   "label TEXT)")
        pg.execute("INSERT INTO shared VALUES (1, 12345.6789, '2023-12-31 23:59:59.5', 'from pg')")
    my = mysql_cluster.pymysql(autocommit=True)
    cur = my.cursor()
    cur.execute("SELECT id, amount, at, label FROM shared")
    assert cur.fetchall() == ((1, decimal.Decimal("12345.6789"),
                               datetime.datetime(2023, 12, 31, 23, 59, 59, 500000), "from pg"),)
    cur.execute("INSERT INTO shared VALUES (%s, %s, %s, %s)",
                (2, decimal.Decimal("-0.0001"), datetime.datetime(2001, 2, 3, 4, 5, 6), "from mysql"))
    cur.execute("CREATE TABLE made_in_mysql (id INT PRIMARY KEY, price DECIMAL(8,3), at DATETIME)")
    cur.execute("INSERT INTO made_in_mysql VALUES (1, 99.125, '2022-02-02 02:02:02')")
    my.close()
    with psycopg.connect(mysql_cluster.dsn(), autocommit=True) as pg:
        assert pg.execute("SELECT amount, at FROM shared WHERE id = 2").fetchall() == [
            (decimal.Decimal("-0.0001"), datetime.datetime(2001, 2, 3, 4, 5, 6))]
        assert pg.execute("SELECT price, at FROM made_in_mysql").fetchall() == [
            (decimal.Decimal("99.125"), datetime.datetime(2022, 2, 2, 2, 2, 2))]
        pg.execute("UPDATE made_in_mysql SET price = 1.5")
    my = mysql_cluster.pymysql()
    cur = my.cursor()
    cur.execute("SELECT price FROM made_in_mysql")
    assert cur.fetchall() == ((decimal.Decimal("1.500"),),)
    my.close()
