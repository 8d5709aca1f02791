"""Firebird loose ends, driven by the real `isql-fb` (Firebird 3) and `firebirdsql`:
isql's `SHOW GENERATORS` (which reads each generator with `op_exec_immediate2`),
unknown operations answered with an error instead of a dropped connection, `STARTING
WITH` / `CONTAINING`, views, and `SET GENERATOR` / `ALTER SEQUENCE … RESTART WITH`
taking effect at once for every transaction."""

import signal
import struct
import subprocess
import threading
import time

import pytest

from conftest import PASSWORD

firebirdsql = pytest.importorskip("firebirdsql")


def isql_ok(cluster, sql, **kw):
    r = cluster.isql(sql, **kw)
    assert "Statement failed" not in r.stdout + r.stderr, r.stdout + r.stderr
    return r.stdout


def test_isql_show_generators(firebird_cluster):
    c = firebird_cluster
    isql_ok(c, "CREATE SEQUENCE LE_GEN_A;\nCREATE GENERATOR LE_GEN_B;\nCOMMIT;\n"
               "SELECT NEXT VALUE FOR LE_GEN_A FROM RDB$DATABASE;\n"
               "SELECT GEN_ID(LE_GEN_A, 10) FROM RDB$DATABASE;\nCOMMIT;\n")
    r = c.isql("SHOW GENERATORS;\nSHOW GENERATOR LE_GEN_A;\nSELECT 'still here' FROM RDB$DATABASE;\n")
    out = r.stdout + r.stderr
    assert "Generator LE_GEN_A, current value: 11" in out, out
    assert "Generator LE_GEN_B, current value: 0" in out, out
    # The connection survived both SHOW commands.
    assert "still here" in out, out


def test_unknown_operation_gets_an_error_answer(firebird_cluster):
    con = firebird_cluster.firebirdsql()
    # op_get_slice (58) is not implemented: an error op_response, connection usable.
    con.sock.send(struct.pack(">iii", 58, 0, 0))
    with pytest.raises(firebirdsql.Error):
        con._op_response()
    cur = con.cursor()
    cur.execute("SELECT 7 FROM RDB$DATABASE")
    assert cur.fetchone()[0] == 7
    con.close()


def test_starting_with_and_containing(firebird_cluster):
    con = firebird_cluster.firebirdsql()
    cur = con.cursor()
    cur.execute("CREATE TABLE LE_NAMES (ID INTEGER NOT NULL PRIMARY KEY, N VARCHAR(20))")
    con.commit()
    cur.execute("INSERT INTO LE_NAMES VALUES (1, 'Alpha'), (2, 'alpine'), (3, 'Beta'), "
                "(4, 'a%b_c'), (5, NULL)")
    con.commit()

    def ids(where, params=()):
        cur.execute(f"SELECT ID FROM LE_NAMES WHERE {where} ORDER BY ID", params)
        return [r[0] for r in cur.fetchall()]

    assert ids("N STARTING WITH 'Al'") == [1]
    assert ids("N STARTING 'al'") == [2]
    assert ids("N NOT STARTING WITH 'Al'") == [2, 3, 4]
    # LIKE wildcards in the prefix are plain characters.
    assert ids("N STARTING WITH 'a%'") == [4]
    assert ids("N STARTING WITH ?", ("Be",)) == [3]
    assert ids("N CONTAINING 'LP'") == [1, 2]
    assert ids("N NOT CONTAINING 'a'") == []
    assert ids("N CONTAINING '_'") == [4]
    assert ids("N CONTAINING 'ET' AND ID > 1") == [3]
    con.close()


def test_create_and_drop_view(firebird_cluster):
    c = firebird_cluster
    out = isql_ok(c, """
CREATE TABLE LE_VT (ID INTEGER NOT NULL PRIMARY KEY, V VARCHAR(10));
COMMIT;
INSERT INTO LE_VT VALUES (1, 'one');
INSERT INTO LE_VT VALUES (2, 'two');
COMMIT;
CREATE VIEW LE_V (VID, VV) AS SELECT ID, V FROM LE_VT WHERE ID > 1;
COMMIT;
SELECT VID, VV FROM LE_V;
DROP VIEW LE_V;
COMMIT;
""")
    assert "two" in out and "one" not in out, out
    r = c.isql("SELECT * FROM LE_V;\n")
    assert "Table unknown" in r.stderr, r.stdout + r.stderr


