"""The Firebird gateway driven by real Firebird clients: `isql-fb` (Firebird 3.0) and the
pure-Python `firebirdsql` driver, against a live cluster (engine + gateways).

Covers: Srp/Srp256 logins (the same users as the other protocols), Arc4 wire encryption
on and off (checked on the wire through a relaying proxy), attach errors, every type
with NULLs and blobs, parameters, row counts, commit/rollback (and RETAINING),
Firebird transaction options, error status vectors as isql prints them, tables shared
with the PostgreSQL gateway, and hostile input that must leave the gateway serving."""

import datetime
import decimal
import os
import socket
import struct
import threading
import time

import pytest

from conftest import PASSWORD

firebirdsql = pytest.importorskip("firebirdsql")


@pytest.fixture(scope="module")
def fb(firebird_cluster):
    """The Firebird cluster with a one-row table FONE (a stand-in for FONE that
    does not depend on the virtual catalog)."""
    con = firebird_cluster.firebirdsql()
    cur = con.cursor()
    cur.execute("CREATE TABLE FONE (X INTEGER)")
    con.commit()
    cur.execute("INSERT INTO FONE VALUES (1)")
    con.commit()
    con.close()
    return firebird_cluster


def isql_ok(cluster, sql, **kw):
    r = cluster.isql(sql, **kw)
    assert "Statement failed" not in r.stdout + r.stderr, r.stdout + r.stderr
    return r.stdout


class Relay:
    """A TCP relay between a client and the gateway that records what the client sends,
    so a test can see whether the stream is encrypted."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.from_client = bytearray()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _pipe(self, src, dst, record):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record:
                    self.from_client.extend(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _run(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def close(self):
        self.listener.close()


# ---------------------------------------------------------------------------- isql

def test_isql_types_nulls_blobs_and_commit(fb):
    c = fb
    out = isql_ok(c, """
CREATE TABLE FT1 (ID INTEGER NOT NULL PRIMARY KEY, NAME VARCHAR(20), CODE CHAR(4),
  SMALLV SMALLINT, BIGV BIGINT, AMOUNT NUMERIC(9,2), BIGAMT DECIMAL(18,4),
  DBL DOUBLE PRECISION, FLT FLOAT, FLAG BOOLEAN, D DATE, TM TIME, TS TIMESTAMP,
  NOTE BLOB SUB_TYPE TEXT);
COMMIT;
INSERT INTO FT1 VALUES (1, 'alpha', 'AB', 7, 9000000000, 12.34, 123456.7891, 3.5, 1.25,
  TRUE, '2024-02-29', '13:45:30.1234', '2024-02-29 13:45:30', 'hello blob');
INSERT INTO FT1 (ID) VALUES (2);
COMMIT;
SET BLOBDISPLAY ALL;
SELECT ID, NAME, CODE, SMALLV, BIGV, AMOUNT, BIGAMT FROM FT1 ORDER BY ID;
SELECT ID, DBL, FLT, FLAG, D, TM, TS FROM FT1 ORDER BY ID;
SELECT NOTE FROM FT1 WHERE ID = 1;
""")
    assert "alpha" in out and "9000000000" in out and "12.34" in out
    assert "123456.7891" in out
    assert "2024-02-29" in out and "13:45:30.1234" in out and "2024-02-29 13:45:30.0000" in out
    assert "<true>" in out and "3.500000000000000" in out
    assert "hello blob" in out
    # The second row is all NULL but its key.
    assert out.count("<null>") >= 6, out


def test_isql_error_vectors_match_firebird(fb):
    c = fb
    isql_ok(c, "CREATE TABLE FT_ERR (ID INTEGER NOT NULL PRIMARY KEY, V INTEGER); COMMIT;")
    r = c.isql("SELECT COUNT(*) FROM NO_SUCH_TABLE;")
    # Exactly what isql prints against a real Firebird 3 server.
    assert ("Statement failed, SQLSTATE = 42S02\nDynamic SQL Error\n-SQL error code = -204\n"
            "-Table unknown\n-NO_SUCH_TABLE\n-At line 1, column 22") in r.stderr, r.stderr
    r = c.isql("INSERT INTO FT_ERR VALUES (1, 1);\nINSERT INTO FT_ERR VALUES (1, 2);\n"
               "INSERT INTO FT_ERR (V) VALUES (3);\nSELEC 1 FROM FT_ERR;\n")
    assert "SQLSTATE = 23000\nviolation of PRIMARY or UNIQUE KEY constraint" in r.stderr, r.stderr
    assert 'on table "FT_ERR"\n-Problematic key value is ("ID" = 1)' in r.stderr, r.stderr
    assert 'validation error for column "FT_ERR"."ID", value "*** null ***"' in r.stderr, r.stderr
    assert ("SQLSTATE = 42000\nDynamic SQL Error\n-SQL error code = -104\n"
            "-Token unknown - line 1, column 1\n-SELEC") in r.stderr, r.stderr


def test_isql_autoddl_table_usable_at_once(fb):
    # isql commits DDL in its metadata transaction; its DML transaction, open since
    # connect, must see the new table (Firebird's metadata is not snapshot-bound).
    out = isql_ok(fb, "CREATE TABLE FT_AUTO (ID INTEGER);\nINSERT INTO FT_AUTO VALUES (42);\n"
                      "SELECT ID FROM FT_AUTO;\n")
    assert "42" in out


def test_isql_rollback_and_set_transaction(fb):
    c = fb
    out = isql_ok(c, """
