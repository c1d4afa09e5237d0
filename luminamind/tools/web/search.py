"""``web_search`` providers: Serper, Tavily, Brave (with keys) and ddgs (no key), one result shape.

Provider choice (``web.search_provider``): ``auto`` takes the first provider with a key in the
order Serper, Tavily, Brave, and falls back to ddgs, which needs none. Naming a provider whose
key is missing is a `ToolNotConfiguredError` naming the variable to set. Every keyed provider's
base URL is configurable (``web.serper_base_url`` ...), and its calls go through the guarded
client with retries on 429/503. ddgs talks to its own fixed set of public search engines with
its own HTTP stack, so the URL guard does not apply to it (nothing user-supplied is in the URL).
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from luminamind.config import WebSettings
from luminamind.errors import ToolExecutionError, ToolNotConfiguredError

if TYPE_CHECKING:
    from luminamind.tools.web.http import WebClient

__all__ = [
    "DdgsFactory",
    "SearchHit",
    "SearchResult",
    "choose_provider",
    "normalise_brave",
    "normalise_ddgs",
    "normalise_serper",
    "normalise_tavily",
    "run_search",
]

_TAGS = re.compile(r"<[^>]+>")
_MAX_TITLE = 300
_MAX_SNIPPET = 600
_KEYS = {"serper": "SERPER_API_KEY", "tavily": "TAVILY_API_KEY", "brave": "BRAVE_API_KEY"}


class SearchHit(BaseModel):
    """One search result, the same shape for every provider."""

    title: str
    url: str
    snippet: str = ""
    source: str = Field(description="The site the result is on (host name)")


class SearchResult(BaseModel):
    """Search results for one query."""

    query: str
    provider: str = Field(description="serper, tavily, brave or ddgs")
    results: list[SearchHit]
    truncated: bool = Field(description="The provider returned more results than asked for")


class _DdgsLike(Protocol):
    def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]: ...  # Any: ddgs's API


# Builds a ddgs client from the timeout; tests inject a fake that speaks ddgs's result shape.
DdgsFactory = Callable[[int], _DdgsLike]


def _clean(text: object, limit: int) -> str:
    value = html.unescape(_TAGS.sub("", str(text or ""))).strip()
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _hit(title: object, url: object, snippet: object) -> SearchHit | None:
    link = str(url or "").strip()
    if urlsplit(link).scheme not in ("http", "https"):
        return None  # ads, "related searches" and malformed rows carry no usable link
    return SearchHit(
        title=_clean(title, _MAX_TITLE) or link,
        url=link,
        snippet=_clean(snippet, _MAX_SNIPPET),
        source=(urlsplit(link).hostname or "").removeprefix("www."),
    )


def _rows(data: Any, *path: str) -> Sequence[Mapping[str, Any]]:  # Any: provider JSON
    node = data
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    if node is None:
        return []
    if not isinstance(node, list):
        raise ToolExecutionError(f"unexpected search answer: '{'.'.join(path)}' is not a list")
    return [row for row in node if isinstance(row, Mapping)]


def _collect(
    rows: Sequence[Mapping[str, Any]], title: str, url: str, snippet: str
) -> list[SearchHit]:
    hits = (_hit(row.get(title), row.get(url), row.get(snippet)) for row in rows)
    return [h for h in hits if h is not None]


def normalise_serper(data: Any) -> list[SearchHit]:  # Any: provider JSON
    """Serper's ``/search`` answer: ``organic[].{title, link, snippet}``."""
    return _collect(_rows(data, "organic"), "title", "link", "snippet")


def normalise_tavily(data: Any) -> list[SearchHit]:  # Any: provider JSON
    """Tavily's ``/search`` answer: ``results[].{title, url, content}``."""
    return _collect(_rows(data, "results"), "title", "url", "content")


def normalise_brave(data: Any) -> list[SearchHit]:  # Any: provider JSON
    """Brave's ``/res/v1/web/search`` answer: ``web.results[].{title, url, description}``."""
    return _collect(_rows(data, "web", "results"), "title", "url", "description")


def normalise_ddgs(rows: Any) -> list[SearchHit]:  # Any: ddgs's result dicts
    """ddgs's ``DDGS().text()`` rows: ``{title, href, body}``."""
    if not isinstance(rows, list):
        raise ToolExecutionError("unexpected ddgs answer: not a list of results")
    return _collect([r for r in rows if isinstance(r, Mapping)], "title", "href", "body")


