"""Differential test: the statements of `mysql_diff_corpus.sql` run on Rosetta (through its
MySQL gateway) and on a real MariaDB (Debian's `mariadbd`, started by this test on a private
port in a temporary directory, bound to 127.0.0.1, stopped by pid even on failure), each
through PyMySQL; results must match.

Values are compared after a type-aware normalisation (decimals by value, floats to 9
significant digits, dates and date-times as ISO text, booleans as integers, strings and
bytes as themselves); rows are compared in order only when the statement has an ORDER BY.
A statement that fails must fail on both servers with the same MySQL error number."""

import datetime
import decimal
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pymysql
import pytest

from conftest import PASSWORD, free_port, port_open, wait_for

CORPUS = Path(__file__).with_name("mysql_diff_corpus.sql")


def statements():
    """The corpus: statements that must match, and known differences (after `-- KNOWN`)."""
    matching, known = CORPUS.read_text().split("\n-- KNOWN\n")

    def split(text):
        text = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
        return [s.strip() for s in re.split(r";\s*\n", text + "\n") if s.strip()]

    return split(matching), split(known)


@pytest.fixture(scope="module")
def mariadb():
    mariadbd = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    if not os.path.exists(mariadbd):
        pytest.skip("mariadbd is not installed (apt-get install mariadb-server)")
    tmp = Path(tempfile.mkdtemp(prefix="rosetta-mariadb-"))
    port = free_port()
    proc = None
    try:
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={tmp / 'data'}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, capture_output=True, timeout=120)
        proc = subprocess.Popen(
            [mariadbd, "--no-defaults", f"--datadir={tmp / 'data'}", f"--socket={tmp / 'sock'}",
             f"--port={port}", "--bind-address=127.0.0.1", "--user=root",
             "--skip-grant-tables", f"--pid-file={tmp / 'pid'}",
             f"--log-error={tmp / 'error.log'}", "--character-set-server=utf8mb4",
             "--collation-server=utf8mb4_bin"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: proc.poll() is None and port_open(port), what="mariadbd port")
        conn = pymysql.connect(host="127.0.0.1", port=port, user="root", autocommit=True)
        conn.cursor().execute("CREATE DATABASE rosetta")
        conn.close()
        yield port
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def normalise(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, decimal.Decimal):
        return ("num", value.normalize())
    if isinstance(value, int):
        return ("num", decimal.Decimal(value))
    if isinstance(value, float):
        return ("num", decimal.Decimal(f"{value:.9g}").normalize())
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, bytearray):
        return bytes(value)
    return value


def run(conn, sql):
    cur = conn.cursor()
    try:
        cur.execute(sql)
    except pymysql.MySQLError as e:
        return ("error", e.args[0])
    if cur.description is None:
        return ("ok", cur.rowcount)
    rows = [tuple(normalise(v) for v in row) for row in cur.fetchall()]
    if not re.search(r"\bORDER\s+BY\b", sql, re.IGNORECASE):
        rows.sort(key=repr)
    return ("rows", len(cur.description), rows)


def test_corpus_matches_mariadb(mysql_cluster, mariadb):
    rosetta = pymysql.connect(host="127.0.0.1", port=mysql_cluster.mysql_port, user="admin",
                              password=PASSWORD, database="rosetta", autocommit=True)
    reference = pymysql.connect(host="127.0.0.1", port=mariadb, user="root",
                                database="rosetta", autocommit=True)
    # Rosetta's database is shared with other tests of the module: use a fresh one.
    rosetta.cursor().execute("CREATE DATABASE diff")
    rosetta.select_db("diff")
    reference.cursor().execute("CREATE DATABASE diff")
    reference.select_db("diff")
    mismatches, fixed = [], []
    corpus, known = statements()
    assert len(corpus) > 50
    for sql in corpus:
        ours, theirs = run(rosetta, sql), run(reference, sql)
        if ours != theirs:
            mismatches.append(f"{sql}\n  rosetta: {ours}\n  mariadb: {theirs}")
    for sql in known:
        if run(rosetta, sql) == run(reference, sql):
            fixed.append(sql)
    assert not mismatches, "\n".join(mismatches)
    assert not fixed, "known differences now match; move them up in the corpus: " + str(fixed)
