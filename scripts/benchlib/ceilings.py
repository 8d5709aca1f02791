"""The machine's physical limits, measured in the same run as the benchmarks so that every
figure can be read against them: loopback TCP round trips per second (the most any
client/server statement loop can reach) and fsyncs per second on the filesystem that holds
the data directories (the most any durable single-commit loop can reach without sharing
fsyncs between commits)."""

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _build_pingpong(tmp):
    """Compiles pingpong.c into `tmp`; None if there is no C compiler."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        return None
    exe = tmp / "pingpong"
    r = subprocess.run([cc, "-O2", "-pthread", "-o", str(exe), str(HERE / "pingpong.c")],
                       capture_output=True, text=True, timeout=120)
    return exe if r.returncode == 0 else None


def _python_pingpong(conns, seconds):
    """Fallback when there is no C compiler (slower: Python's own overhead is included)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(conns)
    port = listener.getsockname()[1]
    stop = threading.Event()
    counts = [0] * conns

    def echo(sock):
        with sock:
            while True:
                data = sock.recv(64)
                if not data:
                    return
                sock.sendall(data)

    def client(i):
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            msg = b"x" * 64
            while not stop.is_set():
                s.sendall(msg)
                got = 0
                while got < 64:
                    chunk = s.recv(64 - got)
                    if not chunk:
                        return
                    got += len(chunk)
                counts[i] += 1

    threads = []
    for i in range(conns):
        t = threading.Thread(target=client, args=(i,))
        t.start()
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        e = threading.Thread(target=echo, args=(conn,), daemon=True)
        e.start()
        threads.append(t)
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    listener.close()
    return sum(counts) / seconds


def loopback_round_trips(tmp, seconds, conns_list=(1, 8)):
    """{"1": rt/s, "8": rt/s, "tool": "..."} for 64-byte TCP ping-pong on 127.0.0.1."""
    exe = _build_pingpong(tmp)
    out = {"tool": "C pingpong" if exe else "Python pingpong (no C compiler)"}
    for n in conns_list:
        if exe:
            r = subprocess.run([str(exe), str(n), str(seconds)], capture_output=True,
                               text=True, timeout=seconds + 30)
            if r.returncode != 0:
                out[str(n)] = None
                continue
            out[str(n)] = float(r.stdout.split()[1])
        else:
            out[str(n)] = _python_pingpong(n, seconds)
    return out


def fsyncs(directory, seconds, threads_list=(1, 8), sync=os.fsync, overwrite=False):
    """{"1": syncs/s, "8": syncs/s}: each thread writes 4 KiB to its own file and syncs it
    (`sync`: os.fsync, or os.fdatasync, which PostgreSQL's and RocksDB's logs use), in a
    loop, in `directory` (the filesystem of the data directories). Appending (the default)
    grows the file, so every sync also commits the new size to the filesystem journal;
    `overwrite` rewrites a preallocated 4 MiB file instead, as PostgreSQL does with its
    recycled WAL segments, where fdatasync has no metadata to write."""
    out = {}
    block = b"\0" * 4096
    span = 1024  # blocks in the preallocated file
    for n in threads_list:
        counts = [0] * n
        deadline = time.monotonic() + seconds

        def loop(i):
            path = Path(directory) / f"fsync-probe-{n}-{i}"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                if overwrite:
                    os.write(fd, block * span)
                    os.fsync(fd)
                while time.monotonic() < deadline:
                    if overwrite:
                        os.pwrite(fd, block, (counts[i] % span) * 4096)
                    else:
                        os.write(fd, block)
                    sync(fd)
                    counts[i] += 1
            finally:
                os.close(fd)
                path.unlink(missing_ok=True)

        ts = [threading.Thread(target=loop, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        out[str(n)] = sum(counts) / seconds
    return out
