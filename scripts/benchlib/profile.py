"""Where Rosetta's time goes under pgbench: `scripts/bench --profile`.

Starts a private Rosetta cluster, initialises pgbench's tables (`pgbench -i -s 1`) and,
for the select-only and tpcb-like scripts (-M prepared, 8 clients, 2 threads), samples the
engine and the PostgreSQL gateway process with `perf record -e cpu-clock --call-graph
dwarf` while pgbench runs. cpu-clock is a software timer, so it works in VMs that expose no
hardware counters; DWARF unwinding needs no frame pointers (the release profile keeps line
tables). Prints, per workload and process, the CPU seconds the process used and its top
functions by self time and by inclusive time (Rosetta, RocksDB, pgwire, rmp-serde frames;
runtime plumbing and inlined copies left out).
"""

import os
import re
import shutil
import subprocess
import time

from .procstat import cpu_seconds
from .servers import PASSWORD, Rosetta, ServerError

WORKLOADS = {"select-only": ["-b", "select-only"],
             "tpcb-like": ["-b", "tpcb-like", "--max-tries=0"]}
PLUMBING = re.compile(
    r"\(inlined\)|^(std::|core::|alloc::|tokio::runtime|futures_util::|start_thread|clone3|"
    r"__rust_begin|catch_unwind|call_once|do_call|poll<|poll_future|\{closure|\{async|"
    r"0xffff|entry_SYSCALL|do_syscall_64|<alloc::boxed|<core::|<std::|with_mut|"
    r"enter_runtime|set<|try_with|with<|run<|run_worker|Harness|__libc_start|main$)|"
    # the per-connection entry points: every sample of the process is under them
    r"^rosetta_engine::server::handle$|^rosetta_gateway::postgres::server::PostgresGateway::serve")


def _perf_works():
    if shutil.which("perf") is None:
        return "perf is not installed (apt-get install linux-perf)"
    r = subprocess.run(["perf", "record", "-e", "cpu-clock", "-o", "/dev/null", "true"],
                       capture_output=True, text=True, timeout=60)
    return None if r.returncode == 0 else f"perf record does not work here: {r.stderr.strip()}"


