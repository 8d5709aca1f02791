"""Hostile wire input: malformed, truncated, oversized and non-UTF-8 messages get an error
for that client only; the gateway, the engine and other sessions carry on."""

import socket
import struct

import psycopg


def raw(cluster) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", cluster.port), timeout=5)
    return s


def drain(s: socket.socket) -> bytes:
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def healthy(cluster):
    with psycopg.connect(cluster.dsn(), autocommit=True) as c:
        assert c.execute("SELECT 41 + 1").fetchone() == (42,)


def test_garbage_startup_packets(cluster):
    with psycopg.connect(cluster.dsn(), autocommit=True) as bystander:
        for payload in [
            b"\x00\x00\x00\x03",                          # length smaller than itself
            b"\x7f\xff\xff\xff" + b"x" * 16,              # 2 GiB length
            b"\x00\x00\x00\x10\x00\x03\x00\x00user\x00",  # truncated startup
            b"GET / HTTP/1.1\r\n\r\n",                     # wrong protocol
            struct.pack("!ii", 8, 1234) ,                  # unknown protocol code
            b"",
        ]:
            s = raw(cluster)
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            drain(s)
            s.close()
        # The other session is untouched.
        assert bystander.execute("SELECT 1").fetchone() == (1,)
    healthy(cluster)


def test_invalid_utf8_and_huge_query_fail_only_that_statement(cluster):
    with psycopg.connect(cluster.dsn(), autocommit=True) as c:
        cur = c.cursor()
        try:
            cur.execute(b"SELECT '\xff\xfe'")
        except (psycopg.Error, UnicodeError):
            pass
        huge = "SELECT " + "+".join(["1"] * 200_000)
        try:
            cur.execute(huge)
        except psycopg.Error:
            pass
        deep = "SELECT " + "(" * 5000 + "1" + ")" * 5000
        try:
            cur.execute(deep)
            raise AssertionError("5000 levels of nesting should be refused")
        except psycopg.Error as e:
            assert e.sqlstate is not None
    healthy(cluster)


def test_engine_socket_rejects_garbage_frames(cluster):
    for payload in [b"\xff\xff\xff\xff", b"\x00\x00\x00\x05\xc1\xc1\xc1\xc1\xc1",
                    b"\x00\x00\x00\x10abc"]:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        s.connect(str(cluster.socket))
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        drain(s)
        s.close()
    healthy(cluster)


def pack(v) -> bytes:
    """A minimal MessagePack encoder (maps, strings, small ints, binaries, lists)."""
    if isinstance(v, dict):
        out = bytes([0x80 | len(v)])
        for k, x in v.items():
            out += pack(k) + pack(x)
        return out
    if isinstance(v, str):
        b = v.encode()
        return bytes([0xA0 | len(b)]) + b if len(b) < 32 else bytes([0xD9, len(b)]) + b
    if isinstance(v, bool):
        return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        return bytes([v]) if 0 <= v < 128 else b"\xcd" + struct.pack("!H", v)
    if isinstance(v, bytes):
        return bytes([0xC4, len(v)]) + v
    if isinstance(v, list):
        return bytes([0x90 | len(v)]) + b"".join(pack(x) for x in v)
    raise TypeError(v)


def frame(v) -> bytes:
    body = pack(v)
    return struct.pack("!I", len(body)) + body


def test_bad_bytecode_is_an_error_not_a_crash(cluster):
    """A peer that speaks the frame protocol but sends a broken program gets an error for
    that request; its session and the engine go on."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(str(cluster.socket))
    s.sendall(frame({"Startup": {"protocol_version": 1, "user": "admin", "database": "rosetta",
                                 "dialect": "Postgres", "application": "hostile-test"}}))
    ready = s.recv(65536)
    assert b"Ready" in ready
    for program in [b"", b"\x93\x01\x02", b"\xc1" * 10, b"\x81\xa7version\xcd\xff\xff"]:
        s.sendall(frame({"Execute": {"program": program, "params": [], "max_rows": 0}}))
        reply = s.recv(65536)
        assert b"Error" in reply and b"XX000" in reply, reply
    s.close()
    healthy(cluster)
