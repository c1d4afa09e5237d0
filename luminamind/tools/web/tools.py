"""The web tools: ``web_search``, ``web_crawl``, ``get_weather``, ``fetch_as_markdown``.

Every request they make goes through ``luminamind.tools.web.http.WebClient``: the URL guard
checks each hop (redirects included) and the connection is pinned to the checked address. All
results are bounded (characters, bytes, pages) and say when they were cut and how to read on.
All four are cacheable: the executor serves repeated calls from the tool-result cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from luminamind.config import WebSettings
from luminamind.tools.context import ToolContext
from luminamind.tools.registry import tool
from luminamind.tools.web.crawl import CrawlResult, crawl
from luminamind.tools.web.fetch import FetchResult, fetch_page, fetch_result
from luminamind.tools.web.search import SearchResult, run_search
from luminamind.tools.web.weather import Units, WeatherResult, get_forecast

if TYPE_CHECKING:
    from luminamind.tools.web.http import WebClient

__all__ = ["TOOLS", "fetch_as_markdown", "get_weather", "web_crawl", "web_search"]


def _client(settings: WebSettings) -> WebClient:
    # httpx and the pinned network backend load on the first web call, not with the registry.
    from luminamind.tools.web.http import WebClient

    return WebClient(settings)


Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=8192,
        description="An http:// or https:// URL of a public site",
    ),
]


@tool(family="web", open_world=True, read_only=True, cacheable=True, cache_ttl_seconds=3600)
async def fetch_as_markdown(
    ctx: ToolContext,
    *,
    url: Url,
    max_bytes: Annotated[
        int | None,
        Field(
            ge=1, description="Download at most this many bytes (default and cap: web.max_bytes)"
        ),
    ] = None,
    offset: Annotated[
        int, Field(ge=0, description="Start at this character of the Markdown (to read on)")
    ] = 0,
) -> FetchResult:
    """Fetch a web page and return its main content as Markdown.

    HTML is reduced to its main content (navigation, footers and ads dropped); plain text, JSON
    and XML pass through; PDFs become text. Images, archives and other binary files are refused
    with their type. Private, loopback and cloud-metadata addresses are refused. Long content is
    cut at a character cap: `next_offset` says where to read on.
    """
    web = ctx.settings.web
    cap = min(max_bytes or web.max_bytes, web.max_bytes)
    async with _client(web) as client:
        fetched, page = await fetch_page(
            client, url, max_bytes=cap, max_chars=offset + web.max_markdown_chars
        )
    return fetch_result(
        fetched, page, offset=offset, max_chars=web.max_markdown_chars, settings=web
    )


@tool(family="web", open_world=True, read_only=True, cacheable=True, cache_ttl_seconds=3600)
async def web_search(
    ctx: ToolContext,
    *,
    query: Annotated[str, Field(min_length=1, max_length=500, description="What to search for")],
    num_results: Annotated[int, Field(ge=1, le=20, description="How many results")] = 5,
) -> SearchResult:
    """Search the web and return titles, URLs and snippets.

    Uses Serper, Tavily or Brave when their API key is configured, otherwise the key-less ddgs
    metasearch. Follow up with fetch_as_markdown to read a result.
    """
    return await run_search(ctx.settings.web, query, num_results)


@tool(family="web", open_world=True, read_only=True, cacheable=True, cache_ttl_seconds=3600)
async def web_crawl(
    ctx: ToolContext,
    *,
    url: Url,
    max_pages: Annotated[int, Field(ge=1, le=50, description="Pages to read at most")] = 10,
    max_depth: Annotated[
        int, Field(ge=0, le=5, description="Links to follow from the start page (0: just it)")
    ] = 2,
    same_site: Annotated[
        bool, Field(description="Stay on the start URL's site (and its subdomains)")
    ] = True,
) -> CrawlResult:
    """Crawl a site breadth-first from a URL and return each page's title, URL and Markdown.

    Honours robots.txt and a politeness delay, skips duplicate URLs, and caps the text per page
    and in total. Use it to read documentation sections; use fetch_as_markdown for one page.
    """
    async with _client(ctx.settings.web) as client:
        return await crawl(
            client,
            url,
            max_pages=max_pages,
            max_depth=max_depth,
            same_site=same_site,
            progress=ctx.progress,
        )


@tool(family="web", open_world=True, read_only=True, cacheable=True, cache_ttl_seconds=900)
async def get_weather(
    ctx: ToolContext,
    *,
    location: Annotated[
        str,
        Field(
            min_length=1,
            max_length=200,
            description="A place ('Lyon', 'Lyon, France') or coordinates ('45.76,4.84')",
        ),
    ],
    units: Annotated[Units, Field(description="metric (°C, km/h, mm) or imperial")] = "metric",
    days: Annotated[int, Field(ge=1, le=16, description="Days of daily forecast")] = 3,
) -> WeatherResult:
    """Current weather and a daily forecast for a place, from Open-Meteo (no key needed)."""
    async with _client(ctx.settings.web) as client:
        return await get_forecast(client, location, units=units, days=days)


TOOLS = (web_search, web_crawl, get_weather, fetch_as_markdown)
