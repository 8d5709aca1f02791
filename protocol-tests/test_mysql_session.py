"""Session-level MySQL commands against a live cluster: connection ids, KILL, COM_RESET_CONNECTION,
COM_CHANGE_USER, COM_STMT_RESET, COM_SET_OPTION, `SET autocommit`, AUTO_INCREMENT /
LAST_INSERT_ID, binary columns — through PyMySQL and mysql-connector-python, plus a raw-socket
client for what drivers never send (hostile and malformed packets)."""

import hashlib
import socket
import struct
import threading
import time

import pymysql
import pytest

from conftest import PASSWORD


def connect(cluster, **kwargs):
    return pymysql.connect(host="127.0.0.1", port=cluster.mysql_port, user="admin",
                           password=PASSWORD, database="rosetta", autocommit=True, **kwargs)


class Raw:
    """A minimal MySQL client on a plain socket: handshake with mysql_native_password, then
    arbitrary command packets."""

    def __init__(self, port, password=PASSWORD):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        seq, greeting = self.read()
        version_end = greeting.index(b"\0", 1)
        self.connection_id = struct.unpack("<I", greeting[version_end + 1:version_end + 5])[0]
        part1 = greeting[version_end + 5:version_end + 13]
        rest = greeting[version_end + 13 + 1 + 2 + 1 + 2 + 2 + 1 + 10:]
        scramble = part1 + rest[:12]
        stage1 = hashlib.sha1(password.encode()).digest()
        mask = hashlib.sha1(scramble + hashlib.sha1(stage1).digest()).digest()
        proof = bytes(a ^ b for a, b in zip(stage1, mask))
        caps = 0x200 | 0x8000 | 0x80000 | 0x8 | 0x2000
        body = struct.pack("<IIB23x", caps, 1 << 24, 45) + b"admin\0" + bytes([len(proof)]) + proof
        body += b"rosetta\0mysql_native_password\0"
        self.send(body, seq + 1)
        _, ok = self.read()
        assert ok[0] == 0, ok

    def send(self, payload, seq=0):
        self.sock.sendall(struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload)

    def read(self):
        head = self._exact(4)
        n = head[0] | head[1] << 8 | head[2] << 16
        return head[3], self._exact(n)

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    def command(self, payload):
        """Sends one command, returns the first answer packet."""
        self.send(payload)
        return self.read()[1]

    def error_code(self, packet):
        assert packet[0] == 0xFF, packet
        return struct.unpack("<H", packet[1:3])[0]

    def close(self):
        self.sock.close()


def read_result(raw):
    """One text result set of one column: its values and whether more results follow."""
    _, count = raw.read()
    assert count == b"\x01", count
    raw.read()  # column definition
    assert raw.read()[1][0] == 0xFE  # EOF
    values = []
    while True:
        _, p = raw.read()
        if p[0] == 0xFE and len(p) < 9:
            return values, bool(struct.unpack("<H", p[3:5])[0] & 0x0008)
        values.append(p[1:1 + p[0]])


def test_connection_id_is_the_engine_session_and_kill_works(mysql_cluster):
    holder, victim, killer = connect(mysql_cluster), connect(mysql_cluster), connect(mysql_cluster)
    ids = {holder.thread_id(), victim.thread_id(), killer.thread_id()}
    assert len(ids) == 3
    h = holder.cursor()
    h.execute("CREATE TABLE kill_me (id INT PRIMARY KEY, v INT)")
    h.execute("INSERT INTO kill_me VALUES (1, 0)")
    h.execute("BEGIN")
    h.execute("UPDATE kill_me SET v = 1 WHERE id = 1")
    outcome = {}

    def blocked_update():
        try:
            victim.cursor().execute("UPDATE kill_me SET v = 2 WHERE id = 1")
            outcome["result"] = "finished"
        except pymysql.MySQLError as e:
            outcome["result"] = e.args[0]

    t = threading.Thread(target=blocked_update)
    t.start()
    time.sleep(0.5)
    assert t.is_alive(), "the update should wait for the row lock"
    # KILL QUERY by the id the victim's handshake announced.
    killer.cursor().execute(f"KILL QUERY {victim.thread_id()}")
    t.join(10)
    assert outcome["result"] == 1317  # ER_QUERY_INTERRUPTED
    h.execute("ROLLBACK")
    # The victim's session goes on after KILL QUERY.
    c = victim.cursor()
    c.execute("SELECT v FROM kill_me")
    assert c.fetchall() == ((0,),)
    # COM_PROCESS_KILL (PyMySQL's kill()) ends the session.
    killer.kill(victim.thread_id())
    with pytest.raises(pymysql.MySQLError):
        c.execute("SELECT 1")
        c.fetchall()
    for conn in (holder, killer):
        conn.close()


