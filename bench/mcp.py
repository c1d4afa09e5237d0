"""MCP server benchmark: LuminaMind against the reference filesystem server, over stdio.

Both servers get the same corpus (a 10 KB text file and a tree of 2,000 small files) and are
driven by the same client (the official ``mcp`` SDK):

- median latency of reading the 10 KB file (``read_file`` vs ``read_text_file``),
- median latency of a name-glob search for ``*.py`` (``file_search`` vs ``search_files``),
- cold start: spawning the server until the first ``tools/list`` answer.

The same is measured for the SDK's floor (``bench/_mcp_floor.py``: a minimal low-level server
on the same SDK), to show how much of LuminaMind's time is the SDK's; its reads are measured
twice, on the SDK's own stdio streams and served as LuminaMind serves (its stdio streams, on
uvloop).
Every measure alternates between the servers (all the read variants in one rotation), so a
machine that is busy with something else slows them alike.

Then the HTTP transport alone: 20 concurrent clients calling ``read_file`` for a fixed time;
requests/s and p95 latency. The reference server is installed with npm into
``bench/.work/node_modules`` (gitignored). Run: ``python -m bench mcp`` or ``python bench/mcp.py``.

``python bench/mcp.py --quick`` (about a minute): the same stdio comparisons with fewer samples,
no HTTP load and no breakdown, docs/benchmarks.md left alone; its last line states the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run as a script (`python bench/mcp.py`), this folder comes first on sys.path, where this very
# file would shadow the SDK's `mcp` package. remove() drops the first entry for the folder: that
# one when present, else the one appended just before (as `python -m bench mcp` runs).
sys.path.append(str(Path(__file__).resolve().parent))
sys.path.remove(str(Path(__file__).resolve().parent))

import httpx
import httpx2
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._report import machine_line, write_section

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
CORPUS = WORK / "mcp-corpus"
HOME = WORK / "mcp-home"
REFERENCE = WORK / "node_modules" / "@modelcontextprotocol" / "server-filesystem"
LUMINAMIND = Path(sys.executable).parent / "luminamind"

READ_CALLS = 600  # per variant and round
READ_ROUNDS = 3
SEARCH_CALLS = 40
BLOCK = 10  # calls to one server before switching to the next
COLD_STARTS = 9
HTTP_CLIENTS = 20
HTTP_SECONDS = 10.0


@dataclass
class Contender:
    """One server and the equivalent calls on it."""

    name: str
    params: StdioServerParameters
    calls: dict[str, tuple[str, dict[str, Any]]]  # measure -> (tool, arguments)
    results: dict[str, float] = field(default_factory=dict)
    rounds: dict[str, list[float]] = field(default_factory=dict)  # measure -> median per round
    cold_start: bool = True  # False: measured for its calls only


def ensure_reference() -> Path:
    """The reference server's entry point, installed with npm on first use."""
    entry = REFERENCE / "dist" / "index.js"
    if not entry.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(WORK),
                "@modelcontextprotocol/server-filesystem",
            ],
            check=True,
        )
    return entry


def build_corpus() -> None:
    """The same files for both servers (rebuilt each run, so nothing is left from before)."""
    shutil.rmtree(CORPUS, ignore_errors=True)
    CORPUS.mkdir(parents=True)
    line = "The quick brown fox jumps over the lazy dog; 0123456789.\n"
    (CORPUS / "ten_kb.txt").write_text((line * 200)[:10_240], encoding="utf-8")
    for d in range(40):
        folder = CORPUS / f"pkg{d:02d}" / "sub"
        folder.mkdir(parents=True)
        for f in range(50):
            suffix = (".py", ".txt", ".md", ".json")[f % 4]
            (folder / f"mod{f:02d}{suffix}").write_text(f"# file {d}/{f}\nvalue = {f}\n")


