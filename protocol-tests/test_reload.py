"""Plugin hot reload (issue 5): 20 SIGHUPs in a row under a sustained load of 8 client
threads, alternating between two plugin builds, must not fail a statement nor drop a
connection; the reported plugin must follow the build; bad plugins must be refused while
the old one keeps serving."""

import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest

from conftest import BIN, plugin_path
from lifecycle import LifecycleCluster, make_builds, point, sha256_prefix

CLIENTS = 8
RELOADS = 20


@pytest.fixture
def reload_cluster():
    tmp = Path(tempfile.mkdtemp(prefix="rosetta-reload-"))
    a, b, link = make_builds(tmp)
    c = LifecycleCluster(tmp / "data", plugin=link)
    c.builds = (a, b)
    c.link = link
    c.tmp = tmp
    try:
        c.start()
        yield c
    finally:
        c.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def active_plugin(c) -> str:
    with psycopg.connect(c.dsn(), autocommit=True) as conn:
        return conn.execute("SHOW rosetta.plugin").fetchone()[0]


def wait_for_plugin(c, digest: str, timeout=20.0) -> float:
    """Polls `SHOW rosetta.plugin` until it reports `digest`; returns the seconds taken."""
    start = time.time()
    while time.time() - start < timeout:
        if f"sha256={digest}" in active_plugin(c):
            return time.time() - start
        time.sleep(0.02)
    raise AssertionError(f"plugin {digest} never became active; still {active_plugin(c)}")


def test_show_reports_the_active_plugin(reload_cluster):
    c = reload_cluster
    a, _ = c.builds
    shown = active_plugin(c)
    assert shown.startswith("rosetta-plugin-postgres "), shown
    assert "build=" in shown and f"sha256={sha256_prefix(a)}" in shown, shown
    # In the extended protocol too, with a real row description.
    with psycopg.connect(c.dsn()) as conn:
        cur = conn.execute("SHOW rosetta.plugin", prepare=True)
        assert cur.description[0].name == "rosetta.plugin"
        assert cur.fetchone()[0] == shown
    assert "plugin loaded: rosetta-plugin-postgres" in c.log()


