"""web_crawl against real HTTP servers on 127.0.0.1 (a server per test: robots.txt is per site)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from luminamind.tools.web.crawl import normalise_url
from tests.support.http_servers import LocalHttpServer, Reply
from tests.support.web_tools import CallTool, MakeSettings

FILLER = " ".join(["This paragraph is the page's real content, written for the crawler."] * 4)


def page(title: str, *links: str) -> Reply:
    anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    return Reply.html(
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>{FILLER}</p><ul>{anchors}</ul></article></body></html>"
    )


@pytest.fixture
def site() -> Iterator[LocalHttpServer]:
    with LocalHttpServer() as srv:
        yield srv


async def test_crawl_is_breadth_first_deduplicated_and_honours_robots(
    site: LocalHttpServer, call_tool: CallTool
) -> None:
    site.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /private\n"))
    # A loop (/ -> /a -> / and /a -> /b -> /a), the same page spelled three ways, an anchor,
    # a disallowed page, an off-site link (another host name for the same server), mailto.
    site.route(
        "/",
        page(
            "Home",
            "/a",
            "/a#section",
            site.url("/a"),
            f"http://127.0.0.1:{site.port}/b?x=1",
            "/private/secrets",
            f"http://localhost:{site.port}/elsewhere",
            "mailto:team@example.com",
        ),
    )
    site.route("/a", page("A", "/", "/b", "/c"))
    site.route("/b", page("B", "/a", "/"))
    site.route("/c", page("C", "/c", "/d"))
    site.route("/d", page("D"))
    site.route("/private/secrets", page("Secret"))

    result = await call_tool("web_crawl", url=site.url("/"), max_pages=10, max_depth=2)

    # /b?x=1 and /b are different URLs; /a, /a#section and the absolute /a are one.
    assert [(p.title, p.depth) for p in result.pages] == [
        ("Home", 0),
        ("A", 1),
        ("B", 1),
        ("B", 2),
        ("C", 2),
    ]
    urls = [p.url for p in result.pages]
    assert len(urls) == len(set(urls))
    assert site.url("/d") not in urls  # depth 3
    for path in ("/", "/a", "/c", "/robots.txt"):
        assert site.count(path) == 1, path
    assert site.count("/private/secrets") == 0
    assert site.count("/elsewhere") == 0
    assert {"url": site.url("/private/secrets"), "reason": "disallowed by robots.txt"} in [
        s.model_dump() for s in result.skipped
    ]
    assert all(FILLER[:40] in p.markdown for p in result.pages)


async def test_crawl_stops_at_max_pages_and_says_so(
    site: LocalHttpServer, call_tool: CallTool
) -> None:
    site.route("/", page("Hub", *(f"/p{i}" for i in range(8))))
    for i in range(8):
        site.route(f"/p{i}", page(f"P{i}"))
    result = await call_tool("web_crawl", url=site.url("/"), max_pages=3, max_depth=1)
    assert len(result.pages) == 3
    assert result.truncated is True
    assert "max_pages" in result.note
    assert sum(site.count(f"/p{i}") for i in range(8)) == 2


async def test_total_and_per_page_caps(
    site: LocalHttpServer, call_tool: CallTool, make_settings: MakeSettings
) -> None:
    site.route("/", page("Hub", "/x", "/y", "/z"))
    for name in ("x", "y", "z"):
        site.route(f"/{name}", page(name.upper()))
    settings = make_settings(crawl_page_chars=100, max_markdown_chars=250)
    result = await call_tool("web_crawl", settings=settings, url=site.url("/"), max_pages=10)
    assert [len(p.markdown) for p in result.pages] == [100, 100, 50]
    assert all(p.truncated for p in result.pages)
    assert result.truncated is True
    assert "total cap of 250" in result.note


async def test_robots_server_error_means_stay_out(
    site: LocalHttpServer, call_tool: CallTool
) -> None:
    site.route("/robots.txt", Reply(status=503, body=b"down"))
    site.route("/", page("Home"))
    result = await call_tool("web_crawl", url=site.url("/"))
    assert result.pages == []
    assert result.skipped[0].reason == "disallowed by robots.txt"
    assert site.count("/") == 0


async def test_politeness_delay_spaces_requests_to_one_host(
    site: LocalHttpServer, call_tool: CallTool, make_settings: MakeSettings
) -> None:
    site.route("/", page("Home", "/1", "/2", "/3"))
    for i in (1, 2, 3):
        site.route(f"/{i}", page(f"Page {i}"))
    started = time.monotonic()
    settings = make_settings(crawl_delay_seconds=0.2, crawl_concurrency=4)
    result = await call_tool("web_crawl", settings=settings, url=site.url("/"), max_depth=1)
    assert len(result.pages) == 4
    # Four page requests to one host, at least 0.2 s apart although four may run at once.
    assert time.monotonic() - started >= 0.6


async def test_redirect_off_site_is_skipped_and_pdf_pages_are_read(
    site: LocalHttpServer, call_tool: CallTool
) -> None:
    site.route("/", page("Home", "/out", "/notes.txt"))
    site.route("/out", Reply.redirect(f"http://localhost:{site.port}/"))
    site.route("/notes.txt", Reply(body=b"plain notes", headers={"Content-Type": "text/plain"}))
    result = await call_tool("web_crawl", url=site.url("/"))
    assert [p.kind for p in result.pages] == ["html", "text"]
    assert result.pages[1].markdown == "plain notes"
    reasons = {s.url: s.reason for s in result.skipped}
    # The redirect target is refused by the guard before the same-site rule is even needed.
    assert "localhost" in reasons[site.url("/out")]


def test_normalise_url() -> None:
    assert normalise_url("HTTP://Example.COM:80/a?b=1#frag") == "http://example.com/a?b=1"
    assert normalise_url("https://example.com:443") == "https://example.com/"
    assert normalise_url("https://example.com:8443/x") == "https://example.com:8443/x"
