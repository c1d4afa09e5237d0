"""Showing answers in the editor: a message for short ones, a Markdown document for long ones."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

__all__ = ["SHORT_ANSWER_CHARS", "show_answer"]

SHORT_ANSWER_CHARS = 240


async def show_answer(
    server: LanguageServer, *, text: str, title: str, answers_dir: Path, thread_id: str
) -> str | None:
    """Show ``text``; returns the URI of the Markdown document when one was opened."""
    if len(text) <= SHORT_ANSWER_CHARS and "\n" not in text.strip():
        server.window_show_message(
            lsp.ShowMessageParams(type=lsp.MessageType.Info, message=f"LuminaMind: {text.strip()}")
        )
        return None
    path = await asyncio.to_thread(_write_answer, answers_dir, thread_id, title, text)
    uri = path.as_uri()
    window = server.client_capabilities.window
    if window is not None and window.show_document is not None and window.show_document.support:
        await server.window_show_document_async(lsp.ShowDocumentParams(uri=uri, take_focus=True))
    else:
        first = text.strip().splitlines()[0][:SHORT_ANSWER_CHARS]
        server.window_show_message(
            lsp.ShowMessageParams(
                type=lsp.MessageType.Info, message=f"LuminaMind: {first} (full answer: {path})"
            )
        )
    return uri


def _write_answer(answers_dir: Path, thread_id: str, title: str, text: str) -> Path:
    answers_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", thread_id)[:40]
    path = answers_dir / f"{stamp}-{slug}.md"
    path.write_text(f"# {title}\n\n{text.strip()}\n", encoding="utf-8")
    return path
