"""pgbench, unmodified, against a live cluster: `pgbench -i` (DROP TABLE IF EXISTS, CREATE
TABLE … WITH (fillfactor), TRUNCATE, COPY FROM STDIN, VACUUM ANALYZE, ALTER TABLE ADD
PRIMARY KEY), a short tpcb-like run, and the balance consistency check. Also the COPY,
TRUNCATE, VACUUM and ADD PRIMARY KEY statements one by one, with their errors."""

import os
import re
import subprocess

from conftest import PASSWORD


def pgbench(cluster, *args, timeout=120):
    env = dict(os.environ, PGPASSWORD=PASSWORD)
    return subprocess.run(
        ["pgbench", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "admin", *args,
         "rosetta"],
        env=env, capture_output=True, text=True, timeout=timeout)


def test_pgbench_init_tpcb_and_consistency(cluster):
    r = pgbench(cluster, "-i", "-s", "1")
    assert r.returncode == 0, r.stderr
    assert "done in" in r.stderr
    out = cluster.psql("SELECT count(*) FROM pgbench_accounts;"
                       "SELECT count(*) FROM pgbench_tellers;"
                       "SELECT count(*) FROM pgbench_branches;", args=("-At",)).stdout
    assert out.split() == ["100000", "10", "1"]
    # VACUUM ANALYZE recorded the row counts.
    out = cluster.psql("SELECT relname, reltuples FROM pg_class WHERE relname IN"
                       " ('pgbench_accounts', 'pgbench_branches') ORDER BY 1;",
                       args=("-At",)).stdout
    assert out.split() == ["pgbench_accounts|100000", "pgbench_branches|1"]
    # ADD PRIMARY KEY recorded the key: a duplicate is refused.
    r = cluster.psql("INSERT INTO pgbench_branches VALUES (1, 0, '');", check=False)
    assert "duplicate key value violates unique constraint" in r.stderr
    assert "pgbench_branches_pkey" in r.stderr
    # READ COMMITTED, as in PostgreSQL: concurrent updates of the one branch row wait for
    # each other and apply on top of each other, so nothing fails and nothing is retried.
    r = pgbench(cluster, "-c", "4", "-j", "2", "-T", "5", "-M", "prepared")
    assert r.returncode == 0, r.stderr + r.stdout
    processed = int(re.search(r"actually processed: (\d+)", r.stdout).group(1))
    assert processed > 0
    assert re.search(r"number of failed transactions: 0 ", r.stdout), r.stdout
    sums = cluster.psql(
        "SELECT (SELECT sum(abalance) FROM pgbench_accounts),"
        " (SELECT sum(bbalance) FROM pgbench_branches),"
        " (SELECT sum(tbalance) FROM pgbench_tellers),"
        " (SELECT sum(delta) FROM pgbench_history),"
        " (SELECT count(*) FROM pgbench_history);", args=("-At",)).stdout.strip()
    a, b, t, h, n = sums.split("|")
    assert a == b == t == h, sums
    assert int(n) == processed


def test_copy_truncate_vacuum_and_primary_key(cluster):
    cluster.psql("DROP TABLE IF EXISTS cp; CREATE TABLE cp (a int, b text, c numeric)"
                 " WITH (fillfactor = 90);")
    r = cluster.psql("CREATE TABLE cp2 (a int) WITH (autovacuum_enabled = false);",
                     check=False)
    assert "0A000" in r.stderr or "not supported" in r.stderr
    data = "1\thello\t1.5\n2\t\\N\t\\N\n3\ttab\\there\t-2\n"
    env = dict(os.environ, PGPASSWORD=PASSWORD)
    base = ["psql", "-X", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "admin",
            "-d", "rosetta", "-v", "ON_ERROR_STOP=1"]
    r = subprocess.run(base + ["-c", "COPY cp FROM STDIN"], input=data, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "COPY 3" in r.stdout, r.stderr
    r = subprocess.run(base + ["-c", "COPY cp (a, b) FROM STDIN WITH (FORMAT csv)"],
                       input='4,"x,""y"""\n5,\n', env=env, capture_output=True, text=True,
                       timeout=60)
    assert "COPY 2" in r.stdout, r.stderr
    out = cluster.psql("SELECT a, b, c FROM cp ORDER BY a;", args=("-At",)).stdout
    assert out.splitlines() == ["1|hello|1.5", "2||", "3|tab\there|-2", '4|x,"y"|', "5||"]
    # Bad input: 22P02, nothing of the COPY is kept, the session goes on.
    r = subprocess.run(base + ["-c", "COPY cp FROM STDIN", "-c", "SELECT count(*) FROM cp"],
                       input="6\ta\t1\nseven\tb\t2\n", env=env, capture_output=True,
                       text=True, timeout=60)
    assert "invalid input syntax for type integer" in r.stderr, r.stderr
    assert cluster.psql("SELECT count(*) FROM cp;", args=("-At",)).stdout.strip() == "5"
    r = subprocess.run(base + ["-c", "COPY cp FROM STDIN"], input="6\ta\n", env=env,
                       capture_output=True, text=True, timeout=60)
    assert "missing data for column" in r.stderr
    # ADD PRIMARY KEY re-keys the rows; duplicates and NULLs are refused.
    r = cluster.psql("ALTER TABLE cp ADD PRIMARY KEY (c);", check=False)
    assert "null value in column" in r.stderr
    cluster.psql("INSERT INTO cp VALUES (5, 'dup', 0);")
    r = cluster.psql("ALTER TABLE cp ADD PRIMARY KEY (a);", check=False)
    assert "could not create unique index" in r.stderr or "duplicate key" in r.stderr
    cluster.psql("DELETE FROM cp WHERE b = 'dup';"
                 "CREATE INDEX cp_b ON cp (b);"
                 "ALTER TABLE cp ADD CONSTRAINT cp_key PRIMARY KEY (a);")
    r = cluster.psql("INSERT INTO cp VALUES (1, 'again', 0);", check=False)
    assert "cp_key" in r.stderr
    out = cluster.psql("SELECT a FROM cp WHERE b = 'hello'; SELECT a FROM cp WHERE a = 3;",
                       args=("-At",)).stdout
    assert out.split() == ["1", "3"]
    # TRUNCATE is transactional; VACUUM refuses a transaction block.
    out = cluster.psql("BEGIN; TRUNCATE cp; SELECT count(*) FROM cp; ROLLBACK;"
                       " SELECT count(*) FROM cp;", args=("-Atq",)).stdout
    assert out.split() == ["0", "5"]
    r = cluster.psql("BEGIN; VACUUM cp;", check=False)
    assert "VACUUM cannot run inside a transaction block" in r.stderr
    r = cluster.psql("VACUUM ANALYZE cp; VACUUM; ANALYZE cp; TRUNCATE TABLE cp;"
                     " SELECT count(*) FROM cp;")
    assert "VACUUM" in r.stdout and "ANALYZE" in r.stdout and "TRUNCATE TABLE" in r.stdout
    reltuples = "SELECT reltuples FROM pg_class WHERE relname = 'cp';"
    assert cluster.psql(reltuples, args=("-At",)).stdout.strip() == "-1"
    cluster.psql("INSERT INTO cp VALUES (1, 'a', 1), (2, 'b', 2); ANALYZE cp;")
    assert cluster.psql(reltuples, args=("-At",)).stdout.strip() == "2"
