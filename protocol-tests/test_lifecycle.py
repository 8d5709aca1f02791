"""Process lifecycle (issue 5): graceful gateway shutdown, engine restart under running
gateways, the sd_notify datagrams systemd sees, and the shipped systemd units."""

import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest

from conftest import ROOT, port_open
from lifecycle import LifecycleCluster, NotifyListener, make_builds, point

# A statement that runs for about a second on the engine.
SLOW = "SELECT count(*) FROM generate_series(1, 4000000) AS g WHERE g % 7 = 3"
SLOW_ANSWER = 571429


@pytest.fixture
def life():
    tmp = Path(tempfile.mkdtemp(prefix="rosetta-life-"))
    c = LifecycleCluster(tmp / "data")
    c.tmp = tmp
    try:
        yield c
    finally:
        c.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def listen_for_goodbye(conn):
    conn.goodbyes = []
    conn.add_notice_handler(
        lambda d: conn.goodbyes.append((d.severity, d.sqlstate, d.message_primary)))


def goodbye(conn):
    """The asynchronous messages an idle connection received before its socket closed."""
    try:
        conn.pgconn.consume_input()
    except psycopg.OperationalError:
        pass  # the server closed the connection after its FATAL: expected
    conn.pgconn.is_busy()  # parses what was read, calling the notice handler
    return conn.goodbyes