def _child_pids(root):
    """{'engine': pid, 'gateway-postgres': pid} among the children of `rosetta up`."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = open(f"/proc/{name}/stat").read()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            argv = open(f"/proc/{name}/cmdline").read().split("\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid != root or len(argv) < 2:
            continue
        if argv[1] == "engine":
            out["engine"] = int(name)
        elif argv[1] == "gateway" and len(argv) > 2 and argv[2] == "postgres":
            out["gateway"] = int(name)
    return out


def _pgbench(port, args, seconds):
    r = subprocess.run(["pgbench", "-n", "-h", "127.0.0.1", "-p", str(port), "-U", "admin",
                        "-M", "prepared", "-c", "8", "-j", "2", "-T", str(seconds)] + args +
                       ["rosetta"], capture_output=True, text=True, timeout=seconds + 120,
                       env=dict(os.environ, PGPASSWORD=PASSWORD))
    if r.returncode != 0:
        raise ServerError(f"pgbench: {r.stderr.strip()[-300:]}")
    keep = ("tps", "number of transactions retried", "number of failed")
    return "; ".join(l.strip() for l in r.stdout.splitlines() if l.startswith(keep))


def _report(data, limit=12):
    """From one perf.data file: the top functions by self time, the top user-space
    functions by inclusive time (kernel frames and runtime plumbing left out: the kernel's
    share shows in the self list), and the share of samples in the kernel."""
    r = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--children",
                        "--sort", "sym", "-g", "none", "--percent-limit", "0.3"],
                       capture_output=True, text=True, timeout=1800)
    rows = []
    for line in r.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+\[([.k])\]\s+(.*)$", line)
        if m:
            rows.append((float(m.group(1)), float(m.group(2)), m.group(3) == "k",
                         m.group(4).strip()))
    self_top = sorted(((s, sym) for _, s, _k, sym in rows if s >= 0.5), reverse=True)[:limit]
    incl = [(c, sym) for c, _, k, sym in rows if not k and not PLUMBING.search(sym)]
    kernel = sum(s for _, s, k, _sym in rows if k)
    return self_top, sorted(incl, reverse=True)[:limit], kernel


def _pct(v):
    return "" if v is None else f"{v:.1f}"


def _drop_trait(name):
    """`<A as B>::rest` → `A::rest` (brackets matched by depth, not by pattern)."""
    if not name.startswith("<"):
        return name
    depth = 0
    for i, ch in enumerate(name):
        depth += {"<": 1, ">": -1}.get(ch, 0)
        if depth == 0:
            inner, rest = name[1:i], name[i + 1:]
            break
    else:
        return name
    depth = 0
    for j, ch in enumerate(inner):
        depth += {"<": 1, ">": -1}.get(ch, 0)
        if depth == 0 and inner.startswith(" as ", j):
            return inner[:j] + rest
    return inner + rest


def _strip_generics(name):
    """Drops every `<…>` group (generic arguments), keeping the path."""
    out, depth = [], 0
    for ch in name:
        if ch == "<":
            depth += 1
        elif ch == ">" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _sym(name, width=100):
    """A symbol as a Markdown table cell: code-quoted, shortened, pipes escaped."""
    if not name:
        return ""
    # `<Type as Trait>::method` → `Type::method`; generic arguments dropped.
    name = _strip_generics(_drop_trait(name))
    name = name if len(name) <= width else name[:width - 1] + "…"
    return "`" + name.replace("|", "\\|").replace("`", "'") + "`"


def run(tmp, build_dir, seconds, freq=199):
    problem = _perf_works()
    if problem:
        raise ServerError(problem)
    rosetta = Rosetta(tmp, build_dir)
    out = [f"Profile of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
           f"`perf record -e cpu-clock -F {freq} --call-graph dwarf,16384 -p PID -- sleep "
           f"{seconds + 1}` on the engine and on the PostgreSQL gateway while "
           f"`pgbench -n -M prepared -c 8 -j 2 -T {seconds}` runs (scale 1, after a 3 s "
           f"warm-up); `perf report --children --sort sym -g none`.", ""]
    try:
        rosetta.stage()
        rosetta.start()
        r = subprocess.run(["pgbench", "-i", "-s", "1", "-q", "-h", "127.0.0.1", "-p",
                            str(rosetta.pg_port), "-U", "admin", "rosetta"],
                           capture_output=True, text=True, timeout=600,
                           env=dict(os.environ, PGPASSWORD=PASSWORD))
        if r.returncode != 0:
            raise ServerError(f"pgbench -i: {r.stderr.strip()[-300:]}")
        pids = _child_pids(rosetta.proc.pid)
        if set(pids) != {"engine", "gateway"}:
            raise ServerError(f"could not find the engine and gateway processes: {pids}")
        for name, args in WORKLOADS.items():
            _pgbench(rosetta.pg_port, args, 3)
            perfs, files = [], {}
            cpu0 = {p: cpu_seconds([pid]) for p, pid in pids.items()}
            for proc, pid in pids.items():
                files[proc] = tmp / f"perf-{name}-{proc}.data"
                perfs.append(subprocess.Popen(
                    ["perf", "record", "-e", "cpu-clock", "-F", str(freq), "--call-graph",
                     "dwarf,16384", "-p", str(pid), "-o", str(files[proc]), "--", "sleep",
                     str(seconds + 1)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            # perf follows threads created after it attached, not those created while it
            # attaches; the engine runs a thread per connection, so let it settle first.
            time.sleep(1.0)
            tps = _pgbench(rosetta.pg_port, args, seconds)
            for p in perfs:
                p.wait(timeout=seconds + 120)
            cpu = {p: cpu_seconds([pid]) - cpu0[p] for p, pid in pids.items()}
            out.append(f"### {name} ({tps})")
            out.append("")
            for proc in pids:
                self_top, incl, kernel = _report(files[proc])
                out.append(f"{proc}: {cpu[proc]:.1f} CPU s in {seconds} s; at least "
                           f"{kernel:.0f} % of its samples in the kernel.")
                out.append("")
                out.append("| self % | function | | inclusive % | function |")
                out.append("|---:|---|---|---:|---|")
                for i in range(max(len(self_top), len(incl))):
                    s = self_top[i] if i < len(self_top) else (None, "")
                    c = incl[i] if i < len(incl) else (None, "")
                    out.append(f"| {_pct(s[0])} | {_sym(s[1])} | | {_pct(c[0])} | "
                               f"{_sym(c[1])} |")
                out.append("")
    finally:
        rosetta.stop()
    return "\n".join(out) + "\n"
