"""fetch_as_markdown against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from luminamind.errors import ToolArgumentsError, ToolExecutionError, UrlBlockedError
from luminamind.security.url_guard import GuardedUrl, UrlGuard
from luminamind.tools.web.http import WebClient
from tests.support.http_servers import LocalHttpServer, Reply
from tests.support.web_tools import CallTool, MakeSettings

ARTICLE = " ".join(["LuminaMind reads the main content of pages and leaves the chrome out."] * 6)
BOILERPLATE_PAGE = f"""<!doctype html><html><head><title>Release notes</title>
<style>.x {{ color: red }}</style><script>var tracking = "SCRIPT-NOISE";</script></head>
<body><nav><a href="/">Home</a> | <a href="/pricing">Pricing</a> | NAV-NOISE</nav>
<div class="cookie-banner">We use cookies. COOKIE-NOISE</div>
<main><article><h1>Version 2.0</h1><p>{ARTICLE}</p>
<h2>Changes</h2><ul><li>Faster crawling</li><li>Safer fetching</li></ul>
<p>See <a href="/docs">the docs</a> for details and more information about it.</p></article></main>
<footer>Copyright 2025 Example Corp. FOOTER-NOISE. All rights reserved.</footer></body></html>"""


def tiny_pdf(text: str, title: str) -> bytes:
    """A one-page PDF with ``text`` in Helvetica and a document title, built byte by byte."""
    content = f"BT /F1 18 Tf 20 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 144] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Title ({title}) >>".encode(),
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return out


async def test_html_boilerplate_becomes_clean_markdown(
    server: LocalHttpServer, call_tool: CallTool
) -> None:
    url = server.route("/article", Reply.html(BOILERPLATE_PAGE))
    result = await call_tool("fetch_as_markdown", url=url)
    assert result.title == "Release notes"
    assert result.kind == "html"
    assert "# Version 2.0" in result.markdown
    assert "- Faster crawling" in result.markdown
    assert ARTICLE[:60] in result.markdown
    for noise in ("SCRIPT-NOISE", "NAV-NOISE", "FOOTER-NOISE", "color: red"):
        assert noise not in result.markdown
    assert f"[the docs]({server.url('/docs')})" in result.markdown
    assert result.truncated is False
    assert result.next_offset is None


async def test_redirect_chain_is_followed_and_each_hop_recorded(
    server: LocalHttpServer, call_tool: CallTool
) -> None:
    server.route("/hop1", Reply.redirect("/hop2", status=301))
    server.route("/hop2", Reply.redirect(server.url("/hop3"), status=307))
    server.route("/hop3", Reply.redirect("/landing", status=308))
    server.route("/landing", Reply(body=b"arrived", headers={"Content-Type": "text/plain"}))
    result = await call_tool("fetch_as_markdown", url=server.url("/hop1"))
    assert result.markdown == "arrived"
    assert result.final_url == server.url("/landing")
    assert result.redirects == [server.url(p) for p in ("/hop2", "/hop3", "/landing")]


async def test_redirect_loop_stops_at_the_redirect_limit(
    server: LocalHttpServer, call_tool: CallTool, make_settings: MakeSettings
) -> None:
    server.route("/loop", Reply.redirect("/loop"))
    with pytest.raises(ToolExecutionError, match="more than 3 redirects"):
        await call_tool(
            "fetch_as_markdown", settings=make_settings(max_redirects=3), url=server.url("/loop")
        )
    assert server.count("/loop") == 4


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://10.20.30.40/admin", "private address"),
        ("http://[::ffff:192.168.1.1]/", "private address"),
        ("http://0x7f000002:6379/", "loopback"),  # 127.0.0.2: not on the allowlist
    ],
)
async def test_redirect_to_a_non_public_address_is_refused_on_that_hop(
    server: LocalHttpServer, call_tool: CallTool, target: str, reason: str
) -> None:
    path = f"/to-internal-{abs(hash(target))}"
    server.route(path, Reply.redirect(target))
    with pytest.raises(UrlBlockedError, match=reason):
        await call_tool("fetch_as_markdown", url=server.url(path))
    assert server.count(path) == 1  # the first hop was allowed; the refused one never left


async def test_loopback_is_refused_without_the_allowlist(
    server: LocalHttpServer, call_tool: CallTool, make_settings: MakeSettings
) -> None:
    url = server.route("/private", Reply(body=b"secret"))
    with pytest.raises(UrlBlockedError, match="loopback"):
        await call_tool("fetch_as_markdown", settings=make_settings(allowed_hosts=[]), url=url)
    assert server.count("/private") == 0


async def test_a_name_resolving_to_loopback_is_refused_unless_allowlisted(
    server: LocalHttpServer, call_tool: CallTool, make_settings: MakeSettings
) -> None:
    server.route("/by-name", Reply(body=b"reached by name", headers={"Content-Type": "text/plain"}))
    url = f"http://localhost:{server.port}/by-name"
    with pytest.raises(UrlBlockedError, match=r"'localhost' resolves to (127\.0\.0\.1|::1)"):
        await call_tool("fetch_as_markdown", settings=make_settings(allowed_hosts=[]), url=url)
    assert server.count("/by-name") == 0
    result = await call_tool(
        "fetch_as_markdown", settings=make_settings(allowed_hosts=["localhost"]), url=url
    )
    assert result.markdown == "reached by name"


async def test_connections_go_to_the_checked_address_with_the_original_host_header(
    server: LocalHttpServer, make_settings: MakeSettings
) -> None:
    """The pin: a name that DNS cannot resolve still reaches the address the guard checked."""
    server.route("/pinned", Reply(body=b"pinned", headers={"Content-Type": "text/plain"}))
    settings = make_settings()
    async with WebClient(settings.web) as client:
        guarded = await UrlGuard(["127.0.0.1"]).check(server.url("/pinned"))
        client._backend.pin(
            GuardedUrl("rebind.invalid", "rebind.invalid", server.port, guarded.addresses)
        )
        response = await client._client.get(f"http://rebind.invalid:{server.port}/pinned")
        assert response.text == "pinned"
        # A host the guard never checked has no pin: the connection is refused, DNS unused.
        with pytest.raises(Exception, match="not checked by the URL guard"):
            await client._client.get(f"http://unchecked.invalid:{server.port}/pinned")
    seen = [r for r in server.requests if r.path == "/pinned"]
    assert seen[-1].headers["host"] == f"rebind.invalid:{server.port}"


async def test_slow_server_times_out(
    server: LocalHttpServer, call_tool: CallTool, make_settings: MakeSettings
) -> None:
    url = server.route("/slow", Reply(body=b"late", delay=1.5))
    started = time.monotonic()
    with pytest.raises(ToolExecutionError, match=r"within 0\.3 s"):
        await call_tool("fetch_as_markdown", settings=make_settings(timeout_seconds=0.3), url=url)
    assert time.monotonic() - started < 1.2


async def test_a_body_that_trickles_in_is_cut_off_by_the_overall_deadline(
    server: LocalHttpServer, call_tool: CallTool, make_settings: MakeSettings
) -> None:
    # Each chunk arrives within the per-read timeout; the whole never does.
    url = server.route(
        "/drip",
        Reply(body=[b"x" * 10] * 50, headers={"Content-Type": "text/plain"}, chunk_delay=0.1),
    )
    with pytest.raises(ToolExecutionError, match="no complete answer"):
        await call_tool("fetch_as_markdown", settings=make_settings(timeout_seconds=0.5), url=url)


async def test_huge_page_is_capped_with_flags_and_a_way_to_read_on(
    server: LocalHttpServer, call_tool: CallTool, make_settings: MakeSettings
) -> None:
    lines = b"".join(b"line %06d of a very long text file\n" % i for i in range(100_000))
    url = server.route("/huge", Reply(body=lines, headers={"Content-Type": "text/plain"}))
    result = await call_tool("fetch_as_markdown", url=url, max_bytes=50_000)
    assert result.body_truncated is True
    assert result.truncated is True
    assert result.bytes_read == 50_000
    assert "max_bytes" in result.note

    settings = make_settings(max_markdown_chars=1000)
    first = await call_tool("fetch_as_markdown", settings=settings, url=url, max_bytes=5000)
    assert len(first.markdown) == 1000
    assert first.next_offset == 1000
    second = await call_tool(
        "fetch_as_markdown", settings=settings, url=url, max_bytes=5000, offset=first.next_offset
    )
    assert second.offset == 1000
    assert (first.markdown + second.markdown).startswith(lines[:2000].decode())


@pytest.mark.parametrize(
    ("body", "content_type", "expected", "encoding"),
    [
        # Declared UTF-8, sent Latin-1: the declaration is wrong and detection takes over.
        ("Crème brûlée à la carte, déjà vu".encode("latin-1"), "text/plain; charset=utf-8",
         "Crème brûlée à la carte, déjà vu", "cp1252"),
        ("Привет, мир, как дела сегодня".encode("cp1251"), "text/plain; charset=utf-8",
         "Привет, мир, как дела сегодня", "cp1251"),
        # Declared Latin-1 (a common server default), sent UTF-8: UTF-8 wins.
        ("Grüße aus Köln — 東京".encode(), "text/plain; charset=ISO-8859-1",
         "Grüße aus Köln — 東京", "utf-8"),
        # Correctly declared non-UTF-8 charsets are honoured.
        ("日本語のテキストです".encode("shift_jis"), "text/plain; charset=Shift_JIS",
         "日本語のテキストです", "shift_jis"),
        ("Привет, мир".encode("koi8-r"), 'text/plain; charset="KOI8-R"', "Привет, мир", "koi8-r"),
    ],
)  # fmt: skip
async def test_declared_and_wrong_charsets(
    server: LocalHttpServer,
    call_tool: CallTool,
    body: bytes,
    content_type: str,
    expected: str,
    encoding: str | None,
) -> None:
    path = f"/charset-{abs(hash(body))}"
    url = server.route(path, Reply(body=body, headers={"Content-Type": content_type}))
    result = await call_tool("fetch_as_markdown", url=url)
    assert result.markdown == expected
    if encoding:
        assert result.encoding == encoding


async def test_html_meta_charset_is_used_when_the_header_has_none(
    server: LocalHttpServer, call_tool: CallTool
) -> None:
    page = (
        '<html><head><meta charset="windows-1251"><title>Новости</title></head><body>'
        "<article><h1>Заголовок</h1><p>" + "Это основной текст статьи. " * 20 + "</p></article>"
        "</body></html>"
    )
    url = server.route(
        "/cp1251", Reply(body=page.encode("windows-1251"), headers={"Content-Type": "text/html"})
    )
    result = await call_tool("fetch_as_markdown", url=url)
    assert result.encoding == "windows-1251"
    assert result.title == "Новости"
    assert "Это основной текст статьи." in result.markdown


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000, "is image/png"),
        ("application/zip", b"PK\x03\x04" + b"\x00" * 100, "is application/zip"),
        ("application/octet-stream", b"\x7fELF\x02\x01\x01" + b"\x00" * 500, "binary data"),
        ("text/plain", b"looks like text\x00\x00\x01\x02 but is not", "labelled text/plain"),
    ],
)
async def test_binary_files_are_refused_with_their_type(
    server: LocalHttpServer, call_tool: CallTool, content_type: str, body: bytes, message: str
) -> None:
    path = f"/binary-{content_type.replace('/', '-')}"
    url = server.route(path, Reply(body=body, headers={"Content-Type": content_type}))
    with pytest.raises(ToolExecutionError, match=message) as info:
        await call_tool("fetch_as_markdown", url=url)
    assert "HTML, plain text, JSON, XML and PDF" in info.value.message


async def test_pdf_text_is_extracted(server: LocalHttpServer, call_tool: CallTool) -> None:
    pdf = tiny_pdf("Quarterly report: revenue grew", "Q3 Report")
    url = server.route("/report.pdf", Reply(body=pdf, headers={"Content-Type": "application/pdf"}))
    result = await call_tool("fetch_as_markdown", url=url)
    assert result.kind == "pdf"
    assert result.title == "Q3 Report"
    assert "Quarterly report: revenue grew" in result.markdown
    # Served without a content type, the PDF is recognised by its magic bytes.
    url = server.route("/unlabelled", Reply(body=pdf))
    assert (await call_tool("fetch_as_markdown", url=url)).kind == "pdf"
    with pytest.raises(ToolExecutionError, match="a PDF cannot be read in part"):
        await call_tool("fetch_as_markdown", url=url, max_bytes=200)


async def test_json_passes_through(server: LocalHttpServer, call_tool: CallTool) -> None:
    url = server.route("/data.json", Reply.json({"name": "lumina", "tags": ["a", "b"]}))
    result = await call_tool("fetch_as_markdown", url=url)
    assert result.kind == "json"
    assert result.markdown == '{"name": "lumina", "tags": ["a", "b"]}'


async def test_http_errors_and_bad_arguments_are_typed(
    server: LocalHttpServer, call_tool: CallTool
) -> None:
    with pytest.raises(ToolExecutionError, match="HTTP 404"):
        await call_tool("fetch_as_markdown", url=server.url("/missing"))
    with pytest.raises(UrlBlockedError, match="only http:// and https://"):
        await call_tool("fetch_as_markdown", url="file:///etc/passwd")
    with pytest.raises(UrlBlockedError, match="credentials"):
        await call_tool("fetch_as_markdown", url=f"http://user:pw@127.0.0.1:{server.port}/")
    with pytest.raises(ToolArgumentsError) as info:
        await call_tool("fetch_as_markdown", url=server.url("/x"), max_bytes=0)
    assert info.value.fields == ("max_bytes",)
