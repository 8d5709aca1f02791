"""The servers a benchmark run starts: one Rosetta cluster (all three gateways) and the
reference servers from Debian's packages (PostgreSQL 15, MariaDB, Firebird 3), each on
private loopback ports in its own temporary directory, each stopped by pid — also when the
run fails.

Every server exposes `roots()`: the pids whose process trees are "the server" for CPU and
memory accounting (procstat.TreeMonitor)."""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PASSWORD = "bench"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
MARIADBD = Path("/usr/sbin/mariadbd")
FIREBIRD = Path("/usr/sbin/firebird")
FB_LIB = Path("/usr/lib/x86_64-linux-gnu/firebird/3.0")
FB_SYSTEM_SECURITY_DB = Path("/var/lib/firebird/3.0/system/security3.fdb")


class ServerError(RuntimeError):
    """A server could not be started or prepared; the run reports it and carries on."""


def free_port():
    """A loopback port free right now (the kernel's choice), for a private server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    """True when something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_port(port, timeout=60, proc=None):
    """Waits until a server listens; fails early if `proc` (the server) has exited."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if port_open(port):
            return
        if proc is not None and proc.poll() is not None:
            raise ServerError(f"server exited with {proc.returncode} before port {port} opened")
        time.sleep(0.1)
    raise ServerError(f"port {port} never opened")


def _stop_pid(pid, timeout=20):
    """SIGTERM, then SIGKILL after `timeout` seconds; pid only, never by name."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        try:
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                return
        except ChildProcessError:
            pass
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _run(args, what, timeout=120, **kw):
    """Runs a setup command; its failure becomes a ServerError naming `what`."""
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if r.returncode != 0:
        raise ServerError(f"{what} failed ({r.returncode}): {(r.stderr or r.stdout).strip()[-500:]}")
    return r


def _git_state():
    """', tree at COMMIT (+ uncommitted changes)' of the checkout, or '' outside git."""
    root = Path(__file__).resolve().parent.parent.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    if head.returncode != 0:
        return ""
    return f", tree at {head.stdout.strip()}" + (" + uncommitted changes" if dirty.stdout.strip() else "")


