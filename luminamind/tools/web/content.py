"""Turning a downloaded body into text: type checks, charset detection, HTML to Markdown, PDF.

HTML goes through trafilatura (main-content extraction: navigation, footers and cookie banners
dropped), falling back to markdownify over the cleaned page when trafilatura finds no main
content. Plain text, JSON and XML pass through; PDFs become text with pypdf; anything else is
refused with its type, before its body is downloaded when the headers already say what it is.

The parsers (lxml, trafilatura, markdownify, charset_normalizer) are imported on first use:
together they take a few hundred milliseconds to load, which every server start (an MCP
``tools/list``, the language server) would pay for tools it may never call.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from luminamind.errors import ToolExecutionError

if TYPE_CHECKING:
    from luminamind.tools.web.http import FetchedBody

__all__ = ["PageText", "decode_text", "extract_links", "refuse_binary", "to_text"]

_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_TEXT_TYPES = {
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-yaml",
    "application/yaml",
    "application/toml",
    "application/x-ndjson",
    "application/rss+xml",
    "application/atom+xml",
}
_BINARY_PREFIXES = ("image/", "audio/", "video/", "font/", "model/")
_BINARY_TYPES = {
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/x-tar",
    "application/x-7z-compressed",
    "application/x-rar-compressed",
    "application/vnd.rar",
    "application/x-bzip2",
    "application/x-xz",
    "application/wasm",
    "application/x-executable",
    "application/x-msdownload",
    "application/java-archive",
    "application/msword",
    "application/x-sqlite3",
}
_LATIN = {"iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252", "us-ascii", "ascii"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_BLANK_LINES = re.compile(r"\n{3,}")
_UNWANTED = ("script", "style", "noscript", "template", "svg", "iframe", "head")

# trafilatura and pypdf report recoverable parsing trouble through logging at WARNING; keep the
# tools' stderr for our own events.
logging.getLogger("trafilatura").setLevel(logging.ERROR)
logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass(frozen=True, slots=True)
class PageText:
    """A body turned into text.

    Attributes:
        kind: ``html``, ``text``, ``json``, ``xml`` or ``pdf``.
        title: the page or document title, when it has one.
        text: Markdown for HTML, text otherwise (not yet capped).
        encoding: the character set used to decode the body (``None`` for PDF).
    """

    kind: str
    title: str | None
    text: str
    encoding: str | None


def _kind(content_type: str) -> str | None:
    if content_type in _HTML_TYPES:
        return "html"
    if content_type == "application/pdf":
        return "pdf"
    if content_type.endswith(("+json", "/json")) or content_type == "application/x-ndjson":
        return "json"
    if content_type.endswith(("+xml", "/xml")):
        return "xml"
    if content_type.startswith("text/") or content_type in _TEXT_TYPES:
        return "text"
    return None


def _size(fetched: FetchedBody) -> str:
    size = fetched.content_length if fetched.content_length is not None else len(fetched.body)
    return f"{size} bytes" if size or fetched.body else "size unknown"


def _refusal(fetched: FetchedBody, what: str) -> ToolExecutionError:
    return ToolExecutionError(
        f"{fetched.final_url} is {what} ({_size(fetched)}); fetch_as_markdown reads HTML, "
        "plain text, JSON, XML and PDF only"
    )


def refuse_binary(fetched: FetchedBody) -> None:
    """Stop before the body is read when the headers name a binary type."""
    ct = fetched.content_type
    if ct.startswith(_BINARY_PREFIXES) or ct in _BINARY_TYPES or ct.startswith("application/vnd."):
        raise _refusal(fetched, ct)


def _trial_decode(body: bytes, encoding: str) -> str | None:
    try:
        # An incremental decoder forgives a multi-byte character cut by the byte cap.
        return codecs.getincrementaldecoder(encoding)(errors="strict").decode(body, final=False)
    except (LookupError, UnicodeDecodeError):
        return None


def decode_text(body: bytes, *, declared: str | None, html: bool = False) -> tuple[str, str]:
    """Decode ``body``: BOM, then the declared charset, the HTML meta charset, UTF-8, detection.

    A declared Latin-1/ASCII charset loses to UTF-8 when the bytes are valid UTF-8 with
    non-ASCII characters: servers often declare the former by default, and real Latin-1 text is
    almost never valid UTF-8.

    Returns:
        ``(text, encoding_used)``.
    """
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(bom):
            return body.decode(encoding, errors="replace"), encoding.removesuffix("-sig")
    candidates: list[str] = []
    if declared:
        if declared in _LATIN and not body.isascii() and _trial_decode(body, "utf-8") is not None:
            candidates.append("utf-8")
        candidates.append(declared)
    if html:
        match = _META_CHARSET.search(body[:4096])
        if match:
            candidates.append(match.group(1).decode("ascii").lower())
    candidates.append("utf-8")
    for encoding in candidates:
        text = _trial_decode(body, encoding)
        if text is not None:
            return text, encoding
    import charset_normalizer

    best = charset_normalizer.from_bytes(body[:200_000]).best()
    # When detection recognises no language, its pick among the many 8-bit code pages that
    # decode the bytes is arbitrary; windows-1252 is the web's legacy default (WHATWG).
    if best is None or (best.language == "Unknown" and _trial_decode(body, "cp1252") is not None):
        encoding = "cp1252"
    else:
        encoding = best.encoding
    return body.decode(encoding, errors="replace"), encoding


def _looks_binary(body: bytes) -> bool:
    sample = body[:8192]
    if b"\x00" in sample:
        return True
    control = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return bool(sample) and control / len(sample) > 0.1


def _html_to_markdown(text: str, url: str) -> tuple[str | None, str]:
    import lxml.html  # type: ignore[import-untyped]  # no stubs shipped; lxml-stubs lags lxml
    import markdownify
    import trafilatura
    from lxml import etree

    try:
        doc = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return None, text
    title_nodes = doc.xpath("//title")
    title = title_nodes[0].text_content().strip() if title_nodes else None
    if not title:
        heading = doc.xpath("//h1")
        title = heading[0].text_content().strip() if heading else None
    markdown = trafilatura.extract(
        doc,
        url=url,
        output_format="markdown",
        include_links=True,
        include_tables=True,
        include_comments=False,
        favor_recall=True,
    )
    if not markdown:
        for node in doc.xpath("|".join(f"//{tag}" for tag in _UNWANTED)):
            node.drop_tree()
        markdown = markdownify.markdownify(
            lxml.html.tostring(doc, encoding="unicode"), heading_style="ATX"
        )
    return title or None, _BLANK_LINES.sub("\n\n", markdown).strip()


def _pdf_to_text(fetched: FetchedBody, max_chars: int) -> tuple[str | None, str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if fetched.truncated:
        raise ToolExecutionError(
            f"{fetched.final_url} is a PDF larger than the {len(fetched.body)}-byte cap; "
            "a PDF cannot be read in part: pass a larger max_bytes (up to web.max_bytes)"
        )
    try:
        reader = PdfReader(io.BytesIO(fetched.body))
        if reader.is_encrypted:
            raise ToolExecutionError(f"{fetched.final_url} is an encrypted PDF; cannot read it")
        parts: list[str] = []
        total = 0
        for page in reader.pages:
            chunk = page.extract_text() or ""
            parts.append(chunk.strip())
            total += len(chunk)
            if total > max_chars:  # the rest would be cut anyway
                break
        meta = reader.metadata
        title = meta.title if meta is not None and meta.title else None
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise ToolExecutionError(f"{fetched.final_url}: not a readable PDF ({exc})") from None
    return (str(title) if title else None), "\n\n".join(p for p in parts if p)


def to_text(fetched: FetchedBody, *, max_chars: int) -> PageText:
    """Turn a fetched body into Markdown or text, or refuse it with its type.

    Args:
        fetched: the body and its headers.
        max_chars: how much text the caller will keep (PDF extraction stops after it).

    Raises:
        ToolExecutionError: binary content, unreadable PDF.
    """
    kind = _kind(fetched.content_type)
    if kind is None:
        if fetched.body.startswith(b"%PDF-"):
            kind = "pdf"
        elif _looks_binary(fetched.body):
            raise _refusal(fetched, f"binary data ({fetched.content_type or 'no content type'})")
        else:
            kind = "text"
    if kind == "pdf":
        title, text = _pdf_to_text(fetched, max_chars)
        return PageText("pdf", title, text, None)
    if _looks_binary(fetched.body):
        raise _refusal(fetched, f"binary data although labelled {fetched.content_type}")
    text, encoding = decode_text(fetched.body, declared=fetched.charset, html=kind == "html")
    if kind == "html":
        title, markdown = _html_to_markdown(text, fetched.final_url)
        return PageText("html", title, markdown, encoding)
    return PageText(kind, None, text, encoding)


def extract_links(html: bytes, *, base_url: str, declared: str | None) -> list[str]:
    """Absolute http(s) links of an HTML page, without fragments, in document order."""
    import lxml.html
    from lxml import etree

    text, _encoding = decode_text(html, declared=declared, html=True)
    try:
        doc = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return []
    base_nodes = doc.xpath("//base[@href]/@href")
    base = urljoin(base_url, str(base_nodes[0])) if base_nodes else base_url
    links: list[str] = []
    for href in doc.xpath("//a[@href]/@href"):
        absolute = urljoin(base, str(href).strip()).split("#", 1)[0]
        if urlsplit(absolute).scheme in ("http", "https"):
            links.append(absolute)
    return links
