"""sysbench, unmodified (Debian's package), against a live cluster's MySQL gateway: prepare,
a short 8-thread run and cleanup for oltp_read_write, oltp_point_select, oltp_insert and
oltp_delete, with the binary protocol (`--db-ps-mode=auto`). sysbench retries deadlock /
serialization failures (1213) itself and counts them as "ignored errors"; any other error
stops it with a FATAL line and a non-zero exit status."""

import re
import subprocess

import pytest

from conftest import PASSWORD

WORKLOADS = ["oltp_read_write", "oltp_point_select", "oltp_insert", "oltp_delete"]


def sysbench(cluster, workload, command, *extra, timeout=180):
    return subprocess.run(
        ["sysbench", workload, f"--mysql-host=127.0.0.1", f"--mysql-port={cluster.mysql_port}",
         "--mysql-user=admin", f"--mysql-password={PASSWORD}", "--mysql-db=rosetta",
         "--db-ps-mode=auto", "--tables=2", "--table-size=2000", *extra, command],
        capture_output=True, text=True, timeout=timeout)


def counts(out):
    """transactions, queries and ignored errors of a run's report."""
    def number(label):
        return int(re.search(rf"{label}:\s+(\d+)", out).group(1))
    return number("transactions"), number("queries"), number("ignored errors")


@pytest.mark.parametrize("workload", WORKLOADS)
def test_sysbench_workload(mysql_cluster, workload):
    r = sysbench(mysql_cluster, workload, "prepare")
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        r = sysbench(mysql_cluster, workload, "run", "--threads=8", "--time=8")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "FATAL" not in r.stdout + r.stderr
        transactions, queries, ignored = counts(r.stdout)
        print(f"{workload}: {transactions} transactions, {queries} queries, "
              f"{ignored} ignored (retried) errors")
        assert transactions > 0
        out = mysql_cluster.mysql("SELECT COUNT(*) FROM sbtest1;", args=("--batch",)).stdout
        assert int(out.split()[-1]) > 0
    finally:
        r = sysbench(mysql_cluster, workload, "cleanup")
        assert r.returncode == 0, r.stdout + r.stderr
    out = mysql_cluster.mysql("SHOW TABLES;", args=("--batch",)).stdout
    assert "sbtest" not in out
