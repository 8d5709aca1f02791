"""Graceful SIGTERM of the MySQL gateway: it stops accepting, lets a running statement
finish, rolls back open transactions, tells idle clients ER_SERVER_SHUTDOWN (1053, 08S01)
and exits 0; the engine and the other gateways stay up."""

import shutil
import signal
import struct
import tempfile
import threading
import time
from pathlib import Path

import pymysql
import pytest

from conftest import Cluster, PASSWORD, port_open
from test_mysql_session import Raw


@pytest.fixture
def cluster_with_mysql():
    tmp = Path(tempfile.mkdtemp(prefix="rosetta-test-"))
    c = Cluster(tmp / "data", with_mysql=True)
    try:
        c.start()
        yield c
    finally:
        c.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def connect(cluster):
    return pymysql.connect(host="127.0.0.1", port=cluster.mysql_port, user="admin",
                           password=PASSWORD, database="rosetta", autocommit=True)


def test_sigterm_drains_gracefully(cluster_with_mysql):
    cluster = cluster_with_mysql
    holder, busy = connect(cluster), connect(cluster)
    idle = Raw(cluster.mysql_port)
    h = holder.cursor()
    h.execute("CREATE TABLE drain (id INT PRIMARY KEY, v INT)")
    h.execute("INSERT INTO drain VALUES (1, 0)")
    # holder: an open transaction, idle when the signal comes; it holds the row lock the
    # busy connection waits for.
    h.execute("BEGIN")
    h.execute("UPDATE drain SET v = 1 WHERE id = 1")
    h.execute("INSERT INTO drain VALUES (2, 0)")
    outcome = {}

    def wait_for_lock():
        try:
            c = busy.cursor()
            c.execute("UPDATE drain SET v = 2 WHERE id = 1")
            outcome["rows"] = c.rowcount
        except pymysql.MySQLError as e:
            outcome["error"] = e.args

    t = threading.Thread(target=wait_for_lock)
    t.start()
    time.sleep(0.5)
    assert t.is_alive()
    cluster.mysql_gateway.send_signal(signal.SIGTERM)
    # The idle session ends at once: rolled back (so the lock is released and the busy
    # statement finishes normally), then ER_SERVER_SHUTDOWN arrives unasked.
    t.join(10)
    assert outcome == {"rows": 1}, outcome
    _, packet = idle.read()
    assert packet[0] == 0xFF and struct.unpack("<H", packet[1:3])[0] == 1053, packet
    assert packet[4:9] == b"08S01"
    with pytest.raises(pymysql.MySQLError):
        h.execute("COMMIT")
    assert cluster.mysql_gateway.wait(timeout=15) == 0
    assert not port_open(cluster.mysql_port)
    # Only the busy statement's change survived; the idle transaction was rolled back.
    out = cluster.psql("SELECT id, v FROM drain ORDER BY id;", args=("-At",)).stdout
    assert out.split() == ["1|2"]
