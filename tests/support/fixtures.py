"""Pytest fixtures for the scripted LLM, registered by ``tests/conftest.py`` as a plugin.

- ``llm_server``: a `ScriptedLLM` shared by the whole session and reset before each test, so a
  test starts with no turns, no routes, no responder and no recorded requests.
- ``llm_settings``: the ``settings`` fixture pointed at that server (OpenAI-compatible,
  model ``openai:scripted``) with millisecond backoff (a Retry-After up to 1 s is honoured)
  and a 5 s timeout.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from luminamind.config import Settings
from tests.support.llm_server import ScriptedLLM

__all__ = ["llm_server", "llm_settings", "scripted_settings"]


@pytest.fixture(scope="session")
def _llm_server_session() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture
def llm_server(_llm_server_session: ScriptedLLM) -> Iterator[ScriptedLLM]:
    """The session's scripted LLM, empty at the start of the test."""
    _llm_server_session.reset()
    yield _llm_server_session
    _llm_server_session.reset()


def scripted_settings(settings: Settings, server: ScriptedLLM, **model: object) -> Settings:
    """``settings`` aimed at ``server`` with fast resilience knobs; ``model`` overrides them."""
    knobs: dict[str, object] = {
        "model": "openai:scripted",
        "timeout_seconds": 5.0,
        "max_retries": 2,
        "retry_initial_delay": 0.01,
        "retry_max_delay": 1.0,
        "circuit_failure_threshold": 5,
        "circuit_reset_seconds": 0.2,
        **model,
    }
    return settings.model_copy(
        update={
            "llm_provider": "openai",
            "openai_base_url": server.base_url,
            "glm_api_key": SecretStr("scripted-key"),
            "ollama_base_url": server.ollama_url,
            "ollama_model": "scripted",
            "model": settings.model.model_copy(update=knobs),
        }
    )


@pytest.fixture
def llm_settings(settings: Settings, llm_server: ScriptedLLM) -> Settings:
    """The test's settings using ``llm_server`` as the model (see `scripted_settings`)."""
    return scripted_settings(settings, llm_server)