class Rosetta:
    """`rosetta up` from a private copy of the binary and plugins (other engineers rebuild
    the target directory during a run), with PostgreSQL, MySQL and Firebird ports."""

    name = "rosetta"

    def __init__(self, tmp, build_dir):
        self.tmp = tmp
        self.build_dir = Path(build_dir)
        self.bin_dir = tmp / "rosetta-bin"
        self.dir = tmp / "rosetta-data"
        self.pg_port = free_port()
        self.mysql_port = free_port()
        self.fb_port = free_port()
        self.user = "admin"
        self.db = "rosetta"
        self.proc = None
        self.version = ""

    def stage(self):
        """Copies the binary and every dialect plugin next to each other (the CLI finds
        plugins next to its executable)."""
        self.bin_dir.mkdir()
        exe = self.build_dir / "rosetta"
        if not exe.exists():
            raise ServerError(f"{exe} not built (cargo build --release -p rosetta-cli)")
        shutil.copy2(exe, self.bin_dir / "rosetta")
        for so in self.build_dir.glob("librosetta_plugin_*.so"):
            shutil.copy2(so, self.bin_dir / so.name)
        r = subprocess.run([str(self.bin_dir / "rosetta"), "--version"], capture_output=True,
                           text=True, timeout=30)
        built = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(exe.stat().st_mtime))
        self.version = f"{r.stdout.strip()}, binary built {built}{_git_state()}"

    def plugin_problems(self):
        """Why a gateway may be missing: plugins refused by `rosetta plugin check` (a
        plugin built against another ABI than the binary makes its gateway, and `up`,
        exit). Empty when all pass."""
        stale = []
        for so in sorted(self.bin_dir.glob("librosetta_plugin_*.so")):
            r = subprocess.run([str(self.bin_dir / "rosetta"), "plugin", "check", str(so)],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                stale.append(so.name)
        if not stale:
            return ""
        crates = " ".join(f"-p rosetta-plugin-{n[len('librosetta_plugin_'):-3]}" for n in stale)
        return (f"{', '.join(stale)} refused by `rosetta plugin check` (stale build? "
                f"cargo build --release {crates}, or scripts/bench --build)")

    def start(self):
        try:
            self._start()
        except ServerError as e:
            problems = self.plugin_problems()
            raise ServerError(f"{e}; {problems}" if problems else str(e)) from None

    def _start(self):
        env = dict(os.environ, ROSETTA_ADMIN_PASSWORD=PASSWORD, RUST_LOG="warn")
        self.log = open(self.tmp / "rosetta.log", "w")
        self.proc = subprocess.Popen(
            [str(self.bin_dir / "rosetta"), "up", "--data-dir", str(self.dir),
             "--pg-port", str(self.pg_port), "--mysql-port", str(self.mysql_port),
             "--firebird-port", str(self.fb_port)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_port(self.pg_port, proc=self.proc)
        # `up` stops the whole cluster when one gateway fails to start: give the MySQL
        # gateway its moment, then make sure everything is still up.
        self.has_port(self.mysql_port, timeout=5)
        time.sleep(0.5)
        if self.proc.poll() is not None:
            raise ServerError(f"`rosetta up` exited with {self.proc.returncode} after start: "
                              f"{self.log_tail()}")

    def log_tail(self, n=300):
        try:
            text = (self.tmp / "rosetta.log").read_text(errors="replace").strip()
        except OSError:
            return ""
        return text[-n:].replace("\n", " ")

    def has_port(self, port, timeout=10):
        """True once a gateway listens on `port` (the Firebird gateway may not exist yet)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if port_open(port):
                return True
            time.sleep(0.2)
        return False

    def roots(self):
        """The process tree that is this server (procstat.TreeMonitor)."""
        return [self.proc.pid] if self.proc else []

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class Postgres:
    """PostgreSQL 15 (initdb, trust auth, fsync on: the defaults)."""

    name = "postgresql-15"

    def __init__(self, tmp):
        self.dir = tmp / "pg"
        self.port = free_port()
        self.user = "postgres"
        self.db = "postgres"
        self.pid = None
        self.version = ""

    def _as_postgres(self, args):
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--"] + args
        return args

    def start(self):
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        _run(self._as_postgres([str(PG_BIN / "initdb"), "-D", str(self.dir / "data"),
                                "-U", "postgres", "--auth=trust"]), "initdb")
        _run(self._as_postgres([
            str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"),
            "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "-w",
            "start"]), "pg_ctl start")
        wait_port(self.port)
        self.pid = int((self.dir / "data" / "postmaster.pid").read_text().split()[0])
        self.version = _run([str(PG_BIN / "postgres"), "--version"], "postgres --version").stdout.strip()

    def roots(self):
        """The postmaster: its backends are its children."""
        return [self.pid] if self.pid else []

    def stop(self):
        if self.pid:
            _stop_pid(self.pid)
            self.pid = None


class MariaDB:
    """mariadbd from Debian's package, its own datadir, socket and port, bound to
    127.0.0.1, InnoDB with the durable defaults (flush at every commit)."""

    name = "mariadb"

    def __init__(self, tmp):
        self.dir = tmp / "mariadb"
        self.port = free_port()
        self.user = "admin"
        self.db = "sbtest"
        self.proc = None
        self.version = ""

    def start(self):
        self.dir.mkdir(parents=True)
        _run(["mariadb-install-db", "--no-defaults", f"--datadir={self.dir / 'data'}",
              "--user=root", "--auth-root-authentication-method=socket", "--skip-test-db"],
             "mariadb-install-db", timeout=300)
        self.log = open(self.dir / "stdout.log", "w")
        self.proc = subprocess.Popen(
            [str(MARIADBD), "--no-defaults", f"--datadir={self.dir / 'data'}",
             f"--socket={self.dir / 'sock'}", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--pid-file={self.dir / 'pid'}",
             f"--log-error={self.dir / 'error.log'}", "--user=root", "--skip-name-resolve",
             "--innodb-buffer-pool-size=256M", "--max-connections=200"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_port(self.port, proc=self.proc)
        r = _run(["mariadb", "--no-defaults", "-uroot", f"--socket={self.dir / 'sock'}", "-N",
                  "-e", f"CREATE DATABASE {self.db}; "
                        f"CREATE USER '{self.user}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'; "
                        f"GRANT ALL ON *.* TO '{self.user}'@'127.0.0.1'; SELECT version()"],
                 "mariadb user setup")
        self.version = "MariaDB " + r.stdout.strip()

    def roots(self):
        """The process tree that is this server (procstat.TreeMonitor)."""
        return [self.proc.pid] if self.proc else []

    def stop(self):
        if self.proc and self.proc.poll() is None:
            _stop_pid(self.proc.pid, timeout=60)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


class Firebird:
    """Firebird 3 SuperServer with a private root directory: its own firebird.conf
    (port, bind address, security database), databases.conf and security database
    (copied from the package's empty one, SYSDBA's password set through the embedded
    engine); lock and temp files in the run's directory. The package's plugins, intl and
    messages are linked in."""

    name = "firebird-3"

    def __init__(self, tmp):
        self.dir = tmp / "firebird"
        self.port = free_port()
        self.user = "SYSDBA"
        self.db = "bench"
        self.proc = None
        self.version = ""

    def env(self):
        return dict(os.environ, FIREBIRD=str(self.dir / "root"),
                    FIREBIRD_LOCK=str(self.dir / "lock"), FIREBIRD_TMP=str(self.dir / "tmp"))

    def start(self):
        root = self.dir / "root"
        for d in (root, self.dir / "data", self.dir / "lock", self.dir / "tmp"):
            d.mkdir(parents=True)
        for item in ("plugins", "intl", "UDF", "lib", "firebird.msg"):
            if (FB_LIB / item).exists():
                (root / item).symlink_to(FB_LIB / item)
        for conf in ("plugins.conf", "fbintl.conf"):
            src = Path("/etc/firebird/3.0") / conf
            if src.exists():
                shutil.copy(src, root / conf)
        sec = self.dir / "data" / "security3.fdb"
        (root / "firebird.conf").write_text(
            f"RemoteServicePort = {self.port}\n"
            "RemoteBindAddress = 127.0.0.1\n"
            f"SecurityDatabase = {sec}\n"
            f"IpcName = FIREBIRD_BENCH_{self.port}\n"
            "ServerMode = Super\n"
            "AuthServer = Srp256, Srp\n"
            "UserManager = Srp\n")
        (root / "databases.conf").write_text(f"{self.db} = {self.dir / 'data' / 'bench.fdb'}\n")
        shutil.copy(FB_SYSTEM_SECURITY_DB, sec)
        _run(["isql-fb", "-user", "SYSDBA", "-q", str(sec)], "firebird security setup",
             input=f"CREATE OR ALTER USER SYSDBA PASSWORD '{PASSWORD}'; COMMIT;\n",
             env=self.env())
        _run(["isql-fb", "-user", "SYSDBA", "-q"], "firebird create database",
             input=f"CREATE DATABASE '{self.dir / 'data' / 'bench.fdb'}';\n", env=self.env())
        self.log = open(self.dir / "stdout.log", "w")
        self.proc = subprocess.Popen([str(FIREBIRD)], env=self.env(), stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_port(self.port, proc=self.proc)
        r = subprocess.run([str(FIREBIRD), "-z"], capture_output=True, text=True, timeout=10,
                           env=self.env())
        self.version = (r.stdout.strip().splitlines() or ["Firebird 3"])[0]

    def roots(self):
        """The process tree that is this server (procstat.TreeMonitor)."""
        return [self.proc.pid] if self.proc else []

    def stop(self):
        if self.proc and self.proc.poll() is None:
            _stop_pid(self.proc.pid)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
