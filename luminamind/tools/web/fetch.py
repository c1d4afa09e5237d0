"""``fetch_as_markdown``: one URL to bounded Markdown (shared with the crawler)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from luminamind.config import WebSettings
from luminamind.tools.web.content import PageText, refuse_binary, to_text

if TYPE_CHECKING:
    from luminamind.tools.web.http import FetchedBody, WebClient

__all__ = ["FetchResult", "fetch_page", "fetch_result"]


class FetchResult(BaseModel):
    """A web page (or text, JSON, PDF) as Markdown, capped."""

    url: str = Field(description="The URL asked for")
    final_url: str = Field(description="Where the redirects ended")
    status_code: int
    content_type: str
    kind: str = Field(description="html, text, json, xml or pdf")
    title: str | None = None
    encoding: str | None = Field(default=None, description="Character set used to decode")
    markdown: str = Field(description="The content from `offset`, at most the character cap")
    offset: int = Field(description="Character offset of `markdown` in the whole content")
    total_chars: int = Field(description="Characters in the whole (downloaded) content")
    truncated: bool = Field(description="Content was cut: by the character cap or the byte cap")
    body_truncated: bool = Field(description="The download stopped at the byte cap")
    bytes_read: int
    redirects: list[str] = Field(default_factory=list, description="Each redirect hop, in order")
    next_offset: int | None = Field(default=None, description="Pass as offset to read on")
    note: str | None = Field(default=None, description="How to get the rest, when truncated")


async def fetch_page(
    client: WebClient, url: str, *, max_bytes: int, max_chars: int
) -> tuple[FetchedBody, PageText]:
    """Download ``url`` (guarded, capped) and convert it; binary types are refused early."""
    fetched = await client.fetch(url, max_bytes=max_bytes, refuse=refuse_binary)
    return fetched, to_text(fetched, max_chars=max_chars)


def fetch_result(
    fetched: FetchedBody, page: PageText, *, offset: int, max_chars: int, settings: WebSettings
) -> FetchResult:
    """Cut the converted text to ``max_chars`` from ``offset`` and say how to read on."""
    total = len(page.text)
    end = min(total, offset + max_chars)
    more_text = end < total
    notes: list[str] = []
    if more_text:
        notes.append(f"{total - end} more characters: call again with offset={end}")
    if fetched.truncated:
        notes.append(
            f"the download stopped at {len(fetched.body)} bytes; pass a larger max_bytes "
            f"(up to web.max_bytes={settings.max_bytes}) for the rest"
        )
    return FetchResult(
        url=fetched.url,
        final_url=fetched.final_url,
        status_code=fetched.status_code,
        content_type=fetched.content_type or "unknown",
        kind=page.kind,
        title=page.title,
        encoding=page.encoding,
        markdown=page.text[offset:end],
        offset=offset,
        total_chars=total,
        truncated=more_text or fetched.truncated,
        body_truncated=fetched.truncated,
        bytes_read=len(fetched.body),
        redirects=fetched.redirects,
        next_offset=end if more_text else None,
        note="; ".join(notes) or None,
    )
