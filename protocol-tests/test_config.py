"""The configuration file (issue 5): `rosetta up --config FILE` takes its data directory,
ports, admin password and gateway options from the file and hands them on to the
processes it starts; an unknown key is refused with the file's name."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from conftest import BIN, free_port, port_open, wait_for

PASSWORD = "from-the-config-file"


def clean_env():
    """The test's environment without ROSETTA_* variables (they would beat the file)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSETTA_")}
    env["RUST_LOG"] = "warn"
    return env


def stop(proc):
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def tmp():
    d = Path(tempfile.mkdtemp(prefix="rosetta-config-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_config_file_sets_ports_data_dir_and_gateway_options(tmp):
    pg_port, mysql_port, fb_port = free_port(), free_port(), free_port()
    config = tmp / "etc" / "rosetta.toml"
    config.parent.mkdir()
    # data_dir is relative: relative to the file's directory, not to the working directory.
    config.write_text(
        f'data_dir = "../data"\n'
        f'listen = "127.0.0.1"\n'
        f'admin_password = "{PASSWORD}"\n'
        f'shutdown_timeout = 5\n'
        f'[postgres]\nport = {pg_port}\nmax_message_size = 100000\n'
        f'[mysql]\nport = {mysql_port}\n'
        f'[firebird]\nport = {fb_port}\n')
    elsewhere = tmp / "cwd"
    elsewhere.mkdir()
    up = subprocess.Popen([str(BIN), "up", "--config", str(config)], cwd=elsewhere,
                          env=clean_env(), stdout=subprocess.PIPE, text=True)
    try:
        def ready():
            if up.poll() is not None:
                raise RuntimeError(f"rosetta up exited with {up.returncode}")
            return port_open(pg_port) and port_open(mysql_port) and port_open(fb_port)

        wait_for(ready, timeout=120, what="the gateways of rosetta up")
        data = tmp / "data"
        assert (data / "engine.sock").exists(), "the engine runs on the file's data_dir"
        assert (data / "run" / "gateway-postgres.pid").exists()
        assert not (elsewhere / "rosetta-data").exists()

        dsn = f"host=127.0.0.1 port={pg_port} user=admin password={PASSWORD} dbname=rosetta"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE configured (id INT PRIMARY KEY, note TEXT)")
            conn.execute("INSERT INTO configured VALUES (1, 'small enough')")
            assert conn.execute("SELECT note FROM configured").fetchone() == ("small enough",)
        # [postgres] max_message_size reached the gateway (through --config): a
        # 200 kB statement is refused, a small one on a new connection still works.
        with pytest.raises(psycopg.Error):
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("SELECT %s::text", ("x" * 200_000,))
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM configured").fetchone() == (1,)
    finally:
        stop(up)
    out = up.stdout.read()
    assert up.returncode == 0, out
    assert f"data directory {tmp / 'data'}" in out, out
    assert f"127.0.0.1:{pg_port}" in out, out
    assert PASSWORD in out, out


def test_flag_and_environment_beat_the_file(tmp):
    file_port, env_port, flag_port = free_port(), free_port(), free_port()
    config = tmp / "rosetta.toml"
    config.write_text(f'data_dir = "data"\n[postgres]\nport = {file_port}\n'
                      f'[mysql]\nport = {free_port()}\n')
    env = dict(clean_env(), ROSETTA_POSTGRES_PORT=str(env_port), ROSETTA_ADMIN_PASSWORD="x")
    for extra, port in (([], env_port), (["--pg-port", str(flag_port)], flag_port)):
        up = subprocess.Popen([str(BIN), "up", "--config", str(config), *extra], env=env,
                              stdout=subprocess.DEVNULL)
        try:
            def ready():
                if up.poll() is not None:
                    raise RuntimeError(f"rosetta up exited with {up.returncode}")
                return port_open(port)

            wait_for(ready, timeout=120, what=f"the postgres gateway on {port}")
            assert not port_open(file_port)
        finally:
            stop(up)
        assert up.returncode == 0
        time.sleep(0.2)


def test_unknown_key_is_refused_with_the_file_name(tmp):
    config = tmp / "rosetta.toml"
    config.write_text('data_dir = "data"\n[postgres]\nprot = 5432\n')
    r = subprocess.run([str(BIN), "up", "--config", str(config)], env=clean_env(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert str(config) in r.stderr and "prot" in r.stderr, r.stderr
    assert not (tmp / "data").exists(), "nothing is started on a bad file"
    # ROSETTA_CONFIG names the file too.
    r = subprocess.run([str(BIN), "reload"], env=dict(clean_env(), ROSETTA_CONFIG=str(config)),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and str(config) in r.stderr, r.stderr
