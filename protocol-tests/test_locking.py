"""Row write locks as each dialect's clients expect them: MySQL writers wait for each other
and update the newest row even at REPEATABLE READ (InnoDB's current reads) while their
plain SELECTs keep the transaction's snapshot; a MySQL statement error undoes only that
statement; NOWAIT-style failures and deadlocks carry MySQL's error numbers."""

import threading
import time

import pymysql
import pytest


def test_mysql_writers_wait_and_apply_on_top(mysql_cluster):
    c = mysql_cluster.pymysql(autocommit=True)
    with c.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS lk")
        cur.execute("CREATE TABLE lk (id INT PRIMARY KEY, v INT)")
        cur.execute("INSERT INTO lk VALUES (1, 0), (2, 0)")
    a = mysql_cluster.pymysql()
    b = mysql_cluster.pymysql()
    try:
        with a.cursor() as ca, b.cursor() as cb:
            ca.execute("START TRANSACTION")
            cb.execute("START TRANSACTION")
            cb.execute("SELECT v FROM lk WHERE id = 1")
            assert cb.fetchone() == (0,)
            ca.execute("UPDATE lk SET v = v + 1 WHERE id = 1")
            done = threading.Event()

            def second():
                cb.execute("UPDATE lk SET v = v + 10 WHERE id = 1")
                done.set()

            t = threading.Thread(target=second)
            t.start()
            assert not done.wait(0.5), "the second writer must wait for the first"
            a.commit()
            t.join(10)
            assert done.is_set()
            # The update applied to the newest row; the row of another key still reads
            # from the transaction's snapshot, the updated row from its own write.
            cb.execute("SELECT v FROM lk WHERE id = 1")
            assert cb.fetchone() == (11,)
            b.commit()
        with c.cursor() as cur:
            cur.execute("SELECT v FROM lk ORDER BY id")
            assert cur.fetchall() == ((11,), (0,))
    finally:
        a.close()
        b.close()
        c.close()


def test_mysql_statement_error_keeps_the_transaction(mysql_cluster):
    c = mysql_cluster.pymysql()
    try:
        with c.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS ke")
            cur.execute("CREATE TABLE ke (id INT PRIMARY KEY)")
            c.commit()
            cur.execute("START TRANSACTION")
            cur.execute("INSERT INTO ke VALUES (1)")
            with pytest.raises(pymysql.err.IntegrityError) as e:
                cur.execute("INSERT INTO ke VALUES (2), (1)")
            assert e.value.args[0] == 1062
            cur.execute("INSERT INTO ke VALUES (3)")
            c.commit()
            cur.execute("SELECT id FROM ke ORDER BY id")
            assert cur.fetchall() == ((1,), (3,))
    finally:
        c.close()


def test_mysql_deadlock_is_1213_and_rolls_back(mysql_cluster):
    c = mysql_cluster.pymysql(autocommit=True)
    with c.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS dk")
        cur.execute("CREATE TABLE dk (id INT PRIMARY KEY, v INT)")
        cur.execute("INSERT INTO dk VALUES (1, 0), (2, 0)")
    a = mysql_cluster.pymysql()
    b = mysql_cluster.pymysql()
    try:
        with a.cursor() as ca, b.cursor() as cb:
            ca.execute("UPDATE dk SET v = 1 WHERE id = 1")
            cb.execute("UPDATE dk SET v = 2 WHERE id = 2")
            outcome = {}

            def first():
                try:
                    ca.execute("UPDATE dk SET v = 1 WHERE id = 2")
                    outcome["a"] = "ok"
                except pymysql.err.OperationalError as e:
                    outcome["a"] = e.args[0]

            t = threading.Thread(target=first)
            t.start()
            time.sleep(0.3)
            try:
                cb.execute("UPDATE dk SET v = 2 WHERE id = 1")
                outcome["b"] = "ok"
            except pymysql.err.OperationalError as e:
                outcome["b"] = e.args[0]
            t.join(10)
            assert sorted(map(str, outcome.values())) == ["1213", "ok"], outcome
            a.commit()
            b.commit()
    finally:
        a.close()
        b.close()
        c.close()
