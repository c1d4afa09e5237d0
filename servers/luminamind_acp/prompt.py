"""A ``session/prompt``'s content blocks as the message the agent reads.

Text is kept as written. Resource links (files the user @-mentioned) become references the agent
reads with its tools; embedded resources (the editor's selection or an open buffer, advertised
with ``embeddedContext``) are inlined as fenced context. Images and audio are not advertised; a
client that sends them anyway gets a note in the message rather than silence.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import unquote, urlparse

from acp.schema import (
    AudioContentBlock,
    EmbeddedResourceContentBlock,
    ImageContentBlock,
    ResourceContentBlock,
    TextContentBlock,
    TextResourceContents,
)

__all__ = ["prompt_text"]

Block = (
    TextContentBlock
    | ImageContentBlock
    | AudioContentBlock
    | ResourceContentBlock
    | EmbeddedResourceContentBlock
)


def _where(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


def prompt_text(blocks: Sequence[Block]) -> str:
    """The blocks joined into one message."""
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, TextContentBlock):
            parts.append(block.text)
        elif isinstance(block, ResourceContentBlock):
            parts.append(f"[{block.name}]({_where(block.uri)})")
        elif isinstance(block, EmbeddedResourceContentBlock):
            resource = block.resource
            where = _where(resource.uri)
            if isinstance(resource, TextResourceContents):
                parts.append(f"\nContext from {where}:\n```\n{resource.text}\n```\n")
            else:
                parts.append(f"(binary content of {where} attached; it cannot be read here)")
        else:
            parts.append(f"({block.type} attached; this agent reads text only)")
    return " ".join(p for p in parts if p)