CREATE TABLE FT_TX (ID INTEGER NOT NULL PRIMARY KEY);
COMMIT;
INSERT INTO FT_TX VALUES (1);
ROLLBACK;
INSERT INTO FT_TX VALUES (2);
COMMIT;
SET TRANSACTION READ COMMITTED NO WAIT;
SELECT 'ROWS=' || COUNT(*) FROM FT_TX;
COMMIT;
""")
    assert "ROWS=1" in out, out


def test_isql_returning_and_counts(fb):
    c = fb
    out = isql_ok(c, """
SET COUNT ON;
CREATE TABLE FT_RET (ID INTEGER NOT NULL PRIMARY KEY, V VARCHAR(10));
COMMIT;
INSERT INTO FT_RET VALUES (1, 'a');
INSERT INTO FT_RET VALUES (2, 'b');
UPDATE FT_RET SET V = 'z';
DELETE FROM FT_RET WHERE ID = 1;
INSERT INTO FT_RET (ID, V) VALUES (3, 'q') RETURNING ID, V;
COMMIT;
""")
    assert "Records affected: 2" in out, out
    assert "Records affected: 1" in out, out
    assert "q" in out


def test_isql_show_tables_runs_blr_requests(fb):
    # isql's SHOW commands send BLR requests (op_compile, op_start_send_and_receive,
    # op_receive, unpacked messages), compiled by the plugin and run by the gateway.
    isql_ok(fb, "CREATE TABLE FT_SHOW_ME (ID INTEGER NOT NULL PRIMARY KEY, V VARCHAR(7));\n"
                "COMMIT;\n")
    r = fb.isql("SHOW TABLES;\nSHOW TABLE FT_SHOW_ME;\n")
    assert "FT_SHOW_ME" in r.stdout, r.stdout + r.stderr
    assert "INTEGER Not Null" in r.stdout and "VARCHAR(7)" in r.stdout, r.stdout + r.stderr


def test_unknown_database_is_an_io_error(fb):
    r = fb.isql("SELECT 1 FROM FONE;", db="no_such_db")
    assert "I/O error" in r.stderr and "no_such_db" in r.stderr, r.stderr


def test_wrong_password_and_unknown_user_look_the_same(fb):
    c = fb
    bad_pw = c.isql("SELECT 1 FROM FONE;", password="wrong")
    unknown = c.isql("SELECT 1 FROM FONE;", user="nobody", password="wrong")
    for r in (bad_pw, unknown):
        assert "Your user name and password are not defined" in r.stderr, r.stderr
        assert "SQLSTATE = 28000" in r.stderr
    # Firebird upper-cases unquoted user names: ADMIN is the engine's user `admin`.
    isql_ok(c, "SELECT 1 FROM FONE;", user="ADMIN")


def test_isql_wire_encryption_on_and_off(fb, tmp_path):
    c = fb
    relay = Relay(c.firebird_port)
    try:
        marker = "ENCRYPTION_PROBE_42"
        sql = f"SELECT '{marker}' FROM FONE;"
        dsn_env = {}

        def run(env):
            relay.from_client.clear()
            r = subprocess_isql(c, relay.port, sql, env)
            assert marker in r.stdout, r.stdout + r.stderr
            time.sleep(0.2)
            return bytes(relay.from_client)

        sent = run(dsn_env)
        assert marker.encode() not in sent, "default isql traffic should be Arc4-encrypted"
        conf = tmp_path / "fbconf"
        conf.mkdir()
        (conf / "firebird.conf").write_text("WireCrypt = Disabled\n")
        msg_dir = "/usr/lib/x86_64-linux-gnu/firebird/3.0"
        sent = run({"FIREBIRD": str(conf), "FIREBIRD_MSG": msg_dir})
        assert marker.encode() in sent, "WireCrypt = Disabled must connect in plaintext"
    finally:
        relay.close()


def subprocess_isql(cluster, port, sql, env):
    import subprocess
    return subprocess.run(
        ["isql-fb", "-q", "-user", "admin", "-password", PASSWORD, f"127.0.0.1/{port}:rosetta"],
        input=sql, capture_output=True, text=True, timeout=60, env=dict(os.environ, **env))


# ---------------------------------------------------------------------------- firebirdsql

ROW = (1, "alpha", decimal.Decimal("12.34"), datetime.date(2024, 2, 29),
       datetime.datetime(2024, 2, 29, 13, 45, 30), True, 3.5, "a text blob value",
       datetime.time(13, 45, 30, 123400), b"\x00\x01\xfe\xff", 7, 9000000000, 1.25,
       decimal.Decimal("123456.7891"))


@pytest.mark.parametrize("wire_crypt", [True, False])
def test_firebirdsql_every_type_with_parameters(fb, wire_crypt):
    c = fb
    table = f"FP_{int(wire_crypt)}"
    con = c.firebirdsql(wire_crypt=wire_crypt)
    cur = con.cursor()
    cur.execute(f"CREATE TABLE {table} (ID INTEGER NOT NULL PRIMARY KEY, NAME VARCHAR(20), "
                "AMOUNT NUMERIC(9,2), D DATE, TS TIMESTAMP, FLAG BOOLEAN, DBL DOUBLE PRECISION, "
                "NOTE BLOB SUB_TYPE TEXT, TM TIME, BIN BLOB SUB_TYPE BINARY, SI SMALLINT, "
                "BI BIGINT, F FLOAT, DEC DECIMAL(18,4))")
    con.commit()
    marks = ", ".join("?" * len(ROW))
    cur.execute(f"INSERT INTO {table} VALUES ({marks})", ROW)
    assert cur.rowcount == 1
    cur.execute(f"INSERT INTO {table} (ID) VALUES (?)", (2,))
    big = "x" * 70000  # longer than one segment: written with op_create_blob2/put_segment
    cur.execute(f"INSERT INTO {table} (ID, NOTE) VALUES (?, ?)", (3, big))
    con.commit()
    cur.execute(f"SELECT * FROM {table} WHERE ID >= ? ORDER BY ID", (0,))
    rows = cur.fetchall()
    assert tuple(rows[0]) == ROW
    assert tuple(rows[1]) == (2,) + (None,) * (len(ROW) - 1)
    assert rows[2][7] == big
    cur.execute(f"UPDATE {table} SET NAME = 'x' WHERE ID > 0")
    assert cur.rowcount == 3
    con.rollback()
    cur.execute(f"SELECT NAME FROM {table} WHERE ID = 1")
    assert cur.fetchone()[0] == "alpha"
    cur.execute(f"DELETE FROM {table} WHERE ID = 3")
    assert cur.rowcount == 1
    con.commit(retaining=True)
    cur.execute(f"SELECT COUNT(*) FROM {table}")
    assert cur.fetchone()[0] == 2
    con.commit()
    con.close()


def test_firebirdsql_errors_keep_the_connection(fb):
    con = fb.firebirdsql()
    cur = con.cursor()
    with pytest.raises(firebirdsql.OperationalError) as e:
        cur.execute("SELECT COUNT(*) FROM NO_SUCH_TABLE")
    assert "Table unknown" in str(e.value)
    cur.execute("CREATE TABLE FE1 (ID INTEGER NOT NULL PRIMARY KEY)")
    con.commit()
    cur.execute("INSERT INTO FE1 VALUES (1)")
    with pytest.raises(firebirdsql.IntegrityError):
        cur.execute("INSERT INTO FE1 VALUES (1)")
    # The failed statement alone was undone; the transaction goes on.
    cur.execute("SELECT COUNT(*) FROM FE1")
    assert cur.fetchone()[0] == 1
    con.commit()
    assert con.ping() is None or True
    con.close()


def with_tpb(cluster, tpb):
    """A firebirdsql connection whose transactions start with `tpb` (the driver's own
    TPB table extended by one entry)."""
    from firebirdsql.fbcore import Transaction
    table = tuple(Transaction.transaction_parameter_block)
    if tpb not in table:
        table += (tpb,)
        Transaction.transaction_parameter_block = table
    return cluster.firebirdsql(isolation_level=table.index(tpb))


def test_firebird_transaction_options(fb):
    from firebirdsql import consts as k
    c = fb
    setup = c.firebirdsql()
    cur = setup.cursor()
    cur.execute("CREATE TABLE FISO (ID INTEGER NOT NULL PRIMARY KEY, V INTEGER)")
    setup.commit()
    cur.execute("INSERT INTO FISO VALUES (1, 0)")
    setup.commit()
    snap = with_tpb(c, bytes([k.isc_tpb_version3, k.isc_tpb_write, k.isc_tpb_concurrency,
                              k.isc_tpb_nowait]))
    rc = with_tpb(c, bytes([k.isc_tpb_version3, k.isc_tpb_write, k.isc_tpb_read_committed,
                            k.isc_tpb_rec_version, k.isc_tpb_nowait]))
    timeout = with_tpb(c, bytes([k.isc_tpb_version3, k.isc_tpb_write, k.isc_tpb_read_committed,
                                 k.isc_tpb_rec_version, k.isc_tpb_wait, k.isc_tpb_lock_timeout,
                                 4, 1, 0, 0, 0]))
    s_cur, r_cur, t_cur = snap.cursor(), rc.cursor(), timeout.cursor()
    s_cur.execute("SELECT V FROM FISO WHERE ID = 1")
    assert s_cur.fetchone()[0] == 0
    r_cur.execute("SELECT V FROM FISO WHERE ID = 1")
    assert r_cur.fetchone()[0] == 0
    cur.execute("UPDATE FISO SET V = 5 WHERE ID = 1")
    setup.commit()
    # Snapshot (concurrency) keeps its view; read committed sees the new value.
    s_cur.execute("SELECT V FROM FISO WHERE ID = 1")
    assert s_cur.fetchone()[0] == 0
    r_cur.execute("SELECT V FROM FISO WHERE ID = 1")
    assert r_cur.fetchone()[0] == 5
    # NO WAIT: a row locked by another open transaction fails at once; LOCK TIMEOUT 1
    # waits about a second first.
    cur.execute("UPDATE FISO SET V = 6 WHERE ID = 1")
    start = time.time()
    with pytest.raises(firebirdsql.Error):
        r_cur.execute("UPDATE FISO SET V = 7 WHERE ID = 1")
    assert time.time() - start < 0.9
    start = time.time()
    with pytest.raises(firebirdsql.Error):
        t_cur.execute("UPDATE FISO SET V = 8 WHERE ID = 1")
    assert 0.8 < time.time() - start < 5
    setup.rollback()
    for con in (snap, rc, timeout, setup):
        con.rollback()
        con.close()


def test_tables_are_shared_with_postgres(fb):
    c = fb
    c.psql("CREATE TABLE shared_pg (id int PRIMARY KEY, name varchar(10));"
           "INSERT INTO shared_pg VALUES (1, 'from pg');")
    con = c.firebirdsql()
    cur = con.cursor()
    cur.execute("SELECT ID, NAME FROM SHARED_PG")
    assert cur.fetchall() == [(1, "from pg")]
    cur.execute("CREATE TABLE SHARED_FB (ID INTEGER NOT NULL PRIMARY KEY, V NUMERIC(9,2))")
    con.commit()
    cur.execute("INSERT INTO SHARED_FB VALUES (?, ?)", (1, decimal.Decimal("-12.50")))
    con.commit()
    con.close()
    r = c.psql("SELECT id, v FROM shared_fb;", args=("-At",))
    assert r.stdout.strip() == "1|-12.50"


# ---------------------------------------------------------------------------- hostile input

def raw(port, payload, read=True):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        out = b""
        try:
            # The gateway may close the connection before it has read everything.
            s.sendall(payload)
            if not read:
                return b""
            s.shutdown(socket.SHUT_WR)
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                out += chunk
        except OSError:
            pass
        return out


def connect_packet(plugin=b"Srp256", login=b"ADMIN", a_hex=b"41", versions=(13, 15)):
    cnct = bytes([9, len(login)]) + login + bytes([8, len(plugin)]) + plugin
    cnct += bytes([7, len(a_hex) + 1, 0]) + a_hex
    body = struct.pack(">iiii", 1, 19, 3, 1)
    name = b"rosetta"
    body += struct.pack(">i", len(name)) + name + b"\0" * (-len(name) % 4)
    body += struct.pack(">i", len(versions))
    body += struct.pack(">i", len(cnct)) + cnct + b"\0" * (-len(cnct) % 4)
    for i, v in enumerate(versions):
        word = (0x8000 | v) - 0x10000 if v >= 13 else v
        body += struct.pack(">iiiii", word, 1, 0, 5, i)
    return body


def test_hostile_input_leaves_the_gateway_serving(fb):
    c = fb
    port = c.firebird_port
    # Garbage, an unknown op code, a truncated op_connect, a huge length, a sign-extended
    # huge length, and an endless stream of zeros (op code 0 is unknown).
    for payload in (os.urandom(4096), struct.pack(">i", 12345), connect_packet()[:37],
                    struct.pack(">iiiii", 1, 19, 3, 1, 0x7FFFFFF0) + b"x" * 64,
                    struct.pack(">iiiii", 1, 19, 3, 1, -2),
                    b"\0" * 100000):
        raw(port, payload)
    # A protocol we do not speak (10 only): op_reject.
    assert raw(port, connect_packet(versions=(10,))) == struct.pack(">i", 4)
    # A bogus SRP public key gets the ordinary login failure, not a crash.
    reply = raw(port, connect_packet(a_hex=b"0") + struct.pack(">i", 92)
                + struct.pack(">i", 2) + b"00\0\0" + struct.pack(">i", 6) + b"Srp256\0\0"
                + struct.pack(">ii", 0, 0))
    assert struct.pack(">i", 335544472) in reply
    # Many half-open connections at once do not block others.
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
    for s in held:
        s.sendall(connect_packet()[:10])
    try:
        # Bad handles and unparseable BLR on an authenticated connection: error answers,
        # and the connection stays usable.
        con = c.firebirdsql()
        for call in (lambda: con._op_free_statement(0x1234, 2),
                     lambda: con._op_commit(0x4321),
                     lambda: con._op_get_segment(0x777),
                     lambda: con._op_info_sql(0x999, bytes([21]))):
            call()
            with pytest.raises(firebirdsql.Error):
                con._op_response()
        cur = con.cursor()
        cur.execute("SELECT 1 FROM FONE")
        assert cur.fetchone()[0] == 1
        # Raw garbage inside an authenticated (possibly encrypted) stream: that
        # connection is closed, nothing else happens.
        con.sock.send(b"\xff\xff\xff\x7f" + b"\x00" * 16)
        con2 = c.firebirdsql()
        cur2 = con2.cursor()
        cur2.execute("SELECT 2 FROM FONE")
        assert cur2.fetchone()[0] == 2
        con2.close()
    finally:
        for s in held:
            s.close()
    isql_ok(c, "SELECT 1 FROM FONE;")
    assert c.firebird_gateway.poll() is None
    assert c.engine.poll() is None


# ---------------------------------------------------------------------------- rosetta up

def test_rosetta_up_starts_the_firebird_gateway(tmp_path):
    """`rosetta up` starts the Firebird gateway (with its plugin, reloadable by SIGHUP
    through its pid file) and stops it on SIGTERM."""
    import signal
    import subprocess
    from conftest import BIN, free_port, port_open, wait_for
    ports = {name: free_port() for name in ("pg", "mysql", "fb")}
    up = subprocess.Popen(
        [str(BIN), "up", "--data-dir", str(tmp_path / "data"), "--pg-port", str(ports["pg"]),
         "--mysql-port", str(ports["mysql"]), "--firebird-port", str(ports["fb"])],
        env=dict(os.environ, ROSETTA_ADMIN_PASSWORD=PASSWORD, RUST_LOG="warn"),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        wait_for(lambda: port_open(ports["fb"]), timeout=60, what="firebird port under up")
        sql = "CREATE TABLE UPT (ID INTEGER);\nINSERT INTO UPT VALUES (42);\nSELECT ID FROM UPT;\n"
        dsn = f"127.0.0.1/{ports['fb']}:rosetta"
        run = lambda: subprocess.run(  # noqa: E731
            ["isql-fb", "-q", "-user", "admin", "-password", PASSWORD, dsn],
            input=sql, capture_output=True, text=True, timeout=60)
        r = run()
        assert "42" in r.stdout, r.stdout + r.stderr
        pid = int((tmp_path / "data" / "run" / "gateway-firebird.pid").read_text())
        os.kill(pid, signal.SIGHUP)
        time.sleep(1)
        sql = "SELECT ID FROM UPT;\n"
        assert "42" in run().stdout
    finally:
        up.send_signal(signal.SIGTERM)
        out, _ = up.communicate(timeout=60)
    assert f"firebird  127.0.0.1:{ports['fb']}" in out, out
    assert not port_open(ports["fb"])
