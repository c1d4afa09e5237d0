"""Real HTTP servers on 127.0.0.1 for tests and benchmarks (threads; no internet involved).

`LocalHttpServer` serves a route table: each route is a fixed `Reply` or a function of the
`Request`. Replies can be delayed (slow servers), streamed slowly, carry any header (redirects,
Retry-After, charsets) and any bytes. Every request is recorded, so tests can count them::

    with LocalHttpServer() as server:
        server.route("/page", Reply.html("<h1>Hi</h1>"))
        fetch(server.url("/page"))
        assert server.count("/page") == 1
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["LocalHttpServer", "Reply", "Request"]


@dataclass(frozen=True)
class Request:
    """A request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    """What the server answers.

    Attributes:
        status: HTTP status code.
        body: the bytes to send (or an iterable of chunks, sent with ``chunk_delay`` between).
        headers: response headers (Content-Length is added for byte bodies).
        delay: seconds to wait before answering at all.
        chunk_delay: seconds between chunks of an iterable body.
    """

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunk_delay: float = 0.0

    @classmethod
    def html(
        cls, text: str, *, charset: str = "utf-8", headers: dict[str, str] | None = None, **kw: Any
    ) -> Reply:
        return cls(
            body=text.encode(charset),
            headers={"Content-Type": f"text/html; charset={charset}", **(headers or {})},
            **kw,
        )

    @classmethod
    def json(
        cls, data: Any, *, status: int = 200, headers: dict[str, str] | None = None, **kw: Any
    ) -> Reply:
        return cls(
            status=status,
            body=json.dumps(data).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
            **kw,
        )

    @classmethod
    def redirect(cls, location: str, *, status: int = 302) -> Reply:
        return cls(status=status, headers={"Location": location})


Handler = Callable[[Request], Reply]


class LocalHttpServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 with a route table and a request log."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._routes: dict[str, Reply | Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self.host = host
        self.port = int(self._httpd.server_address[1])

    def route(self, path: str, reply: Reply | Handler) -> str:
        """Serve ``reply`` at ``path`` (exact path, query ignored); returns the full URL."""
        self._routes[path] = reply
        return self.url(path)

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def count(self, path: str) -> int:
        """How many requests reached ``path``."""
        with self._lock:
            return sum(1 for r in self.requests if r.path == path)

    def start(self) -> LocalHttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalHttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the
            # client's delayed ACK adds ~40 ms to every answer and skews latency figures.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                del format, args  # keep test output clean

            def handle(self) -> None:
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):
                    # The client hung up: a capped read or a timeout closes its socket with our
                    # answer unread, and the reset reaches us writing it or waiting for the next
                    # request. That ends this connection normally; socketserver would print it.
                    self.close_connection = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                with server._lock:
                    server.requests.append(request)
                route = server._routes.get(parts.path)
                if route is None:
                    reply = Reply(404, b"not found", {"Content-Type": "text/plain"})
                elif isinstance(route, Reply):
                    reply = route
                else:
                    try:
                        reply = route(request)
                    except Exception as exc:  # a broken test handler answers 500, visibly
                        reply = Reply(500, f"handler failed: {exc!r}".encode())
                if reply.delay:
                    time.sleep(reply.delay)
                self._send(reply)  # a client that gave up meanwhile: see handle

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if isinstance(reply.body, bytes):
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(reply.body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in reply.body:
                    if reply.chunk_delay:
                        time.sleep(reply.chunk_delay)
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _serve

        return _Handler
