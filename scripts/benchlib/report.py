"""Turns the rows of a run into the Markdown that goes into docs/benchmarks.md, and
replaces the generated section of that file when asked to."""

import re

BEGIN = "<!-- scripts/bench: generated table begins -->"
END = "<!-- scripts/bench: generated table ends -->"


def _num(v, fmt="{:.0f}"):
    return "" if v is None else fmt.format(v)


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def ratio_for(rows, row):
    """Rosetta tps / reference tps of the same workload, when both succeeded."""
    if row["server"] != "rosetta" or row.get("error"):
        return None
    ref = next((r for r in rows if r["workload"] == row["workload"] and r["server"] != "rosetta"),
               None)
    if not ref or ref.get("error") or not ref.get("tps"):
        return None
    return row["tps"] / ref["tps"]


def markdown(run):
    out = []
    m = run["machine"]
    rounds = (f", median of {run['rounds']} alternating runs per server"
              if run.get("rounds", 1) > 1 else "")
    out.append(f"Run of {run['started']} ({run['mode']} mode, {run['duration_s']} s per "
               f"measured run after a {run['warmup_s']} s warm-up{rounds}), command "
               f"`{run['command']}`.")
    out.append("")
    if m["loopback"].get("1") is None:
        ceil = "ceilings not measured in this run (`--only` without `ceilings`)."
    else:
        ceil = (f"ceilings measured in this run: loopback TCP round trips "
                f"{_num(m['loopback']['1'])}/s with 1 connection, {_num(m['loopback']['8'])}/s "
                f"with 8 ({m['loopback']['tool']}); 4 KiB append + fsync "
                f"{_num(m['fsync']['1'])}/s with 1 thread, {_num(m['fsync']['8'])}/s with 8; "
                f"4 KiB append + fdatasync {_num(m['fdatasync']['1'])}/s with 1 thread, "
                f"{_num(m['fdatasync']['8'])}/s with 8; 4 KiB overwrite (preallocated file) "
                f"+ fdatasync {_num(m['fdatasync_overwrite']['1'])}/s with 1 thread, "
                f"{_num(m['fdatasync_overwrite']['8'])}/s with 8; all on the data "
                f"directories' filesystem.")
    out.append(f"Machine: {m['cpus']} CPUs, {m['mem_gib']} GiB; load average at start "
               f"{m['loadavg_start']}; {ceil}")
    out.append("")
    out.append("Servers: " + "; ".join(f"{k}: {v}" for k, v in run["versions"].items()) + ".")
    out.append("")
    out.append("| workload | server | tps | p50 µs | p99 µs | server CPU s | CPU µs/tx "
               "| peak RSS MiB | peak PSS MiB | tps ratio (rosetta/ref) | notes |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    rows = run["results"]
    for r in rows:
        if r.get("error"):
            out.append(f"| {r['workload']} | {r['server']} | FAILED |  |  |  |  |  |  |  | "
                       f"{_cell(r['error'])} |")
            continue
        ratio = ratio_for(rows, r)
        out.append(
            f"| {r['workload']} | {r['server']} | {_num(r['tps'])} | {_num(r['p50_us'])} | "
            f"{_num(r['p99_us'])} | {_num(r['cpu_s'], '{:.1f}')} | "
            f"{_num(r['cpu_us_per_tx'])} | {_num(r['peak_rss_mib'])} | "
            f"{_num(r['peak_pss_mib'])} | {_num(ratio, '{:.2f}')} | {_cell(r.get('notes', ''))} |")
    out.append("")
    out.append("Workloads: " + "; ".join(f"`{k}` = {v}" for k, v in run["descriptions"].items())
               + ".")
    return "\n".join(out) + "\n"


def update_doc(path, text):
    """Replaces the text between the BEGIN/END markers of `path` (appends them if absent)."""
    doc = path.read_text()
    block = f"{BEGIN}\n{text}{END}"
    if BEGIN in doc and END in doc:
        doc = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, doc,
                     flags=re.S)
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(doc)
