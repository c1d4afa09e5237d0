"""Hostile input at the front doors: deep JSON on every surface, and the HTTP bind rule.

Each surface runs as the real process a client talks to (``luminamind tools call``,
``luminamind mcp`` over stdio, ``luminamind lsp`` over stdio), fed the raw bytes a hostile
client would send: the official clients serialise with recursion themselves and cannot even
build a message 60,000 levels deep.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "luminamind"
DEEP = "[" * 60_000 + "]" * 60_000


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUMINAMIND_")}
    env["LUMINAMIND_CONFIG_FILE"] = str(home / "no-config.toml")
    env["LUMINAMIND_DATA_DIR"] = str(home / "data")
    return env


def test_cli_args_too_deep_is_an_argument_error(workspace_dir: Path, tmp_path: Path) -> None:
    argv = [str(BIN), "--workspace", str(workspace_dir), "tools", "call", "read_file"]
    done = subprocess.run(
        [*argv, "--args", '{"path": ' + DEEP + "}"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "nests deeper than 64 levels" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def _rpc(process: subprocess.Popen[bytes], body: str, *, lsp: bool) -> None:
    assert process.stdin is not None
    data = body.encode()
    frame = f"Content-Length: {len(data)}\r\n\r\n".encode() + data if lsp else data + b"\n"
    process.stdin.write(frame)
    process.stdin.flush()


def _read(process: subprocess.Popen[bytes], *, lsp: bool) -> dict[str, object]:
    """The next message that is not a notification."""
    assert process.stdout is not None
    while True:
        if lsp:
            header = b""
            while not header.endswith(b"\r\n\r\n"):
                chunk = process.stdout.read(1)
                assert chunk, "the server closed its output"
                header += chunk
            length = int(header.split(b"Content-Length: ")[1].split(b"\r\n")[0])
            message = json.loads(process.stdout.read(length))
        else:
            line = process.stdout.readline()
            assert line, "the server closed its output"
            message = json.loads(line)
        if "id" in message:
            return dict(message)


@pytest.mark.slow
@pytest.mark.parametrize("surface", ["mcp", "lsp"])
def test_deep_json_gets_an_error_reply_and_the_server_keeps_serving(
    surface: str, workspace_dir: Path, tmp_path: Path
) -> None:
    lsp = surface == "lsp"
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [str(BIN), "--workspace", str(workspace_dir), surface],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        env=_env(tmp_path),
    )
    try:
        init_params: dict[str, object] = (
            {"processId": None, "rootUri": None, "capabilities": {}}
            if lsp
            else {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "hostile", "version": "1"},
            }
        )
        _rpc(
            process,
            json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init_params}),
            lsp=lsp,
        )
        assert "result" in _read(process, lsp=lsp)
        initialized = "initialized" if lsp else "notifications/initialized"
        _rpc(process, json.dumps({"jsonrpc": "2.0", "method": initialized, "params": {}}), lsp=lsp)
        if lsp:
            params = '{"command": "luminamind.threads", "arguments": [' + DEEP + "]}"
            method = "workspace/executeCommand"
        else:
            params = '{"name": "read_file", "arguments": {"path": ' + DEEP + "}}"
            method = "tools/call"
        _rpc(
            process,
            '{"jsonrpc": "2.0", "id": 2, "method": "' + method + '", "params": ' + params + "}",
            lsp=lsp,
        )
        reply = _read(process, lsp=lsp)
        error = reply.get("error")
        assert isinstance(error, dict), reply
        text = str(error.get("message"))
        assert "recursion" in text or "nests deeper" in text
        assert error.get("code") in (-32700, -32602)
        # Still serving.
        follow_up = "workspace/executeCommand" if lsp else "tools/list"
        follow_params = {"command": "luminamind.threads", "arguments": []} if lsp else {}
        _rpc(
            process,
            json.dumps({"jsonrpc": "2.0", "id": 3, "method": follow_up, "params": follow_params}),
            lsp=lsp,
        )
        assert _read(process, lsp=lsp)["id"] == 3
    finally:
        process.kill()
        process.wait(timeout=10)
        log.close()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
    assert "RecursionError" not in (tmp_path / "server.log").read_text(errors="replace")


@pytest.mark.parametrize("host", ["127.wild.test", "127.0.0.1.nip.io", "localhost.", "0.0.0.0"])
def test_http_refuses_names_that_only_look_like_loopback_without_a_token(
    host: str, workspace_dir: Path, tmp_path: Path
) -> None:
    done = subprocess.run(
        [
            str(BIN),
            "--workspace",
            str(workspace_dir),
            "mcp",
            "--http",
            "--host",
            host,
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert f"refusing to listen on {host} without a bearer token" in done.stderr
