"""The workloads: each runs one bounded-time measurement against one server with the
clients users would use (pgbench, sysbench, the Python firebirdsql driver) and returns
throughput, latency percentiles and the transaction count. Any failure raises
WorkloadError with the client's own message, so the harness can report it for that row
and carry on."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .servers import PASSWORD

HERE = Path(__file__).resolve().parent


class WorkloadError(RuntimeError):
    """A workload failed on one server; the message is what the client said."""


def _tail(text, n=400):
    text = (text or "").strip()
    return text[-n:] if len(text) > n else text


def _client_error(text):
    """The client's own error line (sysbench prints the statement, then FATAL lines with
    the server's message); the tail of the output when there is none."""
    lines = [l.strip() for l in (text or "").splitlines() if "FATAL" in l or "ERROR" in l]
    return _tail(lines[-1] if lines else text)


def percentile(sorted_values, q):
    """The q-quantile of an already sorted list (nearest rank), None when empty."""
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, int(len(sorted_values) * q))
    return sorted_values[i]


# ---------------------------------------------------------------------------- pgbench

PG_SCRIPTS = {
    "select1": "SELECT 1;\n",
    "pk": "\\set id random(1, 10000)\nSELECT v FROM kv WHERE k = :id;\n",
    "commit8": "\\set id random(1, 1000000000)\nINSERT INTO ins VALUES (:id, :client_id);\n",
}
PG_BUILTIN = {"tpcb8": "tpcb-like", "select8": "select-only"}
PG_CLIENTS = {"select1": 1, "pk": 1, "commit8": 8, "tpcb8": 8, "select8": 8}
PG_DESCRIPTION = {
    "select1": "pgbench `SELECT 1`, 1 client, -M prepared",
    "pk": "pgbench PK lookup in a 10,000-row table, 1 client, -M prepared",
    "commit8": "pgbench one INSERT per transaction (autocommit, fsync on), 8 clients",
    "tpcb8": "pgbench -b tpcb-like, scale 1, 8 clients, -M prepared, --max-tries=0",
    "select8": "pgbench -b select-only, scale 1, 8 clients, -M prepared",
}


