"""The test HTTP server itself: a client that resets its connection ends it, quietly.

Web tools cap what they read and give up on slow servers; the client's socket then closes with
unread data and the kernel sends a reset. That is a connection's normal end, not a server error
to print to the suite's stderr.
"""

from __future__ import annotations

import socket
import struct
import time
import urllib.request

import pytest

from tests.support.http_servers import LocalHttpServer, Reply


def _reset_after_reading_a_little(server: LocalHttpServer, path: str) -> None:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        sock.recv(100)
        time.sleep(0.2)  # the server has written the whole body and waits for the next request
        # Linger 0: close() sends RST, as a client closing with unread data does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_a_client_reset_ends_the_connection_quietly(capfd: pytest.CaptureFixture[str]) -> None:
    with LocalHttpServer() as server:
        server.route("/big", Reply(body=b"x" * 200_000))
        server.route("/small", Reply(body=b"ok"))
        for _ in range(3):
            _reset_after_reading_a_little(server, "/big")
        time.sleep(0.2)  # the handler threads see the resets
        with urllib.request.urlopen(server.url("/small"), timeout=5) as answer:
            assert answer.read() == b"ok"  # still serving
    err = capfd.readouterr().err
    assert "Traceback" not in err, err
    assert server.count("/big") == 3