def test_connection_id_function(mysql_cluster):
    conn = connect(mysql_cluster)
    c = conn.cursor()
    c.execute("SELECT CONNECTION_ID()")
    assert c.fetchone()[0] == conn.thread_id()


def connector(cluster, **kwargs):
    mysql_connector = pytest.importorskip("mysql.connector")
    return mysql_connector.connect(host="127.0.0.1", port=cluster.mysql_port, user="admin",
                                   password=PASSWORD, database="rosetta",
                                   auth_plugin="mysql_native_password", **kwargs)


def test_reset_connection_really_resets(mysql_cluster):
    conn = connector(mysql_cluster, autocommit=True)
    cur = conn.cursor()
    cur.execute("CREATE TABLE reset_me (id INT PRIMARY KEY)")
    before = conn.connection_id
    prepared = conn.cursor(prepared=True)
    prepared.execute("SELECT ? + 1", (1,))
    prepared.fetchall()
    conn.start_transaction()
    cur.execute("INSERT INTO reset_me VALUES (1)")
    conn.cmd_reset_connection()
    assert conn.connection_id == before
    cur = conn.cursor()
    cur.execute("SELECT COUNT(*) FROM reset_me")
    assert cur.fetchall() == [(0,)], "the open transaction must be rolled back"
    conn.close()


def test_prepared_statements_are_forgotten_by_reset(mysql_cluster):
    raw = Raw(mysql_cluster.mysql_port)
    ok = raw.command(b"\x16SELECT ?")
    assert ok[0] == 0
    stmt = struct.unpack("<I", ok[1:5])[0]
    while raw.read()[1][0] != 0xFE:  # parameter definition, then EOF
        pass
    while raw.read()[1][0] != 0xFE:  # column definition, then EOF
        pass
    assert raw.command(b"\x1a" + struct.pack("<I", stmt))[0] == 0  # COM_STMT_RESET
    assert raw.command(b"\x1f")[0] == 0  # COM_RESET_CONNECTION
    assert raw.error_code(raw.command(b"\x1a" + struct.pack("<I", stmt))) == 1243
    raw.close()


def test_change_user_authenticates(mysql_cluster):
    conn = connector(mysql_cluster)
    conn.cmd_change_user(username="admin", password=PASSWORD, database="rosetta")
    cur = conn.cursor()
    cur.execute("SELECT CURRENT_USER(), DATABASE()")
    assert cur.fetchall() == [("admin", "rosetta")]
    mysql_connector = pytest.importorskip("mysql.connector")
    with pytest.raises(mysql_connector.Error) as e:
        conn.cmd_change_user(username="admin", password="wrong", database="rosetta")
    assert e.value.errno == 1045


def test_set_option_and_multi_statements(mysql_cluster):
    raw = Raw(mysql_cluster.mysql_port)
    assert raw.error_code(raw.command(b"\x03SELECT 1; SELECT 2")) == 1064
    assert raw.command(b"\x1b\x00\x00")[0] == 0xFE  # COM_SET_OPTION multi-statements on
    raw.send(b"\x03SELECT 1; SELECT 2")
    assert read_result(raw) == ([b"1"], True)
    assert read_result(raw) == ([b"2"], False)
    assert raw.error_code(raw.command(b"\x1b\x07\x00")) == 1047
    raw.close()