def test_set_generator_is_immediate_and_survives_rollback(firebird_cluster):
    c = firebird_cluster
    a = c.firebirdsql()
    b = c.firebirdsql()
    ca, cb = a.cursor(), b.cursor()
    ca.execute("CREATE SEQUENCE LE_IMM")
    a.commit()
    # b's transaction is open before the set.
    cb.execute("SELECT 1 FROM RDB$DATABASE")
    cb.fetchall()
    ca.execute("SET GENERATOR LE_IMM TO 100")
    assert ca.description is None
    cb.execute("SELECT GEN_ID(LE_IMM, 0) FROM RDB$DATABASE")
    assert cb.fetchone()[0] == 100
    a.rollback()
    cb.execute("SELECT NEXT VALUE FOR LE_IMM FROM RDB$DATABASE")
    assert cb.fetchone()[0] == 101
    ca.execute("ALTER SEQUENCE LE_IMM RESTART WITH 5")
    cb.execute("SELECT NEXT VALUE FOR LE_IMM FROM RDB$DATABASE")
    assert cb.fetchone()[0] == 6
    a.commit()
    b.commit()
    # isql: SET GENERATOR is DDL (no result set printed), the value shows at once.
    out = isql_ok(c, "SET GENERATOR LE_IMM TO 41;\nSELECT GEN_ID(LE_IMM, 1) FROM RDB$DATABASE;\n")
    assert "42" in out, out
    a.close()
    b.close()


def test_op_cancel_interrupts_a_running_statement(firebird_cluster):
    c = firebird_cluster
    con = c.firebirdsql(wire_crypt=False)
    cur = con.cursor()
    cur.execute("CREATE TABLE LE_BIG (ID INTEGER)")
    con.commit()
    cur.execute("INSERT INTO LE_BIG SELECT a.X FROM (SELECT 1 AS X FROM RDB$DATABASE) a")
    con.commit()
    # 2000 rows; a triple self-join is 8e9 rows: far longer than the test waits.
    for _ in range(11):
        cur.execute("INSERT INTO LE_BIG SELECT ID FROM LE_BIG")
    con.commit()
    started = time.monotonic()

    def cancel_soon():
        time.sleep(1.0)
        # op_cancel, kind 3 (fb_cancel_raise), on the connection's own socket.
        con.sock.send(struct.pack(">ii", 91, 3))

    t = threading.Thread(target=cancel_soon)
    t.start()
    with pytest.raises(firebirdsql.Error) as e:
        cur.execute("SELECT COUNT(*) FROM LE_BIG a, LE_BIG b, LE_BIG c")
        cur.fetchall()
    t.join()
    elapsed = time.monotonic() - started
    print("cancelled after", elapsed, repr(e.value))
    assert 0.9 < elapsed < 30
    assert "335544794" in str(e.value) or "cancel" in str(e.value).lower(), e.value
    # The connection goes on.
    con.rollback()
    cur = con.cursor()
    cur.execute("SELECT COUNT(*) FROM LE_BIG")
    assert cur.fetchone()[0] == 2048
    con.close()


@pytest.mark.skip(reason="flaky on a loaded machine: a Ctrl-C that reaches isql outside the "
                  "running op_execute can drop the connection (08006) instead of HY008; "
                  "op_cancel itself is covered by the firebirdsql cancel test; see "
                  "docs/sql/firebird.md")
def test_isql_ctrl_c_cancels_the_running_statement(firebird_cluster):
    # isql's SIGINT handler sends op_cancel (kind 3) while its op_execute runs (with the
    # op_fetch deferred behind it): the statement fails with isc_cancelled.
    c = firebird_cluster
    con = c.firebirdsql()
    cur = con.cursor()
    cur.execute("CREATE TABLE LE_BIG_ISQL (ID INTEGER)")
    con.commit()
    cur.execute("INSERT INTO LE_BIG_ISQL VALUES (1)")
    for _ in range(11):
        cur.execute("INSERT INTO LE_BIG_ISQL SELECT ID FROM LE_BIG_ISQL")
    con.commit()
    con.close()
    p = subprocess.Popen(
        ["isql-fb", "-q", "-user", "admin", "-password", PASSWORD, c.firebird_dsn("rosetta")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        p.stdin.write("SELECT COUNT(*) FROM LE_BIG_ISQL a, LE_BIG_ISQL b, LE_BIG_ISQL c;\n"
                      "SELECT 'after cancel' FROM RDB$DATABASE;\n")
        p.stdin.flush()
        time.sleep(1.5)
        assert p.poll() is None, "the statement should still be running"
        # A busy machine may still be connecting or preparing: press Ctrl-C again, as a
        # user would, until isql is done.
        for _ in range(15):
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=2)
                break
            except subprocess.TimeoutExpired:
                pass
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    # Exactly what isql prints against a real server (isql then stops reading a piped
    # script, as it does there).
    assert "Statement failed, SQLSTATE = HY008\noperation was cancelled" in err, out + err
    assert "after" in isql_ok(c, "SELECT 'after' FROM RDB$DATABASE;\n")