def test_twenty_reloads_under_load_fail_nothing(reload_cluster):
    c = reload_cluster
    a, b = c.builds
    with psycopg.connect(c.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE reload_load (id BIGINT PRIMARY KEY, worker INT, n INT)")

    stop = threading.Event()
    lock = threading.Lock()
    stats = {"statements": 0, "transactions": 0, "failures": [], "drops": 0,
             "plugins_seen": set()}

    def worker(w: int):
        n = 0
        try:
            with psycopg.connect(c.dsn(), autocommit=True) as conn:
                while not stop.is_set():
                    done = 0
                    try:
                        # Fresh SQL text (compiled by whichever plugin is active), cached
                        # SQL text, and a prepared statement in the engine.
                        assert conn.execute(f"SELECT {n} + {w} AS v").fetchone()[0] == n + w
                        conn.execute("INSERT INTO reload_load VALUES (%s, %s, %s)",
                                     (w * 10_000_000 + n, w, n))
                        got = conn.execute(
                            "SELECT count(*) FROM reload_load WHERE worker = %s", (w,),
                            prepare=True).fetchone()[0]
                        assert got == n + 1, (got, n + 1)
                        done += 3
                        # A transaction that spans reloads: statements of one block may
                        # be compiled by different plugins.
                        with conn.transaction():
                            conn.execute("UPDATE reload_load SET n = n + 1 WHERE id = %s",
                                         (w * 10_000_000 + n,))
                            time.sleep(0.005)
                            conn.execute("SELECT n FROM reload_load WHERE id = %s",
                                         (w * 10_000_000 + n,))
                        done += 4  # BEGIN, UPDATE, SELECT, COMMIT
                        if n % 10 == 0:
                            shown = conn.execute("SHOW rosetta.plugin").fetchone()[0]
                            done += 1
                            with lock:
                                stats["plugins_seen"].add(shown)
                        n += 1
                        with lock:
                            stats["statements"] += done
                            stats["transactions"] += 1
                    except psycopg.OperationalError as e:
                        with lock:
                            stats["drops"] += 1
                            stats["failures"].append(f"worker {w}: connection lost: {e!r}")
                        return
                    except Exception as e:  # noqa: BLE001 - every failure is counted
                        with lock:
                            stats["statements"] += done
                            stats["failures"].append(f"worker {w}: {e!r}")
        except psycopg.OperationalError as e:
            with lock:
                stats["drops"] += 1
                stats["failures"].append(f"worker {w}: cannot connect: {e!r}")

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    reload_times = []
    seen = []
    started = time.time()
    for i in range(RELOADS):
        target = b if i % 2 == 0 else a
        point(c.link, target)
        c.hup_gateway()
        reload_times.append(wait_for_plugin(c, sha256_prefix(target)))
        seen.append(active_plugin(c))
        time.sleep(0.1)
    elapsed = time.time() - started
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a client thread hung"
    assert c.gateway.poll() is None, "the gateway died"

    figures = (
        f"reload under load: {CLIENTS} clients, {RELOADS} reloads in {elapsed:.1f}s "
        f"(alternating 2 builds; reload visible after {min(reload_times):.2f}-"
        f"{max(reload_times):.2f}s, mean {sum(reload_times) / len(reload_times):.2f}s), "
        f"{stats['statements']} statements in {stats['transactions']} loops, "
        f"{len(stats['failures'])} failed, {stats['drops']} connections dropped, "
        f"{len(stats['plugins_seen'])} plugin builds seen by the clients")
    print("\n" + figures)
    assert stats["failures"] == [], stats["failures"][:5]
    assert stats["drops"] == 0
    assert stats["statements"] > CLIENTS * 50, figures
    # The reported build followed the file each time.
    for i, shown in enumerate(seen):
        target = b if i % 2 == 0 else a
        assert f"sha256={sha256_prefix(target)}" in shown, (i, shown)
    assert sha256_prefix(a) != sha256_prefix(b)
    assert len(stats["plugins_seen"]) == 2, stats["plugins_seen"]
    assert c.log().count("plugin reloaded: ") == RELOADS


def crashing_library(tmp: Path) -> Path | None:
    """A shared library whose constructor segfaults when loaded (needs a C compiler)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    src = tmp / "crash.c"
    src.write_text("__attribute__((constructor)) static void boom(void) "
                   "{ *(volatile int *)0 = 1; }\n")
    out = tmp / "crash.so"
    r = subprocess.run([cc, "-shared", "-fPIC", "-o", str(out), str(src)],
                       capture_output=True)
    return out if r.returncode == 0 else None


def test_bad_plugins_are_refused_and_the_old_one_serves(reload_cluster):
    c = reload_cluster
    a, _ = c.builds
    good = sha256_prefix(a)
    truncated = c.tmp / "truncated.so"
    truncated.write_bytes(a.read_bytes()[: a.stat().st_size // 2])
    not_elf = c.tmp / "not-elf.so"
    not_elf.write_text("#!/bin/sh\necho this is not a plugin\n")
    foreign = Path("/lib/x86_64-linux-gnu/libm.so.6")
    candidates = [("truncated copy", truncated), ("not an ELF file", not_elf),
                  ("missing file", c.tmp / "does-not-exist.so")]
    if foreign.exists():
        candidates.append(("a foreign shared library", foreign))
    mysql = plugin_path().with_name("librosetta_plugin_mysql.so")
    if mysql.exists():
        candidates.append(("another dialect's plugin", mysql))
    crash = crashing_library(c.tmp)
    if crash is not None:
        candidates.append(("a library that crashes when loaded", crash))

    with psycopg.connect(c.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE bad_reload (id INT PRIMARY KEY)")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO bad_reload VALUES (1)")
        for i, (what, path) in enumerate(candidates):
            refusals = c.log().count("plugin reload refused")
            point(c.link, path)
            c.hup_gateway()
            deadline = time.time() + 20
            while c.log().count("plugin reload refused") == refusals:
                assert time.time() < deadline, f"no refusal logged for {what}"
                assert c.gateway.poll() is None, f"the gateway died on {what}"
                time.sleep(0.05)
            assert c.gateway.poll() is None, f"the gateway died on {what}"
            # The open connection and its transaction go on, on the old plugin.
            conn.execute("INSERT INTO bad_reload VALUES (%s)", (i + 2,))
            shown = conn.execute("SHOW rosetta.plugin").fetchone()[0]
            assert f"sha256={good}" in shown, (what, shown)
            assert f"sha256={good}" in active_plugin(c), what
        conn.execute("COMMIT")
        count = conn.execute("SELECT count(*) FROM bad_reload").fetchone()[0]
        assert count == len(candidates) + 1
    # And a good build is still accepted afterwards.
    point(c.link, a)
    c.hup_gateway()
    deadline = time.time() + 20
    while c.log().count("plugin reloaded: ") == 0:
        assert time.time() < deadline
        time.sleep(0.05)
    print(f"\nrefused {len(candidates)} bad plugins: {', '.join(w for w, _ in candidates)}")


def test_plugin_check_command():
    ok = subprocess.run([str(BIN), "plugin", "check", str(plugin_path())],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok: rosetta-plugin-postgres "), ok.stdout
    bad = subprocess.run([str(BIN), "plugin", "check", str(BIN)],
                         capture_output=True, text=True)
    assert bad.returncode != 0
    assert "not a compatible Rosetta plugin" in bad.stderr


def test_rosetta_reload_signals_the_gateway(reload_cluster):
    c = reload_cluster
    _, b = c.builds
    point(c.link, b)
    r = subprocess.run([str(BIN), "reload", "--data-dir", str(c.data_dir)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"(pid {c.gateway.pid})" in r.stdout, r.stdout
    wait_for_plugin(c, sha256_prefix(b))
