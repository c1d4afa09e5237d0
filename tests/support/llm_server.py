"""A scripted LLM: a real HTTP server speaking the OpenAI and Ollama chat APIs on 127.0.0.1.

Tests drive the real ``langchain-openai`` / ``langchain-ollama`` clients (and whole ``luminamind``
processes) against it, so streaming, tool-call chunk merging, timeouts and HTTP errors all take
the production code path::

    with ScriptedLLM() as llm:
        llm.script([Turn.tool_calls(("read_file", {"path": "a.py"})), Turn.text("Done")])
        model = ChatOpenAI(base_url=llm.base_url, api_key="k", model="scripted")
        ...
        assert llm.calls[1].tool_results == ['{"content": ...}']
        llm.assert_done()              # every turn served, no request went unanswered

Turns are consumed one per request. ``script_for("code-executor", turns)`` gives requests whose
system prompt contains that text their own queue (subagents vs the main agent);
``responder = fn(LLMRequest) -> Turn | None`` decides per request (None falls back to the queues).
With nothing left the server answers ``(script exhausted)`` and records the request in
``unscripted``.

Endpoints: ``POST [/v1]/chat/completions`` (any path ending so: the GLM base URL has no /v1),
``GET [/v1]/models``, ``POST /api/chat``, ``GET /api/tags``, ``POST /api/show``,
``GET /api/version``; control: ``POST /_script`` (a JSON script, appended), ``POST /_reset``,
``GET /_requests``. As a process::

    python -m tests.support.llm_server --port 0 --script script.json   # prints the port
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.llm_script import EXHAUSTED_TEXT, LLMRequest, Route, Script, ToolCall, Turn
from tests.support.llm_wire import (
    error_body,
    ollama_chunks,
    ollama_response,
    openai_chunks,
    openai_completion,
)

__all__ = ["EXHAUSTED_TEXT", "LLMRequest", "Responder", "ScriptedLLM", "ToolCall", "Turn"]

Responder = Callable[[LLMRequest], Turn | None]


class ScriptedLLM:
    """The scripted model server. Thread-safe; start it once and `reset` it between tests.

    Args:
        turns: an initial script for every request.
        port: 0 picks a free port.
        models: names listed by ``/v1/models`` and ``/api/tags`` (any name is accepted anyway).
    """

    def __init__(
        self,
        turns: Iterable[Turn] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        models: Iterable[str] = ("scripted",),
    ) -> None:
        self._host, self._port = host, port
        self.models = list(models)
        self.responder: Responder | None = None
        self._lock = threading.Lock()
        self._default: list[Turn] = list(turns)
        self._routes: list[tuple[Route, list[Turn]]] = []
        self._calls: list[LLMRequest] = []
        self._errors: list[str] = []
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> ScriptedLLM:
        """Bind and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _Server((self._host, self._port), _Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake delayed turns and close every connection."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("ScriptedLLM is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no path)."""
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    @property
    def ollama_url(self) -> str:
        """The Ollama base URL, ``http://127.0.0.1:PORT``."""
        return self.url

    def env(
        self,
        *,
        provider: str = "openai",
        model: str = "scripted",
        model_settings: Mapping[str, float | str] | None = None,
        **knobs: float | str,
    ) -> dict[str, str]:
        """Environment variables pointing a ``luminamind`` process at this server.

        ``knobs`` set ``[model]`` settings: ``env(timeout_seconds=0.5, max_retries=0)`` adds
        ``LUMINAMIND_MODEL__TIMEOUT_SECONDS=0.5`` and ``LUMINAMIND_MODEL__MAX_RETRIES=0``;
        ``model_settings`` is the same as a mapping (a caller's own ``**knobs`` passed on).
        """
        merged = {**(model_settings or {}), **knobs}
        extra = {f"LUMINAMIND_MODEL__{k.upper()}": str(v) for k, v in merged.items()}
        if provider == "ollama":
            return {
                "LLM_PROVIDER": "ollama",
                "OLLAMA_BASE_URL": self.ollama_url,
                "OLLAMA_MODEL": model,
                "LUMINAMIND_MODEL__MODEL": f"ollama:{model}",
                **extra,
            }
        return {
            "LLM_PROVIDER": "openai",
            "OPENAI_BASE_URL": self.base_url,
            "GLM_API_KEY": "scripted-key",
            "LUMINAMIND_MODEL__MODEL": f"openai:{model}",
            **extra,
        }

    # --- scripting ---------------------------------------------------------------------------

    def script(
        self,
        turns: Iterable[Turn],
        *,
        system: str | None = None,
        model: str | None = None,
        when: Callable[[LLMRequest], bool] | None = None,
    ) -> None:
        """Append turns: to the default queue, or to the queue of requests matching a route.

        Routes are tried in the order they were first registered; the first that matches owns
        the request, even when its queue is empty (so a subagent's extra call never eats the
        main agent's turns). Pick ``system`` text only the intended prompt has: a main agent's
        prompt often names its subagents too.

        Args:
            turns: the answers, in order.
            system: only for requests whose system prompt contains this text.
            model: only for requests naming exactly this model.
            when: only for requests this predicate accepts.
        """
        turns = list(turns)
        with self._lock:
            if system is None and model is None and when is None:
                self._default.extend(turns)
                return
            route = Route(system=system, model=model, when=when)
            for existing, queue in self._routes:
                if existing == route:
                    queue.extend(turns)
                    return
            self._routes.append((route, turns))

    def script_for(self, match: str, turns: Iterable[Turn], *, model: str | None = None) -> None:
        """Turns for requests whose system prompt contains ``match`` (first registered wins)."""
        self.script(turns, system=match, model=model)

    def load(self, script: Script) -> None:
        """Append a parsed JSON script (default turns and routes)."""
        self.script(script.turns)
        for route, turns in script.routes:
            self.script(turns, system=route.system, model=route.model)

    def reset(self) -> None:
        """Forget every turn, route, responder, recorded request and error."""
        with self._lock:
            self._default.clear()
            self._routes.clear()
            self._calls.clear()
            self._errors.clear()
            self.responder = None

    # --- inspection --------------------------------------------------------------------------

    @property
    def calls(self) -> list[LLMRequest]:
        """Every model request received, oldest first, with the turn served."""
        with self._lock:
            return list(self._calls)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of every model request received, oldest first."""
        return [c.body for c in self.calls]

    @property
    def unscripted(self) -> list[LLMRequest]:
        """Requests that found no turn left and got `EXHAUSTED_TEXT`."""
        return [c for c in self.calls if c.exhausted]

    @property
    def remaining(self) -> int:
        """Turns not yet served, over every queue."""
        with self._lock:
            return len(self._default) + sum(len(q) for _, q in self._routes)

    @property
    def errors(self) -> list[str]:
        """Responder failures and unreadable request bodies (each also answered with HTTP 500)."""
        with self._lock:
            return list(self._errors)

    def assert_done(self) -> None:
        """Fail unless every turn was served, no request went unscripted and nothing broke."""
        problems = []
        if self.remaining:
            problems.append(f"{self.remaining} scripted turn(s) never requested")
        if self.unscripted:
            problems.append(f"{len(self.unscripted)} request(s) after the script ran out")
        problems.extend(self.errors)
        if problems:
            raise AssertionError("scripted LLM: " + "; ".join(problems))

    def wait_for_calls(self, count: int, *, timeout: float = 10.0) -> list[LLMRequest]:
        """Wait until ``count`` requests arrived (from another process, say); returns them all."""
        deadline = time.monotonic() + timeout
        while len(self.calls) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} model requests, got {len(self.calls)}")
            time.sleep(0.01)
        return self.calls

    # --- serving (called by the handler threads) ---------------------------------------------

    def _choose(self, request: LLMRequest) -> Turn:
        turn: Turn | None = None
        if self.responder is not None:
            turn = self.responder(request)
        with self._lock:
            if turn is None:
                queue = next((q for r, q in self._routes if r.matches(request)), self._default)
                if queue:
                    turn = queue.pop(0)
                else:
                    turn = Turn.text(EXHAUSTED_TEXT)
                    request.exhausted = True
            # Name anonymous tool calls call_1, call_2... across the server's life.
            calls = tuple(
                c if c.id else ToolCall(c.name, c.args, f"call_{next(self._ids)}")
                for c in turn.calls
            )
            turn = Turn(**{**turn.__dict__, "calls": calls})
            request.turn = turn
            self._calls.append(request)
        return turn

    def _record_error(self, message: str) -> None:
        with self._lock:
            self._errors.append(message)

    def _next_id(self) -> str:
        return f"chatcmpl-{next(self._ids)}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A test may start and stop many servers; never wait for TIME_WAIT on a fixed port.
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], llm: ScriptedLLM):
        self.llm = llm
        self._sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._sockets_lock:
            self._sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._sockets_lock:
            self._sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up (timeouts, closed pools) is routine; anything else is recorded."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            self.llm._record_error(f"handler crashed: {type(exc).__name__}: {exc}")

    def close_connections(self) -> None:
        """Wake handler threads parked on keep-alive reads so they close their sockets."""
        with self._sockets_lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real APIs; streams use chunked encoding
    # TCP_NODELAY: a stream is many small writes, and Nagle's algorithm against the client's
    # delayed ACK would hold each response back ~40 ms (real APIs answer without that stall).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows stderr of failing tests, and access lines are noise there."""

    # --- routing -----------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        llm = self.server.llm
        if path.endswith("/models"):
            data = [{"id": m, "object": "model", "owned_by": "scripted"} for m in llm.models]
            self._json(200, {"object": "list", "data": data})
        elif path == "/api/tags":
            self._json(200, {"models": [_ollama_model(m) for m in llm.models]})
        elif path == "/api/version":
            self._json(200, {"version": "0.9.0"})
        elif path == "/_requests":
            self._json(200, [_call_json(c) for c in llm.calls])
        elif path in ("", "/"):
            self._text(200, "Ollama is running")
        else:
            self._json(404, {"error": f"no route GET {path}"})

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        try:
            body = self._read_json()
        except ValueError as exc:
            self.server.llm._record_error(f"unreadable request body on {path}: {exc}")
            self._json(400, {"error": {"message": f"invalid JSON body: {exc}"}})
            return
        llm = self.server.llm
        if path.endswith("/chat/completions"):
            self._chat(LLMRequest("openai", path, body))
        elif path == "/api/chat":
            self._chat(LLMRequest("ollama", path, body))
        elif path == "/api/show":
            self._json(200, {**_ollama_model(str(body.get("model", "scripted"))), "modelfile": ""})
        elif path == "/_script":
            try:
                llm.load(Script.from_json(body))
            except (ValueError, KeyError, TypeError) as exc:
                self._json(400, {"error": f"bad script: {exc}"})
                return
            self._json(200, {"remaining": llm.remaining})
        elif path == "/_reset":
            llm.reset()
            self._json(200, {"remaining": 0})
        else:
            self._json(404, {"error": f"no route POST {path}"})

    # --- the model endpoints -----------------------------------------------------------------

    def _chat(self, request: LLMRequest) -> None:
        llm = self.server.llm
        try:
            turn = llm._choose(request)
        except Exception as exc:  # a broken responder is a test bug: answer 500 and record it
            llm._record_error(f"responder raised {type(exc).__name__}: {exc}")
            self._json(500, error_body(request.api, Turn.error(500, message=str(exc))))
            return
        if turn.delay and llm._stopping.wait(turn.delay):
            self.close_connection = True
            return
        if turn.kind == "disconnect":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if turn.kind == "error":
            headers = {}
            if turn.retry_after is not None:
                headers["Retry-After"] = _seconds(turn.retry_after)
            self._json(turn.status, error_body(request.api, turn), headers)
            return
        if turn.kind == "malformed":
            if request.stream:
                line = f"data: {turn.body}\n\n" if request.api == "openai" else turn.body + "\n"
                self._stream([line.encode()], turn.chunk_delay, request.api)
            else:
                self._bytes(200, turn.body.encode(), "application/json")
            return
        if request.api == "openai":
            completion_id = llm._next_id()
            if request.stream:
                events = [
                    f"data: {json.dumps(c)}\n\n".encode()
                    for c in openai_chunks(turn, request, completion_id)
                ]
                pieces = [*events, b"data: [DONE]\n\n"]
                self._stream(pieces, turn.chunk_delay, "openai", turn.cut_after)
            else:
                self._json(200, openai_completion(turn, request, completion_id))
        elif request.stream:
            lines = [(json.dumps(c) + "\n").encode() for c in ollama_chunks(turn, request)]
            self._stream(lines, turn.chunk_delay, "ollama", turn.cut_after)
        else:
            self._json(200, ollama_response(turn, request))

    # --- HTTP plumbing -----------------------------------------------------------------------

    def _read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        data = json.loads(raw or b"{}")
        if not isinstance(data, dict | list):
            raise ValueError("expected a JSON object")
        return data  # type: ignore[return-value]  # /_script accepts a bare list too

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._bytes(status, json.dumps(data).encode(), "application/json", headers)

    def _text(self, status: int, text: str) -> None:
        self._bytes(status, text.encode(), "text/plain; charset=utf-8")

    def _bytes(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (timeout) before the answer: nothing to tell it
            self.close_connection = True

    def _stream(
        self, pieces: list[bytes], chunk_delay: float, api: str, cut_after: int | None = None
    ) -> None:
        content_type = "text/event-stream" if api == "openai" else "application/x-ndjson"
        stopping = self.server.llm._stopping
        try:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            for index, piece in enumerate(pieces):
                if index and chunk_delay and stopping.wait(chunk_delay):
                    self.close_connection = True
                    return
                if cut_after is not None and index >= cut_after:
                    # Drop the connection mid-body: the client sees an incomplete chunked stream.
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _ollama_model(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": "2025-01-01T00:00:00Z",
        "size": 1,
        "digest": "0" * 64,
        "details": {"format": "gguf", "family": "scripted", "parameter_size": "1B"},
        "capabilities": ["completion", "tools"],
    }


def _call_json(call: LLMRequest) -> dict[str, Any]:
    return {
        "api": call.api,
        "path": call.path,
        "body": call.body,
        "exhausted": call.exhausted,
        "turn": call.turn.to_json() if call.turn else None,
    }


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; print the port on stdout first (one line)."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.llm_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--script", type=Path, help="a JSON script (list of turns or routes)")
    parser.add_argument("--model", action="append", default=None, help="a model name to list")
    args = parser.parse_args(argv)
    llm = ScriptedLLM(host=args.host, port=args.port, models=args.model or ["scripted"])
    if args.script is not None:
        llm.load(Script.from_json(json.loads(args.script.read_text(encoding="utf-8"))))
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    with llm:
        sys.stdout.write(f"{llm.port}\n")
        sys.stdout.flush()
        done.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