def test_unknown_and_malformed_commands_get_errors(mysql_cluster):
    raw = Raw(mysql_cluster.mysql_port)
    assert raw.error_code(raw.command(b"\x20")) == 1047  # unknown command: no silent OK
    assert raw.error_code(raw.command(b"\x17\x01")) == 1835  # truncated COM_STMT_EXECUTE
    ok = raw.command(b"\x16SELECT ?, ?")
    stmt = struct.pack("<I", struct.unpack("<I", ok[1:5])[0])
    for _ in range(6):  # 2 params + EOF, 2 columns + EOF
        raw.read()
    bad_blocks = [
        b"\x00\x01\x00\x00\x00\x00\x00",  # types never sent
        b"\x00\x01\x00\x00\x00\x00\x01\x03\x00\x03\x00\x01",  # truncated INT value
        b"\x00\x01\x00\x00\x00\x00\x01\x42\x00\x03\x00\x01\x02\x03\x04",  # unknown type
        b"\x00\x01\x00\x00\x00\x00\x01\xfd\x00\xfd\x00\xfe" + b"\xff" * 8,  # huge length
    ]
    for block in bad_blocks:
        assert raw.error_code(raw.command(b"\x17" + stmt + block)) == 1210
    # The connection is still usable.
    assert raw.command(b"\x0e")[0] == 0
    raw.close()


def test_autocommit_off_opens_implicit_transactions(mysql_cluster):
    writer = connect(mysql_cluster)
    reader = connect(mysql_cluster)
    w, r = writer.cursor(), reader.cursor()
    w.execute("CREATE TABLE ac (id INT PRIMARY KEY)")
    writer.autocommit(False)  # SET autocommit=0
    w.execute("INSERT INTO ac VALUES (1)")
    r.execute("SELECT COUNT(*) FROM ac")
    assert r.fetchall() == ((0,),)
    writer.commit()
    r.execute("SELECT COUNT(*) FROM ac")
    assert r.fetchall() == ((1,),)
    w.execute("INSERT INTO ac VALUES (2)")
    writer.rollback()
    w.execute("INSERT INTO ac VALUES (3)")
    w.execute("SET autocommit = 1")  # commits
    r.execute("SELECT id FROM ac ORDER BY id")
    assert r.fetchall() == ((1,), (3,))


def test_auto_increment_and_last_insert_id(mysql_cluster):
    conn = connect(mysql_cluster)
    c = conn.cursor()
    c.execute("CREATE TABLE ai (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, v VARCHAR(5))"
              " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
    c.execute("INSERT INTO ai (v) VALUES ('a'), ('b')")
    assert c.lastrowid == 1  # from the OK packet
    c.execute("INSERT INTO ai (v) VALUES ('c')")
    assert c.lastrowid == 3
    c.execute("SELECT LAST_INSERT_ID()")
    assert c.fetchone()[0] == 3


def test_blobs_arrive_as_bytes(mysql_cluster):
    conn = connect(mysql_cluster)
    c = conn.cursor()
    c.execute("CREATE TABLE bl (id INT PRIMARY KEY, b BLOB, t TEXT)")
    c.execute("INSERT INTO bl VALUES (1, %s, %s)", (b"\x00\xff\xfe", "héllo"))
    c.execute("SELECT b, t FROM bl")
    assert c.fetchone() == (b"\x00\xff\xfe", "héllo")


def test_show_create_table_and_show_tables(mysql_cluster):
    conn = connect(mysql_cluster)
    c = conn.cursor()
    c.execute("CREATE TABLE shown (id INT AUTO_INCREMENT PRIMARY KEY,"
              " a VARCHAR(10) NOT NULL DEFAULT 'x', b DECIMAL(10,2), c INT, UNIQUE (a))")
    c.execute("CREATE INDEX shown_cb ON shown (c, b)")
    c.execute("SHOW CREATE TABLE shown")
    assert [d[0] for d in c.description] == ["Table", "Create Table"]
    name, text = c.fetchone()
    assert name == "shown"
    assert text == (
        "CREATE TABLE `shown` (\n"
        "  `id` int NOT NULL AUTO_INCREMENT,\n"
        "  `a` varchar(10) NOT NULL DEFAULT 'x',\n"
        "  `b` decimal(10,2) DEFAULT NULL,\n"
        "  `c` int DEFAULT NULL,\n"
        "  PRIMARY KEY (`id`),\n"
        "  UNIQUE KEY `shown_a_key` (`a`),\n"
        "  KEY `shown_cb` (`c`,`b`)\n"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"), text
    c.execute("SHOW TABLES")
    assert c.description[0][0] == "Tables_in_rosetta"
    assert ("shown",) in c.fetchall()
    with pytest.raises(pymysql.MySQLError) as e:
        c.execute("SHOW CREATE VIEW shown")
    assert e.value.args[0] == 1235
