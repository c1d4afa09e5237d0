"""The web-researcher subagent end to end: search (Serper shape), fetch a page, report back.

Everything is real but local: the scripted model server, a search provider endpoint speaking
Serper's response shape and the page it links to, both on 127.0.0.1 (allowed by the URL guard
only because these settings list it).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from luminamind.agent.events import (
    FinalAnswer,
    SubagentFinished,
    SubagentStarted,
    ToolFinished,
    ToolStarted,
)
from luminamind.agent.service import AgentService
from luminamind.config import Settings
from tests.support.http_servers import LocalHttpServer, Reply, Request
from tests.support.llm_server import ScriptedLLM, Turn

ARTICLE = """<html><head><title>Release notes</title></head><body>
<nav>Home | Blog | Careers | Login</nav>
<article><h1>Lumina 3.2 released</h1>
<p>Lumina 3.2 ships a new incremental indexer that is four times faster on large
monorepos, and drops support for Python 3.9.</p>
<p>The release was published on 2026-11-02 by the core team.</p></article>
<footer>Copyright 2026. Cookie settings.</footer></body></html>"""


@pytest.fixture
def web_server() -> Iterator[LocalHttpServer]:
    with LocalHttpServer() as server:
        yield server


async def test_web_researcher_searches_fetches_and_reports(
    llm_settings: Settings, llm_server: ScriptedLLM, web_server: LocalHttpServer
) -> None:
    searches: list[Request] = []
    page_url = web_server.url("/blog/lumina-3-2")

    def serper(request: Request) -> Reply:
        searches.append(request)
        organic = [{"title": "Lumina 3.2 released", "link": page_url, "snippet": "indexer"}]
        return Reply.json({"searchParameters": {"q": "lumina 3.2"}, "organic": organic})

    web_server.route("/serper/search", serper)
    web_server.route("/blog/lumina-3-2", Reply.html(ARTICLE))
    web = llm_settings.web.model_copy(
        update={
            "search_provider": "serper",
            "serper_api_key": SecretStr("serper-test-key"),
            "serper_base_url": web_server.url("/serper"),
            "allowed_hosts": ["127.0.0.1"],
        }
    )
    settings = llm_settings.model_copy(update={"state_backend": "memory", "web": web})
    llm_server.script(
        [
            Turn.tool_calls(
                (
                    "task",
                    {
                        "description": "What is new in Lumina 3.2? Cite the source.",
                        "subagent_type": "web-researcher",
                    },
                )
            ),
            Turn.text("Lumina 3.2 has a 4x faster indexer (per the release notes)."),
        ]
    )
    llm_server.script_for(
        "web-researcher subagent",
        [
            Turn.tool_calls(("web_search", {"query": "lumina 3.2 release", "num_results": 3})),
            Turn.tool_calls(("fetch_as_markdown", {"url": page_url})),
            Turn.text(f"Lumina 3.2: incremental indexer 4x faster; source {page_url}"),
        ],
    )
    async with AgentService.open(settings, surface="cli") as service:
        events = [e async for e in service.stream("research", "What is new in Lumina 3.2?")]

    assert isinstance(events[-1], FinalAnswer)
    assert "4x faster" in events[-1].text
    started = [(e.agent, e.tool) for e in events if isinstance(e, ToolStarted)]
    assert ("web-researcher", "web_search") in started
    assert ("web-researcher", "fetch_as_markdown") in started
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert [(e.tool, e.status) for e in finished] == [
        ("web_search", "ok"),
        ("fetch_as_markdown", "ok"),
    ]
    delegated = [e for e in events if isinstance(e, SubagentStarted | SubagentFinished)]
    assert [type(e).__name__ for e in delegated] == ["SubagentStarted", "SubagentFinished"]
    assert delegated[0].subagent == "web-researcher"
    assert searches[0].json() == {"q": "lumina 3.2 release", "num": 3}

    researcher_calls = [c for c in llm_server.calls if "web-researcher subagent" in c.system]
    tools_offered = {t["function"]["name"] for t in researcher_calls[0].body.get("tools", [])}
    assert {"web_search", "fetch_as_markdown", "web_crawl"} <= tools_offered
    assert "write_file" not in tools_offered
    # The search result and the page reached the subagent's model as clean text.
    assert page_url in researcher_calls[1].tool_results[-1]
    page_text = researcher_calls[2].tool_results[-1]
    assert "four times faster" in page_text
    assert "Cookie settings" not in page_text
    # The subagent's report is what the main agent got back from `task`.
    assert "incremental indexer 4x faster" in llm_server.calls[-1].tool_results[-1]
    llm_server.assert_done()