def test_sigterm_lets_running_statements_finish_then_says_57P01(life):
    c = life
    c.start()
    with psycopg.connect(c.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE shut (id INT PRIMARY KEY)")
    idle_in_txn = psycopg.connect(c.dsn())
    idle_in_txn.execute("INSERT INTO shut VALUES (1)")  # open transaction, never committed
    idle = psycopg.connect(c.dsn(), autocommit=True)
    busy = psycopg.connect(c.dsn(), autocommit=True)
    for conn in (idle_in_txn, idle, busy):
        listen_for_goodbye(conn)
    result = {}

    def run_slow():
        try:
            result["rows"] = busy.execute(SLOW).fetchone()[0]
        except Exception as e:  # noqa: BLE001
            result["error"] = e

    t = threading.Thread(target=run_slow)
    t.start()
    time.sleep(0.3)
    started = time.time()
    c.gateway.send_signal(signal.SIGTERM)
    # New connections are refused at once.
    time.sleep(0.2)
    assert not port_open(c.port)
    t.join(timeout=30)
    # The statement that was running finished and returned its result.
    assert result.get("rows") == SLOW_ANSWER, result
    assert c.gateway.wait(timeout=30) == 0
    took = time.time() - started
    # Every session was told in PostgreSQL's words: an idle session receives the FATAL
    # asynchronously, which libpq hands to the notice processor; then the socket is closed.
    for conn in (idle_in_txn, idle, busy):
        told = goodbye(conn)
        assert told == [("FATAL", "57P01", "terminating connection due to administrator command")], told
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
        conn.close()
    # The open transaction rolled back; the engine kept running.
    c.start_gateway()
    with psycopg.connect(c.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM shut").fetchone()[0] == 0
    print(f"\ngraceful shutdown with a running statement took {took:.2f}s")


def test_shutdown_timeout_cancels_statements_that_run_too_long(life):
    c = life
    c.start_engine()
    c.start_gateway(args=["--shutdown-timeout", "0"])
    busy = psycopg.connect(c.dsn(), autocommit=True)
    result = {}

    def run_slow():
        try:
            result["rows"] = busy.execute(SLOW).fetchone()[0]
        except Exception as e:  # noqa: BLE001
            result["error"] = e

    t = threading.Thread(target=run_slow)
    t.start()
    time.sleep(0.3)
    started = time.time()
    c.gateway.send_signal(signal.SIGTERM)
    t.join(timeout=30)
    assert c.gateway.wait(timeout=30) == 0
    assert time.time() - started < 8
    err = result.get("error")
    # Mid-statement the FATAL is the statement's error, with its SQLSTATE.
    assert isinstance(err, psycopg.errors.AdminShutdown), result
    assert err.sqlstate == "57P01"
    busy.close()


def test_engine_sigterm_exits_cleanly_and_keeps_commits(life):
    c = life
    c.start()
    with psycopg.connect(c.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id INT PRIMARY KEY)")
        conn.execute("INSERT INTO kept VALUES (1), (2)")
    c.gateway.send_signal(signal.SIGTERM)
    assert c.gateway.wait(timeout=30) == 0
    c.engine.send_signal(signal.SIGTERM)
    assert c.engine.wait(timeout=30) == 0
    assert not c.socket.exists()
    c.start()
    with psycopg.connect(c.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM kept").fetchone()[0] == 2


def test_engine_restart_while_the_gateway_runs(life):
    c = life
    c.start()
    with psycopg.connect(c.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE survive (id INT PRIMARY KEY)")
        conn.execute("INSERT INTO survive VALUES (1)")
    old = psycopg.connect(c.dsn(), autocommit=True)
    old.execute("SELECT 1")
    c.kill_engine()
    # The open session gets a clean protocol error, not a hang.
    started = time.time()
    with pytest.raises(psycopg.OperationalError) as e:
        old.execute("SELECT 1")
    assert time.time() - started < 5
    assert e.value.sqlstate in ("08006", "57P01"), e.value
    old.close()
    assert c.gateway.poll() is None, "the gateway must outlive the engine"

    # A client connecting while the engine is down waits (backoff) and gets in once the
    # engine is back.
    got = {}

    def connect_during_outage():
        try:
            with psycopg.connect(c.dsn(), autocommit=True, connect_timeout=30) as conn:
                got["count"] = conn.execute("SELECT count(*) FROM survive").fetchone()[0]
        except Exception as e:  # noqa: BLE001
            got["error"] = e

    t = threading.Thread(target=connect_during_outage)
    t.start()
    time.sleep(1.0)
    c.start_engine()
    t.join(timeout=30)
    assert got.get("count") == 1, got
    with psycopg.connect(c.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM survive").fetchone()[0] == 1


def test_sd_notify_sequence(life):
    c = life
    tmp = c.tmp
    _, b, link = make_builds(tmp)
    c.plugin = link
    engine_notify = NotifyListener(tmp / "engine-notify.sock")
    gateway_notify = NotifyListener(tmp / "gateway-notify.sock")
    try:
        c.start_engine(notify=engine_notify.path)
        ready = engine_notify.wait_for("READY=1")
        assert "STATUS=" in ready
        c.start_gateway(notify=gateway_notify.path)
        assert "plugin rosetta-plugin-postgres" in gateway_notify.wait_for("READY=1")

        # A good reload: RELOADING=1 with MONOTONIC_USEC, then READY=1.
        point(link, b)
        c.hup_gateway()
        reloading = gateway_notify.wait_for("RELOADING=1")
        usec = [line for line in reloading.split("\n") if line.startswith("MONOTONIC_USEC=")]
        assert usec and int(usec[0].split("=", 1)[1]) > 0, reloading
        after = gateway_notify.wait_for("READY=1")
        assert "refused" not in after, after

        # A refused reload still ends with READY=1, and says why in STATUS.
        bad = tmp / "bad.so"
        bad.write_text("not a plugin")
        point(link, bad)
        c.hup_gateway()
        gateway_notify.wait_for("RELOADING=1")
        after = gateway_notify.wait_for("READY=1")
        assert "STATUS=" in after and "refused" in after, after

        c.gateway.send_signal(signal.SIGTERM)
        assert "STOPPING=1" in gateway_notify.wait_for("STOPPING=1")
        assert c.gateway.wait(timeout=30) == 0
        c.engine.send_signal(signal.SIGTERM)
        assert "STOPPING=1" in engine_notify.wait_for("STOPPING=1")
        assert c.engine.wait(timeout=30) == 0
    finally:
        engine_notify.close()
        gateway_notify.close()


UNITS = ROOT / "scripts" / "systemd"


def test_systemd_units_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    units = sorted(UNITS.glob("*.service"))
    assert {u.name for u in units} >= {"rosetta-engine.service", "rosetta-gateway@.service"}
    # verify wants the executable the units name: point it at this build.
    from conftest import BIN
    for unit in units:
        text = unit.read_text()
        assert "/usr/local/bin/rosetta" in text
        (tmp_path / unit.name).write_text(text.replace("/usr/local/bin/rosetta", str(BIN)))
    instance = tmp_path / "rosetta-gateway@postgres.service"
    instance.symlink_to(tmp_path / "rosetta-gateway@.service")
    r = subprocess.run(
        [analyze, "verify", "--man=no",
         str(tmp_path / "rosetta-engine.service"), str(instance)],
        capture_output=True, text=True, cwd=tmp_path)
    # Only complaints about our own units count (the host's other units are not ours).
    ours = [line for line in (r.stdout + r.stderr).splitlines() if "rosetta" in line]
    assert r.returncode == 0 and not ours, r.stdout + r.stderr
