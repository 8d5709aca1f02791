"""Helpers for the process-lifecycle tests (hot reload, shutdown, restart, sd_notify):
a cluster whose gateway loads its plugin through a symlink the test can retarget, keeps
its log, and can run with a NOTIFY_SOCKET of the test's own."""

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from conftest import BIN, Cluster, plugin_path, port_open, wait_for


def sha256_prefix(path: Path) -> str:
    """The digest prefix `SHOW rosetta.plugin` reports for a plugin file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def make_builds(tmp: Path) -> tuple[Path, Path, Path]:
    """Two different builds of the PostgreSQL plugin (the second has extra trailing bytes,
    which the loader ignores but which change its digest) and a symlink pointing at the
    first. Returns (build_a, build_b, link)."""
    a = tmp / "plugin-a.so"
    b = tmp / "plugin-b.so"
    shutil.copyfile(plugin_path(), a)
    shutil.copyfile(plugin_path(), b)
    with open(b, "ab") as f:
        f.write(b"\0rosetta test build B\0")
    link = tmp / "plugin.so"
    point(link, a)
    return a, b, link


def point(link: Path, target: Path):
    """Atomically retargets a symlink (what a deployment does)."""
    tmp = link.with_name(link.name + ".new")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)


class NotifyListener:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, path: Path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[str] = []

    def wait_for(self, needle: str, timeout=15.0) -> str:
        """Returns the first message (received from now on, or already buffered and not
        yet consumed) containing `needle`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            self.messages.append(msg)
            if needle in msg:
                return msg
        raise TimeoutError(f"no sd_notify message with {needle!r}; got {self.messages}")

    def close(self):
        self.sock.close()


class LifecycleCluster(Cluster):
    """A Cluster whose gateway takes a chosen plugin path and extra arguments, logs to a
    file, and may get a NOTIFY_SOCKET."""

    def __init__(self, data_dir: Path, plugin: Path | None = None):
        super().__init__(data_dir)
        self.plugin = plugin or plugin_path()
        self.gateway_log = data_dir.parent / "gateway.log"
        self.engine_log = data_dir.parent / "engine.log"
        self.env = dict(self.env, RUST_LOG="info")

    def start_engine(self, notify: Path | None = None):
        env = dict(self.env)
        if notify is not None:
            env["NOTIFY_SOCKET"] = str(notify)
        with open(self.engine_log, "a") as log:
            self.engine = subprocess.Popen(
                [str(BIN), "engine", "--data-dir", str(self.data_dir),
                 "--socket", str(self.socket)],
                env=env, stderr=log)

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

    def start_gateway(self, notify: Path | None = None, args=()):
        env = dict(self.env)
        if notify is not None:
            env["NOTIFY_SOCKET"] = str(notify)
        with open(self.gateway_log, "a") as log:
            self.gateway = subprocess.Popen(
                [str(BIN), "gateway", "postgres", "--listen", f"127.0.0.1:{self.port}",
                 "--engine-socket", str(self.socket), "--plugin", str(self.plugin),
                 "--pid-file", str(self.data_dir / "run" / "gateway-postgres.pid"), *args],
                env=env, stderr=log)
        wait_for(lambda: self.gateway.poll() is not None or port_open(self.port),
                 what="gateway port")
        if self.gateway.poll() is not None:
            raise RuntimeError(f"gateway exited with {self.gateway.returncode}")

    def hup_gateway(self):
        self.gateway.send_signal(signal.SIGHUP)

    def log(self) -> str:
        return self.gateway_log.read_text(errors="replace")