def server_env() -> dict[str, str]:
    """LuminaMind's settings for the benchmark: a private data dir, no config file."""
    return {
        "LUMINAMIND_DATA_DIR": str(HOME / "data"),
        "LUMINAMIND_CONFIG_FILE": str(HOME / "none.toml"),
        "LUMINAMIND_CACHE__BACKEND": "memory",
    }


def contenders() -> list[Contender]:
    env = server_env()
    ours = Contender(
        name="LuminaMind",
        params=StdioServerParameters(
            command=str(LUMINAMIND), args=["mcp", "--workspace", str(CORPUS)], env=env, cwd=CORPUS
        ),
        calls={
            "read": ("read_file", {"path": "ten_kb.txt"}),
            "search": ("file_search", {"pattern": "*.py"}),
        },
    )
    theirs = Contender(
        name="server-filesystem",
        params=StdioServerParameters(
            command=shutil.which("node") or "node", args=[str(ensure_reference()), str(CORPUS)]
        ),
        calls={
            "read": ("read_text_file", {"path": str(CORPUS / "ten_kb.txt")}),
            "search": ("search_files", {"path": str(CORPUS), "pattern": "**/*.py"}),
        },
    )
    floor = Contender(
        name="SDK floor",
        params=StdioServerParameters(
            # -P: bench/ must not shadow the SDK (bench/mcp.py would be imported as `mcp`).
            command=sys.executable,
            args=["-P", str(HERE / "_mcp_floor.py"), str(CORPUS), str(read_file_schema())],
        ),
        calls={
            "read": ("read", {"path": "ten_kb.txt"}),
            "read_structured": ("read_structured", {"path": "ten_kb.txt"}),
            "read_structured_text": ("read_structured_text", {"path": "ten_kb.txt"}),
        },
    )
    pipes_floor = Contender(
        name="SDK floor served as LuminaMind serves",
        params=StdioServerParameters(
            command=sys.executable,
            args=[*floor.params.args, "pipes"],
        ),
        calls={
            "read": ("read", {"path": "ten_kb.txt"}),
            "read_structured": ("read_structured", {"path": "ten_kb.txt"}),
        },
        cold_start=False,
    )
    return [ours, theirs, floor, pipes_floor]


def read_file_schema() -> Path:
    """LuminaMind's read_file output schema, in a file for the floor server."""
    from luminamind.tools.catalog import build_default_registry

    path = WORK / "read_file.output.schema.json"
    path.write_text(json.dumps(build_default_registry().get("read_file").output_schema()))
    return path


