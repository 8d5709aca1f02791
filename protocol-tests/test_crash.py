"""Durability: kill -9 the engine under a concurrent write load, restart it, and check
that every acknowledged commit is there and no transaction is half visible."""

import threading
import time

import psycopg


def test_kill_9_under_load_keeps_every_acknowledged_commit(fresh_cluster):
    c = fresh_cluster.start()
    with psycopg.connect(c.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE ledger (id BIGINT PRIMARY KEY, writer INT, amount INT)")
        conn.execute("CREATE TABLE audit (id BIGINT PRIMARY KEY, ledger_id BIGINT)")

    acked: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(w: int):
        n = 0
        try:
            with psycopg.connect(c.dsn()) as conn:
                while not stop.is_set():
                    key = w * 1_000_000 + n
                    # Two rows in two tables per transaction: both or neither.
                    conn.execute("INSERT INTO ledger VALUES (%s, %s, %s)", (key, w, n))
                    conn.execute("INSERT INTO audit VALUES (%s, %s)", (key, key))
                    conn.commit()
                    with lock:
                        acked.append(key)
                    n += 1
        except psycopg.Error:
            pass  # the engine died under us: expected

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    deadline = time.time() + 20
    while time.time() < deadline:
        with lock:
            if len(acked) >= 3000:
                break
        time.sleep(0.05)
    c.kill_engine()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    with lock:
        acknowledged = set(acked)
    assert len(acknowledged) > 100, f"only {len(acknowledged)} commits acknowledged"

    c.start_engine()
    with psycopg.connect(c.dsn()) as conn:
        ledger = {r[0] for r in conn.execute("SELECT id FROM ledger").fetchall()}
        audit = {r[0] for r in conn.execute("SELECT ledger_id FROM audit").fetchall()}
    missing = acknowledged - ledger
    assert not missing, f"{len(missing)} acknowledged commits lost"
    assert ledger == audit, "a transaction is half visible after recovery"


def test_restart_keeps_data(fresh_cluster):
    c = fresh_cluster.start()
    with psycopg.connect(c.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE keep (id INT PRIMARY KEY, v TEXT)")
        conn.execute("CREATE UNIQUE INDEX keep_v ON keep (v)")
        conn.execute("INSERT INTO keep VALUES (1, 'a'), (2, 'b')")
    c.stop()
    c.start()
    with psycopg.connect(c.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT id, v FROM keep ORDER BY id").fetchall() == [(1, "a"), (2, "b")]
        assert conn.execute("SELECT id FROM keep WHERE v = 'b'").fetchall() == [(2,)]
        try:
            conn.execute("INSERT INTO keep VALUES (3, 'a')")
            raise AssertionError("unique index lost across restart")
        except psycopg.errors.UniqueViolation:
            pass
