"""Fixtures that start a real Rosetta cluster (engine + PostgreSQL gateway processes) on
free ports in a temporary directory, and tear it down, also on failure."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", "/var/tmp/rosetta-target"))
BIN = Path(os.environ.get("ROSETTA_BIN", TARGET / "release" / "rosetta"))
PASSWORD = "test-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def plugin_path() -> Path:
    for cand in (BIN.parent / "librosetta_plugin_postgres.so",
                 BIN.parent / "deps" / "librosetta_plugin_postgres.so"):
        if cand.exists():
            return cand
    raise RuntimeError(f"plugin not built next to {BIN}")


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Cluster:
    """An engine process and a PostgreSQL gateway process, started separately so that
    tests can kill and restart each one."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.socket = data_dir / "engine.sock"
        self.port = free_port()
        self.engine = None
        self.gateway = None
        self.env = dict(os.environ, ROSETTA_ADMIN_PASSWORD=PASSWORD, RUST_LOG="warn")

    def start_engine(self):
        self.engine = subprocess.Popen(
            [str(BIN), "engine", "--data-dir", str(self.data_dir), "--socket", str(self.socket)],
            env=self.env)

        def ready():
            if self.engine.poll() is not None:
                raise RuntimeError(f"engine exited with {self.engine.returncode}")
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(str(self.socket))
                return True
            except OSError:
                return False

        wait_for(ready, what="engine socket")

    def start_gateway(self):
        self.gateway = subprocess.Popen(
            [str(BIN), "gateway", "postgres", "--listen", f"127.0.0.1:{self.port}",
             "--engine-socket", str(self.socket), "--plugin", str(plugin_path())],
            env=self.env)
        wait_for(lambda: port_open(self.port), what="gateway port")

    def start(self):
        self.start_engine()
        self.start_gateway()
        return self

    def kill_engine(self):
        self.engine.send_signal(signal.SIGKILL)
        self.engine.wait()

    def stop(self):
        for p in (self.gateway, self.engine):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    def dsn(self, db="rosetta") -> str:
        return f"host=127.0.0.1 port={self.port} user=admin password={PASSWORD} dbname={db}"

    def psql(self, sql: str, db="rosetta", check=True, args=()):
        env = dict(os.environ, PGPASSWORD=PASSWORD)
        r = subprocess.run(
            ["psql", "-X", "-h", "127.0.0.1", "-p", str(self.port), "-U", "admin", "-d", db,
             "-v", "ON_ERROR_STOP=0", *args],
            input=sql, capture_output=True, text=True, env=env, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"psql failed: {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r


@pytest.fixture(scope="module")
def cluster():
    tmp = Path(tempfile.mkdtemp(prefix="rosetta-test-"))
    c = Cluster(tmp / "data")
    try:
        c.start()
        yield c
    finally:
        c.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def fresh_cluster():
    tmp = Path(tempfile.mkdtemp(prefix="rosetta-test-"))
    c = Cluster(tmp / "data")
    try:
        yield c
    finally:
        c.stop()
        shutil.rmtree(tmp, ignore_errors=True)