@contextlib.asynccontextmanager
async def session(params: StdioServerParameters) -> AsyncIterator[ClientSession]:
    with open(os.devnull, "w") as devnull:
        async with (
            stdio_client(params, errlog=devnull) as (read, write),
            ClientSession(read, write) as s,
        ):
            await s.initialize()
            yield s


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def child_pids() -> set[int]:
    """This process's running children (from /proc: the SDK's client does not expose them)."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # "pid (command) state ppid ...": the command may hold spaces and parentheses.
            if int(stat.read_text().rpartition(")")[2].split()[1]) == os.getpid():
                pids.add(int(stat.parent.name))
    return pids


def process_cpu(pid: int) -> float:
    """CPU seconds a running process has had so far, all its threads (Linux schedstat, in ns)."""
    return (
        sum(
            int(task.read_text().split()[0])
            for task in Path(f"/proc/{pid}/task").glob("*/schedstat")
        )
        / 1e9
    )


async def cold_start(params: StdioServerParameters) -> tuple[float, float, float]:
    """(seconds from spawning the server to its first tools/list answer, its CPU seconds up to
    that answer, its CPU seconds from start to exit).

    Unlike the wall time, the CPU figures do not grow when other programs load the machine.
    The first is what the answer cost; the second adds the process's shutdown after the client
    closes stdin (interpreter finalisation, which can be long for a Python process).
    """
    cpu = children_cpu()
    before = child_pids()
    started = time.perf_counter()
    async with session(params) as s:
        await s.list_tools()
        wall = time.perf_counter() - started
        # Read while the server still runs: it exits once the client closes its stdin.
        to_answer = sum(process_cpu(pid) for pid in child_pids() - before)
    for _ in range(100):  # the SDK reaps the server on exit; wait until its usage is counted
        if children_cpu() > cpu:
            break
        await asyncio.sleep(0.01)
    return wall, to_answer, children_cpu() - cpu


async def timed_calls(s: ClientSession, tool: str, args: dict[str, Any], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await check(s.call_tool(tool, args))
        samples.append(time.perf_counter() - started)
    return samples


async def check(call: Awaitable[Any]) -> None:
    result = await call
    if result.is_error:
        raise RuntimeError(f"benchmark call failed: {result.content}")


async def measure(contenders: list[Contender], *, scale: float = 1.0) -> None:
    """Median cold start, read and search of each server, taken in turns.

    ``scale`` < 1 takes that share of the samples (``--quick``).
    """
    starting = [c for c in contenders if c.cold_start]
    starts: dict[str, list[tuple[float, float, float]]] = {c.name: [] for c in starting}
    for _ in range(max(3, round(COLD_STARTS * scale))):
        for c in starting:
            starts[c.name].append(await cold_start(c.params))
    for c in starting:
        c.results["cold_start"] = statistics.median(wall for wall, _, _ in starts[c.name])
        c.results["cold_start_cpu"] = statistics.median(cpu for _, cpu, _ in starts[c.name])
        c.results["cold_start_cpu_to_exit"] = statistics.median(cpu for _, _, cpu in starts[c.name])
    # Every way of reading the file in one rotation: measured in separate rounds, the variants
    # were compared across minutes of changing load (and came out inverted). The reads run in
    # READ_ROUNDS rounds, each with fresh server processes: a whole run's ratio moved by a tenth
    # from run to run, and the rounds show how much.
    for keys, calls, rounds in (
        (("read", "read_structured", "read_structured_text"), READ_CALLS, READ_ROUNDS),
        (("search",), SEARCH_CALLS, 1),
    ):
        per_round: dict[tuple[str, str], list[float]] = {}
        for _ in range(rounds):
            async with contextlib.AsyncExitStack() as stack:
                sessions = [await stack.enter_async_context(session(c.params)) for c in contenders]
                jobs = [
                    (c, key, s, c.calls[key])
                    for key in keys
                    for c, s in zip(contenders, sessions, strict=True)
                    if key in c.calls
                ]
                for _c, _key, s, (tool, args) in jobs:
                    await timed_calls(s, tool, args, 5)  # warm-up: imports, caches, JIT
                samples: dict[tuple[str, str], list[float]] = {(c.name, k): [] for c, k, *_ in jobs}
                for _ in range(max(2, round(calls * scale) // BLOCK)):
                    for c, key, s, (tool, args) in jobs:
                        samples[c.name, key] += await timed_calls(s, tool, args, BLOCK)
                for name_key, taken in samples.items():
                    per_round.setdefault(name_key, []).append(statistics.median(taken))
        for c in contenders:
            for key in keys:
                if (c.name, key) in per_round:
                    c.rounds[key] = per_round[c.name, key]
                    c.results[key] = statistics.median(per_round[c.name, key])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def http_load() -> tuple[float, float, int]:
    """(requests/s, p95 seconds, errors) for concurrent read_file calls over HTTP."""
    port = free_port()
    env = {
        **os.environ,
        "LUMINAMIND_DATA_DIR": str(HOME / "data"),
        "LUMINAMIND_CONFIG_FILE": str(HOME / "none.toml"),
        "LUMINAMIND_SERVER__RATE_LIMIT_PER_MINUTE": "10000000",
    }
    env.pop("LUMINAMIND_MCP_TOKEN", None)
    process = subprocess.Popen(
        [str(LUMINAMIND), "mcp", "--http", "--port", str(port), "--workspace", str(CORPUS)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            await asyncio.sleep(0.05)
        latencies: list[float] = []
        errors = 0
        deadline = 0.0

        async def client() -> None:
            nonlocal errors
            async with (
                httpx2.AsyncClient(timeout=60) as http,
                streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
                ClientSession(read, write) as s,
            ):
                await s.initialize()
                while time.perf_counter() < deadline:
                    started = time.perf_counter()
                    result = await s.call_tool("read_file", {"path": "ten_kb.txt"})
                    latencies.append(time.perf_counter() - started)
                    errors += bool(result.is_error)

        deadline = time.perf_counter() + HTTP_SECONDS
        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(HTTP_CLIENTS)))
        elapsed = time.perf_counter() - began
        p95 = statistics.quantiles(latencies, n=20)[-1]
        return len(latencies) / elapsed, p95, errors
    finally:
        process.terminate()
        process.wait(timeout=10)


# Start-up as `luminamind mcp` does it (the CLI first, then the SDK; no garbage collection
# passes), phase by phase. `luminamind_mcp/__init__` applies the SDK deferrals before it imports
# the server; here they are applied from the same file, loaded alone, so that the SDK's import
# can be timed apart from the server modules'.
_PHASES = """
import gc, importlib.util, json, time
gc.disable()
marks = [time.perf_counter()]
import luminamind.cli
marks.append(time.perf_counter())
spec = importlib.util.find_spec("luminamind_mcp")
path = spec.submodule_search_locations[0] + "/_sdk.py"
sdk_spec = importlib.util.spec_from_file_location("_luminamind_sdk", path)
sdk = importlib.util.module_from_spec(sdk_spec)
sdk_spec.loader.exec_module(sdk)
sdk.defer_sdk_package_inits()
sdk.defer_wire_model_builds()
import mcp.server.lowlevel, mcp.server.stdio
marks.append(time.perf_counter())
import luminamind_mcp.server
from luminamind.config import load_settings
settings = load_settings()
marks.append(time.perf_counter())
from luminamind.runtime import build_tool_runtime
runtime = build_tool_runtime(settings, surface="mcp")
marks.append(time.perf_counter())
luminamind_mcp.server.build_app(settings, transport="stdio", runtime=runtime)
marks.append(time.perf_counter())
print(json.dumps([b - a for a, b in zip(marks, marks[1:])]))
"""
PHASES = (
    "the CLI (Typer, settings, logging)",
    "the SDK",
    "the server modules and settings",
    "the tool registry",
    "schemas",
)


def startup_phases() -> tuple[float, list[float]]:
    """(interpreter start, [seconds per phase of _PHASES]), medians of 5 fresh processes."""
    env = {**os.environ, **server_env()}
    bare: list[float] = []
    phases: list[list[float]] = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - started)
        out = subprocess.run(
            [sys.executable, "-c", _PHASES],
            check=True,
            cwd=CORPUS,
            env=env,
            capture_output=True,
            text=True,
        ).stdout
        phases.append(json.loads(out))
    return statistics.median(bare), [statistics.median(p) for p in zip(*phases, strict=True)]


async def tool_only_read() -> tuple[float, float]:
    """Median seconds of read_file in this process, without MCP: (through the executor, alone).

    Alone: the tool function with its arguments already parsed, as the executor calls it.
    Through the executor: everything around it too (argument checks, the approval policy, the
    audit line, metrics). The two alternate call by call.
    """
    from luminamind.config import load_settings
    from luminamind.observability.logging import configure_logging
    from luminamind.runtime import build_tool_runtime

    configure_logging(level="WARNING", fmt="json")  # as the stdio server runs

    settings = load_settings(workspace=CORPUS, data_dir=HOME / "data", cache={"backend": "memory"})
    runtime = build_tool_runtime(settings, surface="mcp")
    spec = runtime.registry.get("read_file")
    arguments = {"path": "ten_kb.txt"}
    parsed = spec.args_model.model_validate(arguments)
    kwargs = {name: getattr(parsed, name) for name in type(parsed).model_fields}
    through: list[float] = []
    alone: list[float] = []
    for i in range(READ_CALLS + 5):
        started = time.perf_counter()
        await runtime.executor.acall("read_file", arguments, context=runtime.context)
        middle = time.perf_counter()
        await spec.func(runtime.context, **kwargs)
        if i >= 5:
            through.append(middle - started)
            alone.append(time.perf_counter() - middle)
    return statistics.median(through), statistics.median(alone)


def client_result_cost() -> tuple[float, float]:
    """Median seconds the official client spends on one answer: (text block, read_file's result).

    What ``ClientSession.call_tool`` does with the line it reads: the JSON-RPC parse, the
    ``CallToolResult`` model, and for a tool with an output schema the schema check (a compiled
    jsonschema validator, cached per tool as the SDK does). The answers are the floor server's.
    """
    import hashlib

    import mcp_types as types
    from jsonschema import exceptions as jsonschema_exceptions
    from jsonschema.validators import validator_for
    from pydantic import TypeAdapter
    from referencing import Registry

    data = (CORPUS / "ten_kb.txt").read_bytes()
    text = data.decode("utf-8")
    lines = text.count("\n")
    structured = {
        "path": "ten_kb.txt",
        "content": text,
        "offset": 0,
        "lines_returned": lines,
        "total_lines": lines,
        "truncated": False,
        "next_offset": None,
        "size": len(data),
        "encoding": "utf-8",
        "sha256": hashlib.sha256(data).hexdigest(),
        "hint": None,
    }
    schema = json.loads(read_file_schema().read_text())
    validator = validator_for(schema)(schema, registry=Registry())
    result_adapter = TypeAdapter(types.CallToolResult)

    def answer(result: types.CallToolResult) -> str:
        payload = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        return types.JSONRPCResponse(jsonrpc="2.0", id=1, result=payload).model_dump_json(
            by_alias=True, exclude_unset=True
        )

    text_line = answer(types.CallToolResult(content=[types.TextContent(type="text", text=text)]))
    structured_line = answer(
        types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(structured))],
            structured_content=structured,
        )
    )

    def handle(line: str, check: bool) -> None:
        message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
        assert isinstance(message, types.JSONRPCResponse)
        result = result_adapter.validate_python(message.result, by_name=False)
        if check:
            error = jsonschema_exceptions.best_match(
                validator.iter_errors(result.structured_content)
            )
            assert error is None, error

    costs = []
    for line, check in ((text_line, False), (structured_line, True)):
        samples = []
        for i in range(READ_CALLS + 20):
            started = time.perf_counter()
            handle(line, check)
            if i >= 20:
                samples.append(time.perf_counter() - started)
        costs.append(statistics.median(samples))
    return costs[0], costs[1]


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def quick_line(ours: Contender, theirs: Contender, floor: Contender, pipes: Contender) -> str:
    """The one line `--quick` ends with: every ratio against the reference."""
    r, c = ours.results, theirs.results
    f, p = floor.results, pipes.results
    return (
        f"mcp: LuminaMind / reference: cold start {r['cold_start'] / c['cold_start']:.2f}x"
        f" (CPU {r['cold_start_cpu'] / c['cold_start_cpu']:.2f}x; SDK floor "
        f"{f['cold_start'] / c['cold_start']:.2f}x, "
        f"CPU {f['cold_start_cpu'] / c['cold_start_cpu']:.2f}x;"
        " goal <= 2.0x), "
        f"10 KB read {r['read'] / c['read']:.2f}x (rounds "
        + "/".join(
            f"{a / b:.2f}" for a, b in zip(ours.rounds["read"], theirs.rounds["read"], strict=True)
        )
        + f"; floor {f['read'] / c['read']:.2f}x, "
        f"structured {f['read_structured'] / c['read']:.2f}x; served as LuminaMind serves "
        f"{p['read'] / c['read']:.2f}x, structured {p['read_structured'] / c['read']:.2f}x; "
        "goal <= 1.0x), "
        f"name-glob search {r['search'] / c['search']:.2f}x"
    )


async def quick() -> None:
    """The stdio comparisons with fewer samples; prints the ratios, writes no docs."""
    build_corpus()
    HOME.mkdir(parents=True, exist_ok=True)
    ours, theirs, floor, pipes_floor = everyone = contenders()
    await measure(everyone, scale=0.5)
    for c in everyone:
        print(f"{c.name}: " + ", ".join(f"{k} {ms(v)}" for k, v in c.results.items()))
    print(quick_line(ours, theirs, floor, pipes_floor))


async def main() -> None:
    build_corpus()
    HOME.mkdir(parents=True, exist_ok=True)
    ours, theirs, floor, pipes_floor = everyone = contenders()
    print("measuring LuminaMind, the reference and the SDK floor over stdio", flush=True)
    load_start = os.getloadavg()[0]  # wall-clock figures depend on what else the machine runs
    await measure(everyone)
    print("measuring LuminaMind over HTTP", flush=True)
    rps, p95, errors = await http_load()
    print("measuring where the time goes", flush=True)
    bare, phases = startup_phases()
    tool, tool_alone = await tool_only_read()
    client_text, client_structured = client_result_cost()
    load_end = os.getloadavg()[0]

    rows = [
        ("read a 10 KB file (median)", "read", "read_file / read_text_file"),
        ("name-glob search, 2,000 files (median)", "search", "file_search / search_files"),
        ("cold start to first tools/list (median)", "cold_start", "spawn + initialize + list"),
    ]
    lines = [
        "## MCP server (`bench/mcp.py`)",
        "",
        f"{machine_line()}. stdio, official `mcp` client, same corpus; reference: "
        "`@modelcontextprotocol/server-filesystem` on Node "
        f"{subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()}."
        " Ratio = LuminaMind / reference (target <= 1.0x for reads; cold start <= 2.0x)."
        f" Load average (1 min): {load_start:.1f} at the start of the run, {load_end:.1f} at its"
        f" end, on {os.cpu_count()} CPUs shared with other work; every measure alternates the"
        " servers, so the load slows them alike.",
        "",
        "| measure | tools | LuminaMind | reference | ratio | SDK floor |",
        "|---|---|---:|---:|---:|---:|",
    ]
    cpu_ours, cpu_ref, cpu_floor = (c.results["cold_start_cpu"] for c in (ours, theirs, floor))
    ours_read, theirs_read, floor_read = (c.results["read"] for c in (ours, theirs, floor))
    floor_structured = floor.results["read_structured"]
    floor_text_copy = floor.results["read_structured_text"]
    pipes_read = pipes_floor.results["read"]
    pipes_structured = pipes_floor.results["read_structured"]
    ours_start, floor_start = ours.results["cold_start"], floor.results["cold_start"]
    for label, key, tools in rows:
        a, b = ours.results[key], theirs.results[key]
        least = ms(floor.results[key]) if key in floor.results else "-"
        lines.append(f"| {label} | {tools} | {ms(a)} | {ms(b)} | {a / b:.2f}x | {least} |")
    lines.append(
        f"| cold start, the server's CPU time up to that answer | | {ms(cpu_ours)} | "
        f"{ms(cpu_ref)} | {cpu_ours / cpu_ref:.2f}x | {ms(cpu_floor)} |"
    )
    exit_ours, exit_ref, exit_floor = (
        c.results["cold_start_cpu_to_exit"] for c in (ours, theirs, floor)
    )
    lines.append(
        f"| the same, start to exit (shutdown included) | | {ms(exit_ours)} | {ms(exit_ref)} | "
        f"{exit_ours / exit_ref:.2f}x | {ms(exit_floor)} |"
    )
    round_ratios = ", ".join(
        f"{a / b:.2f}x" for a, b in zip(ours.rounds["read"], theirs.rounds["read"], strict=True)
    )
    lines += [
        "",
        f"The reads ran in {len(ours.rounds['read'])} rounds, each with fresh server processes "
        f"and {READ_CALLS} calls per server taken in turns; LuminaMind / reference per round: "
        f"{round_ratios} (the table shows the medians).",
        "",
        f"HTTP (`luminamind mcp --http`): {HTTP_CLIENTS} concurrent clients calling `read_file` "
        f"on the 10 KB file for {HTTP_SECONDS:.0f} s: **{rps:.0f} requests/s**, "
        f"p95 **{ms(p95)}**, {errors} errors.",
        "",
        "Where the time goes (same run):",
        "",
        f"- cold start: the SDK's floor, a minimal low-level `mcp` server (`bench/_mcp_floor.py`)"
        f" spawned, initialised and listed the same way, takes {ms(floor_start)}: "
        f"{floor_start / ours_start:.0%} of LuminaMind's {ms(ours_start)}; CPU time up to the "
        f"answer {ms(cpu_floor)} against {ms(cpu_ours)}. Counted from start to exit instead, "
        f"the floor takes {ms(exit_floor)} and LuminaMind {ms(exit_ours)}: after the client "
        "closes stdin, the floor's interpreter ends with a garbage collection over every object "
        "its start-up created, while LuminaMind froze those (`gc.freeze`), so its collections, "
        "that last one included, skip them. LuminaMind's "
        "start-up phase by phase (fresh processes, median of 5): interpreter "
        f"{ms(bare)}, then "
        + ", ".join(f"{name} {ms(t)}" for name, t in zip(PHASES, phases, strict=True))
        + ". The CLI imports structlog without rich (structlog's `dev` and `tracebacks` modules "
        "load rich's console, traceback and pretty-printer when it is installed, which "
        "LuminaMind's logging never uses: it turns tracebacks into text before any renderer), "
        "and its commands import rich and the agent only when they run "
        "(`luminamind/startup.py`, `luminamind/cli/`). The SDK's package `__init__` files, "
        "which re-export its client (with httpx2) and "
        "the high-level `MCPServer`, are skipped (`luminamind_mcp/_sdk.py`: about 120 modules "
        "a server never uses), and the wire models of its two protocol eras (about 300 pydantic "
        "classes) build their validators on first use (`defer_build`), not at import; what "
        "remains of the SDK is mostly creating those classes and the version-free models of "
        "`mcp_types`, built at import (they share no base class a server could defer before "
        "they are created); its low-level server module still imports Starlette, the OAuth "
        "routes and middleware and the streamable HTTP transport (with uvicorn) at module level "
        "for its HTTP app, which a stdio server never builds. The agent stack and the web, PDF "
        "and system "
        "libraries load on first use, and start-up runs without garbage collection passes and "
        "freezes what it built "
        "(luminamind/startup.py). The floor server imports the SDK the usual way. The "
        "schemas phase is pydantic writing the JSON Schemas of every tool's arguments and "
        "result (registry and agent tools); they are built once per process, not kept on disk "
        "between starts: a cache key would have to capture the source of every model and of "
        "everything their defaults and descriptions come from, and a stale schema would "
        "mislead every client, for a few per cent of the start.",
        "- a `read_file` call. The reference answers with the file as a text block plus "
        "`structuredContent` `{content}` under a one-field output schema. The floor server "
        f"returns the file as one text block in {ms(floor_read)} "
        f"({floor_read / theirs_read:.2f}x the reference) on the SDK's stdio streams, and in "
        f"{ms(pipes_read)} ({pipes_read / theirs_read:.2f}x) served as LuminaMind serves: the "
        "SDK's streams (`anyio.wrap_file`) take a worker-thread round trip for every line read "
        "and every write and flush, LuminaMind's (`luminamind_mcp/stdio.py`) use the event "
        "loop's pipe transports, and it runs on uvloop. Returned the way `read_file` returns "
        "it (structured content under `read_file`'s output schema, eleven fields, which the "
        "client validates every result against, plus the JSON text copy the MCP spec asks "
        "for), the same file takes "
        f"{ms(floor_structured)} ({floor_structured / theirs_read:.2f}x) on the SDK's streams "
        f"and **{ms(pipes_structured)} ({pipes_structured / theirs_read:.2f}x) served as "
        "LuminaMind serves: the floor for this result on this SDK**, before any of LuminaMind's "
        "own work. The structured result costs "
        f"{ms(pipes_structured - pipes_read)} more than the text block. Of that, the official "
        "client's handling of one answer (JSON-RPC parse, `CallToolResult` model, "
        "output-schema check with jsonschema), timed in a tight loop in this process, takes "
        f"{client_text * 1e6:.0f} µs for the text block and {client_structured * 1e6:.0f} µs "
        "for `read_file`'s result; the rest is the server building and serialising the "
        "result and a line twice as long (the file's text travels twice, in the structured "
        "content and in the text copy). The JSON copy is not "
        "what costs: with the file's text as the text block instead (the same structured "
        f"content), a call takes {ms(floor_text_copy)} against {ms(floor_structured)} with "
        "the JSON copy, both on the SDK's streams in the same rotation (an earlier version of "
        "this script measured the two in separate rounds, minutes apart, and reported them "
        "inverted). LuminaMind's answer has the floor's shape (`content`, `structuredContent`, "
        "`isError`, nothing else), and nothing else travels per call (no progress, log or "
        "other notification at the default log level). The remaining "
        f"{ms(ours_read - pipes_structured)} of LuminaMind's {ms(ours_read)} is its own call "
        "path in the server: the tool through the executor (argument validation, workspace "
        "confinement with every path component checked and the file opened without "
        "following symlinks, approval policy, audit log, metrics) and its request middleware "
        "(request ids, log levels, MCP tasks). In a tight loop in this process the executor's "
        f"`read_file` takes {ms(tool)}, of which the tool itself (resolving the path, opening, "
        f"reading, decoding and hashing the file) {ms(tool_alone)} and the executor's checks "
        f"and records {ms(tool - tool_alone)}; these are lower bounds, as in the server each "
        "call runs between the SDK's own work on every request, with colder caches.",
        "",
        f"Targets: reads {verdict(ours_read / theirs_read <= 1.0)} "
        f"({ours_read / theirs_read:.2f}x; "
        + (
            "a bare SDK server returning `read_file`'s result, served as LuminaMind serves, is "
            f"{pipes_structured / theirs_read:.2f}x: returning structured content under this "
            "output schema through this SDK costs more than the whole reference call, so the "
            "goal can only be met by dropping the structured content or the output schema, "
            "which clients rely on"
            if pipes_structured > theirs_read
            else "a bare SDK server returning `read_file`'s result, served as LuminaMind "
            f"serves, is {pipes_structured / theirs_read:.2f}x; the rest is LuminaMind's call "
            "path"
        )
        + "); cold start "
        f"<= 2.0x the reference {verdict(ours_start / theirs.results['cold_start'] <= 2.0)} "
        f"({ours_start / theirs.results['cold_start']:.2f}x wall, "
        f"{cpu_ours / cpu_ref:.2f}x CPU to the answer; the bare SDK server alone is "
        f"{floor_start / theirs.results['cold_start']:.2f}x wall, {cpu_floor / cpu_ref:.2f}x "
        "CPU: the floor of a Python server on this SDK).",
    ]
    markdown = "\n".join(lines)
    print(markdown)
    write_section("mcp", markdown)
    print(quick_line(ours, theirs, floor, pipes_floor))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, no docs update")
    asyncio.run(quick() if parser.parse_args().quick else main())
