"""Fixtures that start a real Rosetta cluster (engine + PostgreSQL gateway processes, and
with `mysql_cluster` a MySQL gateway too) on free ports in a temporary directory, and
tear it down, also on failure."""

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


def plugin_path(name: str = "postgres") -> Path:
    for cand in (BIN.parent / f"librosetta_plugin_{name}.so",
                 BIN.parent / "deps" / f"librosetta_plugin_{name}.so"):
        if cand.exists():
            return cand
    raise RuntimeError(f"plugin {name} not built next to {BIN}")


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
    """An engine process and a PostgreSQL gateway process (and, with `with_mysql`, a MySQL
    gateway process), started separately so that tests can kill and restart each one."""

    def __init__(self, data_dir: Path, with_mysql: bool = False, with_firebird: bool = False):
        self.data_dir = data_dir
        self.socket = data_dir / "engine.sock"
        self.port = free_port()
        self.mysql_port = free_port() if with_mysql else None
        self.engine = None
        self.gateway = None
        self.mysql_gateway = None
        self.firebird_port = free_port() if with_firebird else None
        self.firebird_gateway = None
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

    def start_mysql_gateway(self):
        self.mysql_gateway = subprocess.Popen(
            [str(BIN), "gateway", "mysql", "--listen", f"127.0.0.1:{self.mysql_port}",
             "--engine-socket", str(self.socket), "--plugin", str(plugin_path("mysql"))],
            env=self.env)
        wait_for(lambda: port_open(self.mysql_port), what="mysql gateway port")

    def start_firebird_gateway(self):
        self.firebird_gateway = subprocess.Popen(
            [str(BIN), "gateway", "firebird", "--listen", f"127.0.0.1:{self.firebird_port}",
             "--engine-socket", str(self.socket), "--plugin", str(plugin_path("firebird"))],
            env=self.env)
        wait_for(lambda: port_open(self.firebird_port), what="firebird gateway port")

    def start(self):
        self.start_engine()
        self.start_gateway()
        if self.mysql_port is not None:
            self.start_mysql_gateway()
        if self.firebird_port is not None:
            self.start_firebird_gateway()
        return self

    def kill_engine(self):
        self.engine.send_signal(signal.SIGKILL)
        self.engine.wait()

    def stop(self):
        for p in (self.firebird_gateway, self.mysql_gateway, self.gateway, self.engine):
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

    def mysql(self, sql: str, db="rosetta", check=True, args=()):
        """Runs `sql` through the real `mariadb` client (batch mode, `--force` so that
        an error does not stop the script)."""
        r = subprocess.run(
            ["mariadb", "-h", "127.0.0.1", "-P", str(self.mysql_port), "-u", "admin",
             f"-p{PASSWORD}", "-D", db, "--force", *args],
            input=sql, capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"mariadb failed: {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r

    def firebird_dsn(self, db="rosetta") -> str:
        """The isql-fb connect string of the Firebird gateway (`HOST/PORT:alias`)."""
        return f"127.0.0.1/{self.firebird_port}:{db}"

    def isql(self, sql: str, db="rosetta", user="admin", password=PASSWORD, args=(), env=None):
        """Runs `sql` through the real `isql-fb` (Firebird 3) client; returns the result
        (isql exits 0 even after statement errors unless -bail is given)."""
        return subprocess.run(
            ["isql-fb", "-q", "-user", user, "-password", password, *args,
             self.firebird_dsn(db)],
            input=sql, capture_output=True, text=True, timeout=60,
            env=dict(os.environ, **(env or {})))

    def firebirdsql(self, db="rosetta", **kwargs):
        import firebirdsql
        kwargs.setdefault("user", "admin")
        kwargs.setdefault("password", PASSWORD)
        return firebirdsql.connect(host="127.0.0.1", port=self.firebird_port, database=db,
                                   **kwargs)

    def pymysql(self, db="rosetta", **kwargs):
        import pymysql
        return pymysql.connect(host="127.0.0.1", port=self.mysql_port, user="admin",
                               password=PASSWORD, database=db, **kwargs)


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


@pytest.fixture(scope="module")
def mysql_cluster():
    """A cluster with both the PostgreSQL and the MySQL gateway."""
    tmp = Path(tempfile.mkdtemp(prefix="rosetta-test-"))
    c = Cluster(tmp / "data", with_mysql=True)
    try:
        c.start()
        yield c
    finally:
        c.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def firebird_cluster():
    """A cluster with the PostgreSQL and the Firebird gateway."""
    tmp = Path(tempfile.mkdtemp(prefix="rosetta-test-"))
    c = Cluster(tmp / "data", with_firebird=True)
    try:
        c.start()
        yield c
    finally:
        c.stop()
        shutil.rmtree(tmp, ignore_errors=True)