def _psql(port, user, db, sql, timeout=120):
    r = subprocess.run(["psql", "-X", "-q", "-At", "-h", "127.0.0.1", "-p", str(port), "-U",
                        user, "-d", db, "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, PGPASSWORD=PASSWORD))
    if r.returncode != 0:
        raise WorkloadError(f"psql: {_tail(r.stderr)}")
    return r.stdout.strip()


def pg_setup(port, user, db):
    """The `kv` and `ins` tables of the custom scripts, and pgbench's own tables
    (`pgbench -i -s 1`: COPY, VACUUM, ADD PRIMARY KEY …)."""
    _psql(port, user, db, "CREATE TABLE kv (k INT PRIMARY KEY, v TEXT)")
    for start in range(1, 10001, 1000):
        values = ",".join(f"({i},'value{i}')" for i in range(start, start + 1000))
        _psql(port, user, db, f"INSERT INTO kv VALUES {values}")
    _psql(port, user, db, "CREATE TABLE ins (id BIGINT, c INT)")
    r = subprocess.run(["pgbench", "-i", "-s", "1", "-q", "-h", "127.0.0.1", "-p", str(port),
                        "-U", user, db], capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, PGPASSWORD=PASSWORD))
    if r.returncode != 0:
        raise WorkloadError(f"pgbench -i: {_tail(r.stderr)}")


def _check_balances(port, user, db):
    """tpcb-like moves money: the four sums must agree (every run uses -n, so the
    history is never truncated)."""
    out = _psql(port, user, db,
                "SELECT (SELECT sum(abalance) FROM pgbench_accounts),"
                " (SELECT sum(bbalance) FROM pgbench_branches),"
                " (SELECT sum(tbalance) FROM pgbench_tellers),"
                " (SELECT sum(delta) FROM pgbench_history)")
    if len(set(out.split("|"))) != 1:
        raise WorkloadError(f"inconsistent balances after tpcb-like: {out}")


def pgbench(port, user, db, workload, tmp, seconds, tag):
    """One pgbench run of `workload` for `seconds`; latencies from its per-transaction
    log (-l), tps from its summary; tpcb8 ends with the balance check."""
    logdir = Path(tempfile.mkdtemp(prefix=f"pgbench-{workload}-{port}-{tag}-", dir=tmp))
    clients = PG_CLIENTS[workload]
    args = ["pgbench", "-n", "-h", "127.0.0.1", "-p", str(port), "-U", user, "-M", "prepared",
            "-l", "--log-prefix", str(logdir / "x"), "-c", str(clients),
            "-j", str(min(clients, 2)), "-T", str(seconds)]
    if workload in PG_BUILTIN:
        args += ["-b", PG_BUILTIN[workload]]
    else:
        script = logdir / "script.sql"
        script.write_text(PG_SCRIPTS[workload])
        args += ["-f", str(script)]
    if workload == "tpcb8":
        args += ["--max-tries=0"]
    try:
        out = subprocess.run(args + [db], capture_output=True, text=True,
                             env=dict(os.environ, PGPASSWORD=PASSWORD), timeout=seconds + 120)
    except subprocess.TimeoutExpired:
        raise WorkloadError(f"pgbench did not finish within {seconds + 120} s")
    if out.returncode != 0:
        raise WorkloadError(f"pgbench: {_tail(out.stderr)}")
    lat = []
    for f in logdir.iterdir():
        if not f.name.startswith("x"):
            continue
        for line in f.read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and parts[2] not in ("failed", "skipped"):
                lat.append(int(parts[2]))
    lat.sort()
    lines = out.stdout.splitlines()
    tps = next((float(l.split("=")[1].split()[0]) for l in lines if l.startswith("tps")), None)
    failed = next((l.strip() for l in lines if l.startswith("number of failed")), "")
    retried = next((l.strip() for l in lines if l.startswith("number of transactions retried")), "")
    if tps is None or not lat:
        raise WorkloadError(f"pgbench printed no result: {_tail(out.stdout + out.stderr)}")
    notes = []
    if failed and not failed.startswith("number of failed transactions: 0 "):
        notes.append(failed)
    if retried:
        notes.append(retried.replace("number of transactions ", ""))
    if workload == "tpcb8":
        _check_balances(port, user, db)
        notes.append("balances consistent")
    return {"tps": tps, "p50_us": percentile(lat, 0.50), "p99_us": percentile(lat, 0.99),
            "transactions": len(lat), "notes": "; ".join(notes)}


# ---------------------------------------------------------------------------- sysbench

SB_DESCRIPTION = {
    "oltp_point_select": "sysbench oltp_point_select, 8 threads",
    "oltp_read_write": "sysbench oltp_read_write, 8 threads",
}


def _sysbench(port, user, db, test, table_size, extra, timeout):
    args = ["sysbench", test, "--db-driver=mysql", "--mysql-host=127.0.0.1",
            f"--mysql-port={port}", f"--mysql-user={user}", f"--mysql-password={PASSWORD}",
            f"--mysql-db={db}", "--tables=1", f"--table-size={table_size}"] + extra
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise WorkloadError(f"sysbench {' '.join(extra)} did not finish within {timeout} s")
    except OSError as e:
        raise WorkloadError(f"cannot run sysbench: {e}")


def _histogram_percentiles(text):
    """p50/p99 in µs from sysbench's --histogram output (value in ms | bar | count)."""
    rows, inside = [], False
    for line in text.splitlines():
        if "distribution" in line and "value" in line:
            inside = True
            continue
        if inside:
            parts = line.split("|")
            if len(parts) != 2:
                if rows:
                    break
                continue
            try:
                rows.append((float(parts[0]), int(parts[1].split()[-1])))
            except (ValueError, IndexError):
                break
    total = sum(c for _, c in rows)
    if total == 0:
        return None, None
    out = []
    for q in (0.50, 0.99):
        acc = 0
        for v, c in rows:
            acc += c
            if acc >= q * total:
                out.append(int(v * 1000))
                break
    return out[0], out[1]


def sysbench(port, user, db, test, table_size, seconds, threads=8):
    """The measured part only: `sysbench_prepare` runs before and `sysbench_cleanup`
    after, outside the measurement."""
    r = _sysbench(port, user, db, test, table_size,
                  [f"--threads={threads}", f"--time={seconds}", "--histogram=on",
                   "--report-interval=0", "run"], seconds + 120)
    if r.returncode != 0:
        raise WorkloadError(f"sysbench run: {_client_error(r.stderr + r.stdout)}")
    tps = tx = None
    notes = []
    for line in r.stdout.splitlines():
        s = line.strip()
        if s.startswith("transactions:"):
            tx = int(s.split()[1])
            tps = float(s.split("(")[1].split()[0])
        elif s.startswith(("ignored errors:", "reconnects:")):
            count = int(s.split(":")[1].split()[0])
            if count:
                notes.append(f"{s.split(':')[0]}: {count}")
    if tps is None:
        raise WorkloadError(f"sysbench printed no result: {_tail(r.stdout + r.stderr)}")
    p50, p99 = _histogram_percentiles(r.stdout)
    return {"tps": tps, "p50_us": p50, "p99_us": p99, "transactions": tx,
            "notes": "; ".join(notes)}


def sysbench_prepare(port, user, db, test, table_size):
    """Creates and loads sbtest1 (after removing leftovers), outside the measurement."""
    sysbench_cleanup(port, user, db, test, table_size)  # leftovers of an interrupted run
    r = _sysbench(port, user, db, test, table_size, ["prepare"], 600)
    if r.returncode != 0:
        raise WorkloadError(f"sysbench prepare: {_client_error(r.stderr + r.stdout)}")


def sysbench_cleanup(port, user, db, test, table_size):
    """Best effort: a failed cleanup shows up as the next prepare's failure."""
    try:
        _sysbench(port, user, db, test, table_size, ["cleanup"], 120)
    except WorkloadError:
        pass


# ---------------------------------------------------------------------------- firebird

FB_DESCRIPTION = {
    "fb_pk_select": "firebirdsql prepared PK SELECT, {clients} connections",
    "fb_insert_tx": "firebirdsql one INSERT + COMMIT per transaction, {clients} connections",
}


def _fbload(args, timeout):
    try:
        return subprocess.run([sys.executable, str(HERE / "fbload.py")] + args,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise WorkloadError(f"firebirdsql client did not finish within {timeout} s")


def fb_setup(port, db, user, rows):
    """FB_KV and FB_INS through firebirdsql itself (fbload.py setup)."""
    r = _fbload(["setup", "127.0.0.1", str(port), db, user, PASSWORD, str(rows)], 600)
    if r.returncode != 0:
        raise WorkloadError(f"firebirdsql setup: {_tail(r.stderr)}")


def firebird(port, db, user, workload, rows, seconds, clients):
    """`clients` fbload.py processes (one connection each, no GIL shared) running the
    workload for `seconds`; their latencies are pooled."""
    mode = "select" if workload == "fb_pk_select" else "insert"
    procs = [subprocess.Popen([sys.executable, str(HERE / "fbload.py"), mode, "127.0.0.1",
                               str(port), db, user, PASSWORD, str(rows), str(seconds)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(clients)]
    lat, errors = [], []
    for p in procs:
        try:
            out, err = p.communicate(timeout=seconds + 120)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            errors.append("client did not finish")
            continue
        if p.returncode != 0:
            errors.append(_tail(err, 300))
            continue
        lat.extend(json.loads(out)["latencies_us"])
    if errors:
        raise WorkloadError(f"firebirdsql {mode}: {errors[0]}")
    lat.sort()
    # Each client loops for exactly `seconds` after connecting and preparing.
    return {"tps": len(lat) / seconds,
            "p50_us": percentile(lat, 0.50), "p99_us": percentile(lat, 0.99),
            "transactions": len(lat), "notes": ""}
