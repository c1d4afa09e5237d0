"""The read-only web tools over MCP, against a real local HTTP server standing in for the web."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.http_servers import LocalHttpServer, Reply
from tests.support.mcp_clients import check_read_only_result, populate, stdio_session, text_of

pytestmark = pytest.mark.slow

_FORECAST = {
    "latitude": 48.85, "longitude": 2.35, "timezone": "Europe/Paris", "elevation": 35.0,
    "current_units": {"temperature_2m": "°C", "apparent_temperature": "°C",
                      "relative_humidity_2m": "%", "precipitation": "mm",
                      "wind_speed_10m": "km/h", "wind_direction_10m": "°"},
    "current": {"time": "2025-01-15T12:00", "temperature_2m": 6.5, "apparent_temperature": 3.0,
                "relative_humidity_2m": 80, "precipitation": 0.0, "weather_code": 3,
                "wind_speed_10m": 12.0, "wind_direction_10m": 210},
    "daily_units": {"temperature_2m_max": "°C", "temperature_2m_min": "°C",
                    "precipitation_sum": "mm", "precipitation_probability_max": "%"},
    "daily": {"time": ["2025-01-15"], "weather_code": [3], "temperature_2m_max": [8.0],
              "temperature_2m_min": [2.0], "precipitation_sum": [0.0],
              "precipitation_probability_max": [5]},
}  # fmt: skip


@pytest.fixture(scope="module")
def web() -> Iterator[LocalHttpServer]:
    with LocalHttpServer() as server:
        server.route(
            "/docs/index.html",
            Reply.html(
                "<html><head><title>Lumina docs</title></head><body><h1>Lumina</h1>"
                "<p>Start here. See the <a href='/docs/guide.html'>guide</a>.</p></body></html>"
            ),
        )
        server.route(
            "/docs/guide.html",
            Reply.html("<html><body><h1>Guide</h1><p>Step one, step two.</p></body></html>"),
        )
        server.route(
            "/serper/search",
            Reply.json(
                {
                    "organic": [
                        {
                            "title": "Lumina",
                            "link": "https://lumina.example/",
                            "snippet": "The site.",
                            "position": 1,
                        }
                    ]
                }
            ),
        )
        server.route("/wx/v1/forecast", Reply.json(_FORECAST))
        yield server


async def test_web_tools_answer_through_mcp(
    web: LocalHttpServer, workspace_dir: Path, tmp_path: Path
) -> None:
    populate(workspace_dir)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "LUMINAMIND_WEB__ALLOWED_HOSTS": json.dumps(["127.0.0.1"]),
        "LUMINAMIND_WEB__SEARCH_PROVIDER": "serper",
        "LUMINAMIND_WEB__SERPER_API_KEY": "test-key",
        "LUMINAMIND_WEB__SERPER_BASE_URL": web.url("/serper"),
        "LUMINAMIND_WEB__WEATHER_BASE_URL": web.url("/wx"),
        "LUMINAMIND_WEB__CRAWL_DELAY_SECONDS": "0",
    }
    async with stdio_session(workspace_dir, home, env=env) as session:
        page = await session.call_tool("fetch_as_markdown", {"url": web.url("/docs/index.html")})
        check_read_only_result("fetch_as_markdown", page)
        assert "Start here" in text_of(page)
        crawl = await session.call_tool(
            "web_crawl", {"url": web.url("/docs/index.html"), "max_pages": 2, "max_depth": 1}
        )
        check_read_only_result("web_crawl", crawl)
        assert "Step one" in text_of(crawl)
        search = await session.call_tool("web_search", {"query": "lumina", "num_results": 1})
        check_read_only_result("web_search", search)
        assert "lumina.example" in text_of(search)
        weather = await session.call_tool("get_weather", {"location": "48.85, 2.35", "days": 1})
        check_read_only_result("get_weather", weather)
        # The URL guard still applies behind MCP: other private addresses stay refused.
        blocked = await session.call_tool("fetch_as_markdown", {"url": "http://10.0.0.1/"})
        assert blocked.is_error
