"""The CLI on Redis: `LUMINAMIND_REDIS_URL=redis://... luminamind chat`, run, resume, threads.

Every process gets a data dir of its own, so a thread can only reach the next command through
Redis; the checks read Redis directly with a plain client. Real processes, a real Redis server
and the scripted LLM server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.llm_server import ScriptedLLM, Turn
from tests.support.redis_server import RedisServer

BIN = Path(sys.executable).parent / "luminamind"
pytestmark = pytest.mark.slow


def lm(
    llm: ScriptedLLM,
    redis_url: str,
    data_dir: Path,
    workspace: Path,
    *args: str,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    env = os.environ | llm.env()
    env |= {
        "LUMINAMIND_REDIS_URL": redis_url,
        "LUMINAMIND_DATA_DIR": str(data_dir),
        "LUMINAMIND_CACHE__BACKEND": "memory",
    }
    return subprocess.run(
        [str(BIN), "--workspace", str(workspace), *args],
        capture_output=True,
        text=True,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        timeout=120,
        env=env,
        check=False,
    )


def test_chat_keeps_its_thread_in_redis(
    llm_server: ScriptedLLM,
    redis_url: str,
    redis_server: RedisServer,
    workspace_dir: Path,
    tmp_path: Path,
) -> None:
    llm_server.script([Turn.text("Hello from a Redis-backed chat.")])
    chat = lm(
        llm_server,
        redis_url,
        tmp_path / "chat-data",
        workspace_dir,
        "chat",
        "--thread",
        "redis-chat",
        stdin="Say hello\n/exit\n",
    )
    assert chat.returncode == 0, chat.stderr
    assert "Hello from a Redis-backed chat." in chat.stdout
    with redis_server.client() as client:
        assert client.exists("lm:{redis-chat}:cp", "lm:{redis-chat}:idx") == 2
        assert client.zscore("lm:threads", "redis-chat") is not None
    assert not (tmp_path / "chat-data" / "checkpoints.sqlite").exists()

    shown = lm(
        llm_server,
        redis_url,
        tmp_path / "other-data",
        workspace_dir,
        "threads",
        "show",
        "redis-chat",
        "--json",
    )
    assert shown.returncode == 0, shown.stderr
    contents = [m["content"] for m in json.loads(shown.stdout)["messages"]]
    assert "Say hello" in contents
    assert "Hello from a Redis-backed chat." in contents
    llm_server.assert_done()


def test_run_pauses_and_another_process_resumes_from_redis(
    llm_server: ScriptedLLM, redis_url: str, workspace_dir: Path, tmp_path: Path
) -> None:
    llm_server.script(
        [
            Turn.tool_calls(("write_file", {"path": "note.txt", "content": "via redis\n"})),
            Turn.text("Wrote note.txt."),
        ]
    )
    first = lm(
        llm_server, redis_url, tmp_path / "a", workspace_dir, "run", "Write it", "--thread", "r-1"
    )
    assert first.returncode == 3, first.stderr  # waiting for approval
    assert not (workspace_dir / "note.txt").exists()

    listed = lm(llm_server, redis_url, tmp_path / "b", workspace_dir, "threads", "--json")
    assert listed.returncode == 0, listed.stderr
    (info,) = json.loads(listed.stdout)
    assert (info["thread_id"], info["status"]) == ("r-1", "awaiting_approval")

    done = lm(llm_server, redis_url, tmp_path / "c", workspace_dir, "resume", "r-1", "--yes")
    assert done.returncode == 0, done.stderr
    assert "Wrote note.txt." in done.stdout
    assert (workspace_dir / "note.txt").read_text() == "via redis\n"
    llm_server.assert_done()
