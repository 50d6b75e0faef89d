"""What one `forge serve` process accepts from a connection: the request head bounded in size
(431) and in time, idle keep-alive connections closed, and a bound on open connections."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from forge.db import Database
from tests.served import ForgeServer

DEADLINE = 20.0  # generous: the server's own limits are 1-2 s in these tests


@pytest.fixture
def server(database_url: str, database: Database, tmp_path: Path) -> Iterator[ForgeServer]:
    env = {
        "FORGE_HEADER_TIMEOUT_SECONDS": "2",
        "FORGE_KEEPALIVE_TIMEOUT_SECONDS": "1",
        "FORGE_MAX_CONNECTIONS": "4",
    }
    with ForgeServer(database_url, tmp_path / "data", env=env) as started:
        started.http.close()  # hold no pooled connection of our own
        yield started


def _connect(server: ForgeServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (raises if it does not within the deadline)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _head(header_bytes: int) -> bytes:
    return (
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
        + b"a" * header_bytes
        + b"\r\nConnection: close\r\n\r\n"
    )


def _status_and_body(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def test_a_head_just_under_32_kib_is_served(server: ForgeServer) -> None:
    with _connect(server) as sock:
        sock.sendall(_head(31 * 1024))
        status, _, _ = _status_and_body(_read_all(sock))
    assert status == 200


def test_headers_over_32_kib_get_431_in_the_error_shape(server: ForgeServer) -> None:
    with _connect(server) as sock:
        sock.sendall(_head(33 * 1024))
        status, headers, body = _status_and_body(_read_all(sock))
    assert status == 431
    document = json.loads(body)
    assert document["error"]["code"] == "header_fields_too_large"
    assert headers["request-id"] == document["request_id"]
    assert headers["connection"] == "close"


def test_a_huge_header_is_cut_short_and_does_not_stall_others(server: ForgeServer) -> None:
    sent = 0
    answer: list[bytes] = []
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: ")
        reader = threading.Thread(target=lambda: answer.append(_read_all(sock)))
        reader.start()
        try:
            while sent < 64 * 1024 * 1024 and reader.is_alive():
                sock.sendall(b"a" * 65536)
                sent += 65536
        except OSError:
            pass  # the server closed the connection: what we wanted
        reader.join(DEADLINE)
        # Meanwhile another client is served.
        with _connect(server) as other:
            other.sendall(_head(10))
            assert _status_and_body(_read_all(other))[0] == 200
    assert _status_and_body(answer[0])[0] == 431
    assert sent < 64 * 1024 * 1024  # cut off long before the whole header was sent


def test_a_head_that_does_not_arrive_in_time_is_closed(server: ForgeServer) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        assert _read_all(sock) == b""  # closed by the server, no response


def test_a_head_dripped_byte_by_byte_is_closed_too(server: ForgeServer) -> None:
    deadline = time.monotonic() + DEADLINE
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        sock.settimeout(0.2)
        closed = False
        while not closed and time.monotonic() < deadline:
            try:
                sock.sendall(b"X")  # each byte would reset an idle timer, not the deadline
                closed = sock.recv(1) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True
    assert closed


def test_an_idle_keep_alive_connection_is_closed(server: ForgeServer) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        raw = _read_all(sock)  # returns once the server closes the idle connection
    assert raw.startswith(b"HTTP/1.1 200")


def test_connections_past_the_bound_are_refused_with_503(server: ForgeServer) -> None:
    held = [_connect(server) for _ in range(4)]
    try:
        # The held ones are open on the server's side once it answers one of them.
        held[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert held[0].recv(12).startswith(b"HTTP/1.1 200")
        with _connect(server) as extra:
            status, _, body = _status_and_body(_read_all(extra))
        assert status == 503
        assert json.loads(body)["error"]["code"] == "service_unavailable"
    finally:
        for sock in held:
            sock.close()
    with _connect(server) as again:  # capacity returns as connections close
        again.sendall(_head(10))
        deadline = time.monotonic() + DEADLINE
        status = _status_and_body(_read_all(again))[0]
        while status == 503 and time.monotonic() < deadline:
            with _connect(server) as retry:
                retry.sendall(_head(10))
                status = _status_and_body(_read_all(retry))[0]
    assert status == 200
