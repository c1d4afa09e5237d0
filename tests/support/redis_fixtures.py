"""Pytest fixtures for real Redis servers, registered by ``tests/conftest.py`` as a plugin.

- ``redis_server``: one standalone server for the whole session, flushed before each test that
  asks for ``redis_url``.
- ``redis_cluster_server``: one single-node Redis Cluster (all 16384 slots on one master) for the
  session; the cluster client, MOVED handling and CROSSSLOT rules are all real.
- ``redis_url`` / ``redis_cluster_url``: their URLs, with the data flushed first.
- ``redis_settings``: the ``settings`` fixture pointed at ``redis_url``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from luminamind.config import Settings
from tests.support.redis_server import RedisServer

__all__ = [
    "redis_cluster_server",
    "redis_cluster_url",
    "redis_server",
    "redis_settings",
    "redis_url",
]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A standalone server shared by the session."""
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
def redis_cluster_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A single-node cluster shared by the session."""
    with RedisServer(tmp_path_factory.mktemp("redis-cluster"), cluster=True) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The shared server's URL, emptied for this test."""
    redis_server.start()  # a failure test may have stopped it
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def redis_cluster_url(redis_cluster_server: RedisServer) -> str:
    """The shared cluster's URL, emptied for this test."""
    redis_cluster_server.flush()
    return redis_cluster_server.url


@pytest.fixture
def redis_settings(settings: Settings, redis_url: str) -> Settings:
    """``settings`` with ``LUMINAMIND_REDIS_URL`` pointing at the shared server."""
    return settings.model_copy(update={"redis_url": SecretStr(redis_url)})
