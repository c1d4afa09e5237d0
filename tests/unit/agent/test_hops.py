"""LangSmith's per-hook bookkeeping runs inline while tracing is off, in its thread pool when on."""

from __future__ import annotations

import contextvars
import threading

import langsmith
from langsmith._internal._aiter import aio_to_thread

from luminamind.agent.hops import install_inline_langsmith


async def _thread_of_call() -> int:
    ident: int = await aio_to_thread(contextvars.copy_context(), threading.get_ident)
    return ident


async def test_untraced_bookkeeping_stays_on_the_event_loop_thread() -> None:
    install_inline_langsmith()
    try:
        with langsmith.tracing_context(enabled=False):
            assert await _thread_of_call() == threading.get_ident()
        with langsmith.tracing_context(enabled=True):
            assert await _thread_of_call() != threading.get_ident()
    finally:
        langsmith.set_runtime_overrides()
    with langsmith.tracing_context(enabled=False):  # LangSmith's default: always a thread
        assert await _thread_of_call() != threading.get_ident()
