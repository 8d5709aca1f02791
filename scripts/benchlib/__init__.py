"""Helpers of scripts/bench: servers (Rosetta and the reference servers, started and
stopped by pid), workloads (pgbench, sysbench, firebirdsql), procstat (CPU and memory of a
process tree), ceilings (loopback round trips, syncs per second), report (Markdown), and
profile (perf)."""
