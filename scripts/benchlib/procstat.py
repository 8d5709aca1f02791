"""What a server costs while a workload runs: CPU seconds and memory of its whole process
tree, read from /proc.

Why a tree: Rosetta is `rosetta up` plus an engine and gateway processes; PostgreSQL is a
postmaster that forks a backend per connection (backends come and go during a run).

CPU. A process's CPU lives in its own `utime + stime` while it runs and, once its parent
has reaped it, in the parent's `cutime + cstime`. So the sum of all four fields over the
live tree only grows, and its difference between the end and the start of a run is the CPU
the tree spent in that run, including backends that started and exited in between (their
parent reaps them). Threads are included (the fields are per process).

Memory. A sampler thread sums RSS and PSS over the tree a few times a second and keeps the
peaks. PSS divides shared pages among the processes that map them, so it does not count
PostgreSQL's shared buffers once per backend the way an RSS sum does.
"""

import os
import threading
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid):
    """The fields of /proc/PID/stat after the command name (which may contain spaces)."""
    with open(f"/proc/{pid}/stat") as f:
        raw = f.read()
    return raw[raw.rindex(")") + 2:].split()


def _children_map():
    """ppid → [pid] for every process on the machine."""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            ppid = int(_stat_fields(name)[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(name))
    return kids


def tree(roots):
    """The live pids of `roots` and all their descendants."""
    kids = _children_map()
    seen, todo = set(), [r for r in roots if os.path.exists(f"/proc/{r}")]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo.extend(kids.get(pid, ()))
    return seen


def cpu_seconds(roots):
    """user+sys of the tree so far, reaped children included (see the module comment)."""
    total = 0
    for pid in tree(roots):
        try:
            f = _stat_fields(pid)
            # utime, stime, cutime, cstime are fields 14-17 of stat(5); we dropped 2.
            total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
        except (OSError, ValueError, IndexError):
            continue
    return total / CLOCK_TICKS


def _memory(pid):
    """(rss bytes, pss bytes) of one process; pss falls back to rss if unreadable."""
    with open(f"/proc/{pid}/statm") as f:
        rss = int(f.read().split()[1]) * PAGE
    pss = rss
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    return rss, pss


class TreeMonitor:
    """Measures one run: `with TreeMonitor(pids) as m: ...`, then `m.result()`."""

    def __init__(self, roots, interval=0.25):
        self.roots = list(roots)
        self.interval = interval
        self.peak_rss = 0
        self.peak_pss = 0
        self.max_procs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._cpu0 = 0.0
        self._cpu1 = 0.0
        self._t0 = 0.0
        self._t1 = 0.0

    def _sample_once(self):
        rss = pss = 0
        pids = tree(self.roots)
        for pid in pids:
            try:
                r, p = _memory(pid)
            except (OSError, ValueError, IndexError):
                continue
            rss += r
            pss += p
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        self.max_procs = max(self.max_procs, len(pids))

    def _sample(self):
        while not self._stop.wait(self.interval):
            self._sample_once()

    def __enter__(self):
        self._cpu0 = cpu_seconds(self.roots)
        self._t0 = time.monotonic()
        self._sample_once()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample_once()
        self._cpu1 = cpu_seconds(self.roots)
        self._t1 = time.monotonic()
        return False

    def result(self):
        """CPU seconds, wall seconds and memory peaks (MiB) of the measured span."""
        return {
            "cpu_s": round(self._cpu1 - self._cpu0, 2),
            "wall_s": round(self._t1 - self._t0, 2),
            "peak_rss_mib": round(self.peak_rss / 2**20, 1),
            "peak_pss_mib": round(self.peak_pss / 2**20, 1),
            "max_processes": self.max_procs,
        }