def choose_provider(web: WebSettings) -> str:
    """The provider to use, or `ToolNotConfiguredError` when the chosen one has no key."""
    keys = {"serper": web.serper_api_key, "tavily": web.tavily_api_key, "brave": web.brave_api_key}
    if web.search_provider == "auto":
        return next((name for name, key in keys.items() if key is not None), "ddgs")
    if web.search_provider != "ddgs" and keys[web.search_provider] is None:
        raise ToolNotConfiguredError(
            f"web.search_provider is '{web.search_provider}' but no key is set: set "
            f"{_KEYS[web.search_provider]} (or LUMINAMIND_WEB__{web.search_provider.upper()}"
            "_API_KEY), or set web.search_provider to 'auto' to use the key-less ddgs"
        )
    return web.search_provider


def _secret(web: WebSettings, provider: str) -> str:
    key = getattr(web, f"{provider}_api_key")
    assert key is not None  # choose_provider checked it
    return str(key.get_secret_value())


async def _keyed_search(client: WebClient, provider: str, query: str, num: int) -> list[SearchHit]:
    web = client.settings
    key, hint = _secret(web, provider), _KEYS[provider]
    if provider == "serper":
        data = await client.request_json(
            "POST",
            f"{web.serper_base_url.rstrip('/')}/search",
            provider="serper",
            key_hint=hint,
            json_body={"q": query, "num": num},
            headers={"X-API-KEY": key},
        )
        return normalise_serper(data)
    if provider == "tavily":
        data = await client.request_json(
            "POST",
            f"{web.tavily_base_url.rstrip('/')}/search",
            provider="tavily",
            key_hint=hint,
            json_body={"query": query, "max_results": num, "search_depth": "basic"},
            headers={"Authorization": f"Bearer {key}"},
        )
        return normalise_tavily(data)
    data = await client.request_json(
        "GET",
        f"{web.brave_base_url.rstrip('/')}/res/v1/web/search",
        provider="brave",
        key_hint=hint,
        params={"q": query, "count": num},
        headers={"X-Subscription-Token": key},
    )
    return normalise_brave(data)


def _real_ddgs(timeout: int) -> _DdgsLike:
    from ddgs import DDGS

    client: _DdgsLike = DDGS(timeout=timeout)
    return client


async def _ddgs_search(
    web: WebSettings, query: str, num: int, factory: DdgsFactory | None
) -> list[SearchHit]:
    from ddgs.exceptions import DDGSException

    def search() -> Any:  # Any: ddgs's result dicts, normalised below
        return (factory or _real_ddgs)(max(1, int(web.timeout_seconds))).text(
            query, max_results=num
        )

    try:
        rows = await asyncio.to_thread(search)
    except DDGSException as exc:
        # ddgs raises "No results found." when every engine came back empty.
        if "no results" in str(exc).lower():
            return []
        raise ToolExecutionError(
            f"ddgs search failed: {exc}; retry later, or set SERPER_API_KEY, TAVILY_API_KEY "
            "or BRAVE_API_KEY to use a keyed provider"
        ) from None
    return normalise_ddgs(rows)


async def run_search(
    web: WebSettings,
    query: str,
    num_results: int,
    *,
    client: WebClient | None = None,
    ddgs_factory: DdgsFactory | None = None,
) -> SearchResult:
    """Search with the configured provider and normalise the results.

    Args:
        web: the ``web`` settings (provider, keys, base URLs).
        query: what to search for.
        num_results: how many results to return at most.
        client: the guarded HTTP client (one is built when omitted).
        ddgs_factory: builds the ddgs client (the real ``ddgs.DDGS`` by default).
    """
    provider = choose_provider(web)
    if provider == "ddgs":
        hits = await _ddgs_search(web, query, num_results, ddgs_factory)
    elif client is not None:
        hits = await _keyed_search(client, provider, query, num_results)
    else:
        from luminamind.tools.web.http import WebClient  # httpx loads on the first search

        async with WebClient(web) as own:
            hits = await _keyed_search(own, provider, query, num_results)
    return SearchResult(
        query=query,
        provider=provider,
        results=hits[:num_results],
        truncated=len(hits) > num_results,
    )
