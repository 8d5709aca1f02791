#!/usr/bin/env python3
"""One Firebird client process of the benchmark, through the Python `firebirdsql` driver:
what an application written for Firebird does, measured from the outside.

  fbload.py setup  HOST PORT DB USER PASSWORD ROWS
      creates FB_KV (ROWS rows) and FB_INS, through the same driver
  fbload.py select HOST PORT DB USER PASSWORD ROWS SECONDS
      one connection; prepares `SELECT V FROM FB_KV WHERE K = ?` once and runs it with a
      random key until SECONDS have passed
  fbload.py insert HOST PORT DB USER PASSWORD ROWS SECONDS
      one connection; prepares `INSERT INTO FB_INS VALUES (?, ?)` once; every execution is
      its own transaction (execute, then COMMIT)

`select` and `insert` print one JSON object: {"count": N, "latencies_us": [...]}.
Errors go to stderr with exit status 1.

firebirdsql leaves a prepared SELECT's server-side cursor open after the last fetch and its
PreparedStatement.close() only closes it once; `_close_cursor` sends the DSQL_close
(op_free_statement) every time, as other Firebird drivers do between executions.
"""

import json
import random
import sys
import time

import firebirdsql


def connect(host, port, db, user, password):
    return firebirdsql.connect(host=host, port=int(port), database=db, user=user,
                               password=password)


def _close_cursor(prepared):
    prepared.stmt._is_open = True
    prepared.close()


def setup(conn, rows):
    cur = conn.cursor()
    for ddl in ("CREATE TABLE FB_KV (K INTEGER NOT NULL PRIMARY KEY, V VARCHAR(40))",
                "CREATE TABLE FB_INS (ID BIGINT, C INTEGER)"):
        cur.execute(ddl)
        conn.commit()
    ins = cur.prep("INSERT INTO FB_KV VALUES (?, ?)")
    for k in range(1, rows + 1):
        cur.execute(ins, (k, f"value{k}"))
        if k % 1000 == 0:
            conn.commit()
    conn.commit()
    cur.execute("SELECT COUNT(*) FROM FB_KV")
    n = cur.fetchall()[0][0]
    conn.commit()
    if n != rows:
        raise RuntimeError(f"FB_KV has {n} rows, expected {rows}")


def select_loop(conn, rows, seconds):
    cur = conn.cursor()
    stmt = cur.prep("SELECT V FROM FB_KV WHERE K = ?")
    lat = []
    deadline = time.monotonic() + seconds
    while True:
        t0 = time.monotonic()
        if t0 >= deadline:
            break
        k = random.randint(1, rows)
        cur.execute(stmt, (k,))
        got = cur.fetchall()
        _close_cursor(stmt)
        lat.append(int((time.monotonic() - t0) * 1e6))
        if not got or got[0][0] != f"value{k}":
            raise RuntimeError(f"key {k}: wrong answer {got!r}")
    conn.commit()
    return lat


def insert_loop(conn, seconds):
    cur = conn.cursor()
    stmt = cur.prep("INSERT INTO FB_INS VALUES (?, ?)")
    lat = []
    deadline = time.monotonic() + seconds
    while True:
        t0 = time.monotonic()
        if t0 >= deadline:
            break
        cur.execute(stmt, (random.randint(1, 10**9), 1))
        conn.commit()
        lat.append(int((time.monotonic() - t0) * 1e6))
    return lat


def main(argv):
    mode, host, port, db, user, password, rows = argv[:7]
    rows = int(rows)
    conn = connect(host, port, db, user, password)
    try:
        if mode == "setup":
            setup(conn, rows)
            return 0
        seconds = float(argv[7])
        lat = select_loop(conn, rows, seconds) if mode == "select" else insert_loop(conn, seconds)
        print(json.dumps({"count": len(lat), "latencies_us": lat}))
        return 0
    finally:
        conn.close()


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as e:  # report any driver or server error as this client's failure
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
