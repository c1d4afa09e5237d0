"""The server's policies on their own: rate limit, Host/Origin rules, client roots, prompts."""

from __future__ import annotations

from pathlib import Path

import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError
from starlette.datastructures import Headers

from luminamind.config import ServerSettings
from luminamind.security.workspace import Workspace, WorkspaceRoot
from luminamind_mcp.guards import HostOriginPolicy, RateLimiter, is_loopback
from luminamind_mcp.prompts import get_prompt, list_prompts
from luminamind_mcp.roots import WorkspaceResolver, paths_from_roots


def test_rate_limiter_allows_a_burst_then_refills() -> None:
    limiter = RateLimiter(per_minute=60)  # one a second, bursts of 60
    assert all(limiter.acquire("a", now=100.0) == 0 for _ in range(60))
    wait = limiter.acquire("a", now=100.0)
    assert wait == pytest.approx(1.0)
    assert limiter.acquire("b", now=100.0) == 0, "buckets are per key"
    assert limiter.acquire("a", now=101.5) == 0, "refilled after a second"


@pytest.mark.parametrize(
    ("host", "origin", "refused"),
    [
        ("127.0.0.1:8765", None, False),
        ("localhost:9", "http://localhost:6274", False),
        ("[::1]:8765", "http://[::1]:3000", False),
        ("evil.example:8765", None, True),
        ("127.0.0.1:8765", "http://evil.example", True),
        ("127.0.0.1:8765", "null", True),
    ],
)
def test_loopback_policy(host: str, origin: str | None, refused: bool) -> None:
    policy = HostOriginPolicy.for_server(ServerSettings())
    headers = Headers({"host": host} | ({"origin": origin} if origin else {}))
    assert (policy.refusal(headers) is not None) is refused


def test_public_bind_checks_only_what_is_configured() -> None:
    open_hosts = HostOriginPolicy.for_server(ServerSettings(host="0.0.0.0"))
    assert open_hosts.refusal(Headers({"host": "mcp.example.com"})) is None
    assert open_hosts.refusal(Headers({"host": "x", "origin": "https://app.example"})) is not None
    listed = HostOriginPolicy.for_server(
        ServerSettings(
            host="0.0.0.0",
            allowed_hosts=["mcp.example.com"],
            allowed_origins=["https://app.example"],
        )
    )
    assert listed.refusal(Headers({"host": "mcp.example.com"})) is None
    assert listed.refusal(Headers({"host": "other.example.com"})) is not None
    assert (
        listed.refusal(Headers({"host": "mcp.example.com", "origin": "https://app.example"}))
        is None
    )


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.3.4.5", "::1", "[::1]", "localhost", "LOCALHOST", "::ffff:127.0.0.1"],
)
def test_loopback_literals(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host",
    [
        "0.0.0.0",
        "::",
        "192.168.1.2",
        "127.wild.test",  # a DNS name that merely starts like a loopback address
        "127.0.0.1.nip.io",
        "127.1",  # inet_aton shorthand: not read, so not trusted
        "0x7f.0.0.1",
        "localhost.",  # a fully qualified name, resolved by DNS
        "localhost.example.com",
        "",
    ],
)
def test_names_and_other_addresses_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def _roots(*uris: str) -> list[types.Root]:
    return [types.Root(uri=u) for u in uris]


def test_paths_from_roots_keeps_existing_local_directories(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "file.txt").write_text("x")
    paths = paths_from_roots(
        _roots(
            (tmp_path / "a").as_uri(),
            (tmp_path / "a").as_uri(),
            (tmp_path / "missing").as_uri(),
            (tmp_path / "file.txt").as_uri(),
            "file://otherhost/share",
        )
    )
    assert paths == [(tmp_path / "a").resolve()]


def test_replace_policy_uses_the_client_roots(tmp_path: Path) -> None:
    base = Workspace(tmp_path)
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    workspace = WorkspaceResolver(base, policy="replace").workspace_from([elsewhere])
    assert workspace.root == elsewhere.resolve()


def test_narrow_policy_drops_roots_outside_and_keeps_read_only(tmp_path: Path) -> None:
    inside = tmp_path / "ws" / "pkg"
    inside.mkdir(parents=True)
    docs = tmp_path / "docs"
    (docs / "api").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    base = Workspace(tmp_path / "ws", extra_roots=[WorkspaceRoot(docs, "ro")])
    resolver = WorkspaceResolver(base, policy="narrow")
    workspace = resolver.workspace_from([outside.resolve(), inside.resolve(), docs / "api"])
    assert workspace.root == inside.resolve()
    modes = {r.path: r.mode for r in workspace.roots}
    assert modes[(docs / "api").resolve()] == "ro"
    assert outside.resolve() not in modes
    # Only read-only roots offered: a client cannot make them the writable primary root.
    assert resolver.workspace_from([docs / "api"]) is base
    assert resolver.workspace_from([outside]) is base


def test_prompts_render_and_validate() -> None:
    assert {p.name for p in list_prompts()} == {"code_review", "research"}
    review = get_prompt("code_review", {"path": "src/app.py"})
    text = review.messages[0].content
    assert isinstance(text, types.TextContent)
    assert "src/app.py" in text.text
    assert "grep_search" in text.text
    research = get_prompt("research", {"topic": "MCP elicitation"})
    content = research.messages[0].content
    assert isinstance(content, types.TextContent)
    assert "MCP elicitation" in content.text
    with pytest.raises(MCPError, match="topic"):
        get_prompt("research", {})
    with pytest.raises(MCPError, match="unknown prompt"):
        get_prompt("nope", None)
