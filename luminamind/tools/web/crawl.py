"""``web_crawl``: breadth-first, polite, deduplicated, bounded.

Level by level from the start URL: the pages of one depth are fetched concurrently (at most
``web.crawl_concurrency`` at a time), requests to one host start at least
``web.crawl_delay_seconds`` apart (or the site's robots.txt ``Crawl-delay``, up to 10 s), and
robots.txt is honoured as RFC 9309 says: 4xx means no rules, 5xx or unreachable means stay out.
URLs are compared normalised (scheme and host lower case, default port and fragment dropped), so
loops and ``#anchors`` cost nothing. ``same_site`` keeps the crawl on the start host and its
subdomains (``www.`` ignored).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import structlog
from pydantic import BaseModel, Field

from luminamind.errors import LuminaError
from luminamind.tools.web.content import PageText, extract_links
from luminamind.tools.web.fetch import fetch_page

if TYPE_CHECKING:
    from luminamind.tools.web.http import FetchedBody, WebClient

__all__ = ["CrawlPage", "CrawlResult", "CrawlSkip", "crawl", "normalise_url"]

_log = structlog.get_logger(__name__)
_ROBOTS_AGENT = "LuminaMind"
_MAX_CRAWL_DELAY = 10.0
_MAX_SKIPPED = 50
_DEFAULT_PORTS = {"http": 80, "https": 443}
Progress = Callable[[float, float | None, str], Awaitable[None]]


class CrawlPage(BaseModel):
    """One crawled page."""

    url: str
    title: str | None = None
    depth: int
    kind: str = Field(description="html, text, json, xml or pdf")
    markdown: str
    truncated: bool = Field(description="This page's text was cut at the per-page cap")


class CrawlSkip(BaseModel):
    """A URL the crawl did not read, and why."""

    url: str
    reason: str


class CrawlResult(BaseModel):
    """Pages reached from the start URL, breadth-first."""

    start_url: str
    pages: list[CrawlPage]
    skipped: list[CrawlSkip] = Field(description="Refused, failed or disallowed URLs (capped)")
    truncated: bool = Field(description="Pages were left: page, depth or total character cap")
    note: str | None = None


def normalise_url(url: str) -> str:
    """The form URLs are compared in: lower-case scheme/host, no default port, no fragment."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{parts.port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _site(host: str) -> str:
    return host.lower().removeprefix("www.")


def _same_site(start_host: str, host: str) -> bool:
    start, other = _site(start_host), _site(host)
    return other == start or other.endswith("." + start)


