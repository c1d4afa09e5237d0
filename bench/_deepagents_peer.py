"""The deepagents side of `bench/agent_overhead.py`, run with the peer venv's Python.

LuminaMind does not depend on deepagents (it pins ``langchain-anthropic`` and
``langchain-google-genai`` and brings its own filesystem tools), so this worker runs in
``bench/.peers-venv`` and talks to the benchmark over stdin/stdout, one JSON object a line:

- ``{"op": "run", "saver": "memory" | "sqlite", "path": DB, "reps": N, "count": bool}`` ->
  ``{"runs": [...]}``, each run ``{"wall": s, "cpu": s, "model": s, "tool": s, "model_calls": n,
  "tool_calls": n, "checkpoints": n, "db_bytes": n}`` (the run's checkpoints are counted only
  with ``count``);
- ``{"op": "versions"}`` -> the installed versions of the packages that matter, and the tools
  the model was offered on its last call;
- end of input -> exit.

Each run is one 50-tool-call task on a new ``create_deep_agent(model, [lookup],
checkpointer=...)`` with a new saver (a new database file ``PATH.<random>`` for SQLite, removed
after the run, whose size is reported), streamed with the same modes LuminaMind's AgentService
uses.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deepagents import create_deep_agent
from langchain_core.tools import StructuredTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from bench._scripted_model import (
    STREAM_MODES,
    TASK,
    TOOL_DESCRIPTION,
    TOOL_TIMER,
    ScriptedToolModel,
    lookup_value,
)


async def _lookup(key: str) -> str:
    return lookup_value(key)


LOOKUP = StructuredTool.from_function(
    coroutine=_lookup, name="lookup", description=TOOL_DESCRIPTION
)


class Peer:
    def __init__(self) -> None:
        self.model = ScriptedToolModel()

    @asynccontextmanager
    async def agent(self, saver_kind: str, path: str) -> AsyncIterator[Any]:
        """A new agent on a new saver (an empty database): no run pays for earlier ones."""
        saver: BaseCheckpointSaver[Any]
        async with AsyncExitStack() as stack:
            if saver_kind == "memory":
                saver = InMemorySaver()
            else:
                # The same SQLite saver and pragmas as LuminaMind's open_checkpointer.
                saver = await stack.enter_async_context(AsyncSqliteSaver.from_conn_string(path))
                await saver.setup()
                await saver.conn.execute("PRAGMA journal_mode=WAL")
                await saver.conn.execute("PRAGMA busy_timeout=5000")
                await saver.conn.execute("PRAGMA synchronous=NORMAL")
            yield create_deep_agent(
                model=self.model,
                tools=[LOOKUP],
                system_prompt="You are the benchmark agent.",
                checkpointer=saver,
            )

    async def run(
        self, saver_kind: str, path: str, reps: int, *, count: bool = False
    ) -> list[dict[str, float]]:
        runs = []
        for _ in range(reps):
            db = f"{path}.{uuid.uuid4().hex}"
            async with self.agent(saver_kind, db) as agent:
                config = {"configurable": {"thread_id": uuid.uuid4().hex}}
                self.model.timer.reset()
                TOOL_TIMER.reset()
                started, cpu_started = time.perf_counter(), time.process_time()
                async for _chunk in agent.astream(
                    {"messages": [{"role": "user", "content": TASK}]},
                    config,
                    stream_mode=STREAM_MODES,
                    subgraphs=True,
                ):
                    pass
                wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
                state = await agent.aget_state(config)
                last = state.values["messages"][-1]
                assert last.content == "done", last
                checkpoints = [c async for c in agent.checkpointer.alist(config)] if count else []
            size = Path(db).stat().st_size if saver_kind == "sqlite" else 0
            Path(db).unlink(missing_ok=True)
            runs.append(
                {
                    "checkpoints": len(checkpoints),
                    "db_bytes": size,
                    "wall": wall,
                    "cpu": cpu,
                    "model": self.model.timer.seconds,
                    "tool": TOOL_TIMER.seconds,
                    "model_calls": self.model.timer.calls,
                    "tool_calls": TOOL_TIMER.calls,
                }
            )
        return runs


async def main() -> None:
    peer = Peer()
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        request = json.loads(line)
        reply: dict[str, Any]
        if request["op"] == "versions":
            names = ["deepagents", "langchain", "langchain-core", "langgraph"]
            reply = {n: version(n) for n in names}
            reply["tools"] = peer.model.offered_tools
        else:
            runs = await peer.run(
                request["saver"],
                request["path"],
                request["reps"],
                count=request.get("count", False),
            )
            reply = {"runs": runs}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