@dataclass
class _Crawler:
    client: WebClient
    max_pages: int
    max_depth: int
    same_site: bool
    progress: Progress
    pages: list[CrawlPage] = field(default_factory=list)
    skipped: list[CrawlSkip] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    chars_left: int = 0
    _robots: dict[str, RobotFileParser | bool] = field(default_factory=dict)
    _robots_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _host_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _next_start: dict[str, float] = field(default_factory=dict)

    def skip(self, url: str, reason: str) -> None:
        if len(self.skipped) < _MAX_SKIPPED:
            self.skipped.append(CrawlSkip(url=url, reason=reason))

    async def allowed(self, url: str) -> tuple[bool, float]:
        """Whether robots.txt lets us fetch ``url``, and the politeness delay for its host."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        lock = self._robots_locks.setdefault(origin, asyncio.Lock())
        async with lock:  # one robots.txt download per origin, however many pages wait on it
            if origin not in self._robots:
                self._robots[origin] = await self._load_robots(origin)
        rules = self._robots[origin]
        delay = self.client.settings.crawl_delay_seconds
        if isinstance(rules, bool):
            return rules, delay
        site_delay = rules.crawl_delay(_ROBOTS_AGENT)
        if site_delay is not None:
            delay = max(delay, min(float(site_delay), _MAX_CRAWL_DELAY))
        return rules.can_fetch(_ROBOTS_AGENT, url), delay

    async def _load_robots(self, origin: str) -> RobotFileParser | bool:
        try:
            fetched = await self.client.fetch(
                f"{origin}/robots.txt", max_bytes=500_000, raise_for_status=False
            )
        except LuminaError as exc:
            _log.info("robots_txt_unreachable", origin=origin, error=exc.message)
            return False
        if 400 <= fetched.status_code < 500:
            return True
        if fetched.status_code >= 500:
            return False
        rules = RobotFileParser()
        rules.parse(fetched.body.decode("utf-8", errors="replace").splitlines())
        return rules

    async def polite_wait(self, host: str, delay: float) -> None:
        async with self._host_locks.setdefault(host, asyncio.Lock()):
            now = time.monotonic()
            start = max(now, self._next_start.get(host, now))
            self._next_start[host] = start + delay
        if start > now:
            await asyncio.sleep(start - now)

    async def visit(self, url: str) -> tuple[FetchedBody, PageText] | None:
        try:
            ok, delay = await self.allowed(url)
            if not ok:
                self.skip(url, "disallowed by robots.txt")
                return None
            await self.polite_wait(urlsplit(url).hostname or "", delay)
            settings = self.client.settings
            return await fetch_page(
                self.client, url, max_bytes=settings.max_bytes, max_chars=settings.crawl_page_chars
            )
        except LuminaError as exc:
            self.skip(url, exc.message)
            return None

    def links(self, fetched: FetchedBody, start_host: str) -> list[str]:
        found: list[str] = []
        for link in extract_links(
            fetched.body, base_url=fetched.final_url, declared=fetched.charset
        ):
            key = normalise_url(link)
            if key in self.seen:
                continue
            if self.same_site and not _same_site(start_host, urlsplit(key).hostname or ""):
                continue
            self.seen.add(key)
            found.append(key)
        return found

    def add_page(self, url: str, depth: int, page: PageText) -> None:
        keep = min(self.client.settings.crawl_page_chars, self.chars_left)
        self.chars_left -= min(keep, len(page.text))
        self.pages.append(
            CrawlPage(
                url=url,
                title=page.title,
                depth=depth,
                kind=page.kind,
                markdown=page.text[:keep],
                truncated=len(page.text) > keep,
            )
        )


async def _take(
    crawler: _Crawler,
    target: str,
    result: tuple[FetchedBody, PageText],
    depth: int,
    start_host: str,
) -> list[str]:
    """Record one fetched page; return the new links to visit at the next depth."""
    fetched, page = result
    final = normalise_url(fetched.final_url)
    if final != target:
        if crawler.same_site and not _same_site(start_host, urlsplit(final).hostname or ""):
            crawler.skip(target, f"redirected off-site to {final}")
            return []
        if final in crawler.seen:
            return []  # a redirect onto a page already queued or read
        crawler.seen.add(final)
    if len(crawler.pages) >= crawler.max_pages or crawler.chars_left <= 0:
        return []
    crawler.add_page(final, depth, page)
    await crawler.progress(len(crawler.pages), crawler.max_pages, final)
    if page.kind != "html" or depth >= crawler.max_depth:
        return []
    return crawler.links(fetched, start_host)


async def crawl(
    client: WebClient,
    url: str,
    *,
    max_pages: int,
    max_depth: int,
    same_site: bool,
    progress: Progress,
) -> CrawlResult:
    """Crawl from ``url``; see the module docstring for the rules."""
    start, start_host, _port, _ip = client.guard.check_syntax(url)
    crawler = _Crawler(client, max_pages, max_depth, same_site, progress)
    crawler.chars_left = client.settings.max_markdown_chars
    crawler.seen.add(normalise_url(start))
    level, depth, left_over = [normalise_url(start)], 0, False
    sem = asyncio.Semaphore(client.settings.crawl_concurrency)

    async def bounded(target: str) -> tuple[FetchedBody, PageText] | None:
        async with sem:
            return await crawler.visit(target)

    while level and not left_over:
        following: list[str] = []
        queue = level
        while queue:
            budget = max_pages - len(crawler.pages)
            if budget <= 0 or crawler.chars_left <= 0:
                left_over = True
                break
            # Failed pages do not use the budget, so a level may take more than one batch.
            batch, queue = queue[:budget], queue[budget:]
            results = await asyncio.gather(*(bounded(u) for u in batch))
            for target, result in zip(batch, results, strict=True):
                if result is not None:
                    following.extend(await _take(crawler, target, result, depth, start_host))
        level, depth = following, depth + 1
    notes: list[str] = []
    if left_over:
        notes.append("more pages were reachable: raise max_pages, or crawl from a deeper URL")
    if crawler.chars_left <= 0:
        notes.append(f"stopped at the total cap of {client.settings.max_markdown_chars} characters")
    return CrawlResult(
        start_url=start,
        pages=crawler.pages,
        skipped=crawler.skipped,
        truncated=left_over or crawler.chars_left <= 0,
        note="; ".join(notes) or None,
    )
