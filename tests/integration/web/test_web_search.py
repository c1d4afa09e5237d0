"""web_search and get_weather against fake provider endpoints speaking the real response shapes."""

from __future__ import annotations

import time
from typing import Any

import pytest
from ddgs.exceptions import DDGSException

from luminamind.errors import ToolExecutionError, ToolNotConfiguredError
from luminamind.tools.web.search import choose_provider, normalise_ddgs, run_search
from tests.support.http_servers import LocalHttpServer, Reply, Request
from tests.support.web_tools import CallTool, MakeSettings

SERPER = {
    "searchParameters": {"q": "lumina", "gl": "us", "hl": "en", "type": "search", "page": 1},
    "knowledgeGraph": {"title": "Lumina", "type": "Software"},
    "organic": [
        {
            "title": "Lumina &amp; friends",
            "link": "https://www.lumina.example/",
            "snippet": "The <b>official</b> site.",
            "position": 1,
            "sitelinks": [{"title": "Docs", "link": "https://www.lumina.example/docs"}],
        },
        {"title": "Lumina on Wikipedia", "link": "https://en.wikipedia.org/wiki/Lumina",
         "snippet": "Lumina is...", "date": "Mar 3, 2024", "position": 2},
        {"title": "Lumina news", "link": "https://news.example/lumina", "snippet": "",
         "position": 3},
    ],
    "peopleAlsoAsk": [{"question": "What is Lumina?", "snippet": "...", "link": "https://q.example"}],
    "relatedSearches": [{"query": "lumina download"}],
}  # fmt: skip
TAVILY = {
    "query": "lumina",
    "follow_up_questions": None,
    "answer": None,
    "images": [],
    "results": [
        {"title": "Lumina docs", "url": "https://docs.lumina.example/start",
         "content": "Getting started with Lumina.", "score": 0.91, "raw_content": None},
    ],
    "response_time": 1.2,
}  # fmt: skip
BRAVE = {
    "type": "search",
    "query": {"original": "lumina", "more_results_available": True},
    "mixed": {"type": "mixed", "main": [{"type": "web", "index": 0, "all": False}]},
    "web": {
        "type": "search",
        "family_friendly": True,
        "results": [
            {"title": "Lumina — Home", "url": "https://lumina.example/", "is_source_local": False,
             "description": "Search <strong>Lumina</strong> privately.", "language": "en",
             "profile": {"name": "Lumina", "url": "https://lumina.example/"},
             "meta_url": {"scheme": "https", "netloc": "lumina.example",
                          "hostname": "lumina.example"},
             "type": "search_result", "subtype": "generic", "family_friendly": True},
        ],
    },
}  # fmt: skip


def _keyed(server: LocalHttpServer, provider: str, **extra: Any) -> dict[str, Any]:
    return {
        f"{provider}_api_key": f"{provider}-test-key",
        f"{provider}_base_url": server.url(f"/{provider}-{extra.pop('tag', 'ok')}"),
        "search_provider": provider,
        **extra,
    }


async def test_serper_request_and_normalised_results(
    server: LocalHttpServer, call_tool: CallTool, make_settings: MakeSettings
) -> None:
    seen: list[Request] = []

    def serper(request: Request) -> Reply:
        seen.append(request)
        return Reply.json(SERPER)

    server.route("/serper-ok/search", serper)
    settings = make_settings(**_keyed(server, "serper"))
    result = await call_tool("web_search", settings=settings, query="lumina", num_results=2)
    assert result.provider == "serper"
    assert [h.model_dump() for h in result.results] == [
        {"title": "Lumina & friends", "url": "https://www.lumina.example/",
         "snippet": "The official site.", "source": "lumina.example"},
        {"title": "Lumina on Wikipedia", "url": "https://en.wikipedia.org/wiki/Lumina",
         "snippet": "Lumina is...", "source": "en.wikipedia.org"},
    ]  # fmt: skip
    assert result.truncated is True
    assert seen[0].method == "POST"
    assert seen[0].headers["x-api-key"] == "serper-test-key"
    assert seen[0].json() == {"q": "lumina", "num": 2}


async def test_tavily_and_brave(
    server: LocalHttpServer, call_tool: CallTool, make_settings: MakeSettings
) -> None:
    requests: list[Request] = []

    def record(reply: Reply) -> Any:
        def handler(request: Request) -> Reply:
            requests.append(request)
            return reply

        return handler

    server.route("/tavily-ok/search", record(Reply.json(TAVILY)))
    server.route("/brave-ok/res/v1/web/search", record(Reply.json(BRAVE)))
    tavily = await call_tool(
        "web_search", settings=make_settings(**_keyed(server, "tavily")), query="lumina"
    )
    assert tavily.provider == "tavily"
    assert tavily.results[0].snippet == "Getting started with Lumina."
    assert requests[0].headers["authorization"] == "Bearer tavily-test-key"
    assert requests[0].json()["max_results"] == 5

    brave = await call_tool(
        "web_search",
        settings=make_settings(**_keyed(server, "brave")),
        query="lumina",
        num_results=3,
    )
    assert brave.results[0].model_dump() == {
        "title": "Lumina — Home",
        "url": "https://lumina.example/",
        "snippet": "Search Lumina privately.",
        "source": "lumina.example",
    }
    assert requests[1].method == "GET"
    assert requests[1].headers["x-subscription-token"] == "brave-test-key"
    assert requests[1].query == {"q": ["lumina"], "count": ["3"]}


async def test_429_is_retried_honouring_retry_after(
    server: LocalHttpServer, call_tool: CallTool, make_settings: MakeSettings
) -> None:
    calls: list[float] = []

    def flaky(request: Request) -> Reply:
        calls.append(time.monotonic())
        if len(calls) < 3:
            return Reply.json({"message": "Too many requests"}, status=429,
                              headers={"Retry-After": "1" if len(calls) == 1 else "0"})  # fmt: skip
        return Reply.json(SERPER)

    server.route("/serper-flaky/search", flaky)
    settings = make_settings(**_keyed(server, "serper", tag="flaky"))
    result = await call_tool("web_search", settings=settings, query="lumina")
    assert len(result.results) == 3
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.95  # waited the Retry-After second


async def test_persistent_429_gives_a_clear_error(
    server: LocalHttpServer, call_tool: CallTool, make_settings: MakeSettings
) -> None:
    server.route("/serper-limited/search", Reply.json({"message": "quota"}, status=429))
    settings = make_settings(**_keyed(server, "serper", tag="limited"), retry_attempts=3)
    with pytest.raises(ToolExecutionError, match=r"429 .* on all 3 attempts") as info:
        await call_tool("web_search", settings=settings, query="lumina")
    assert "web.search_provider" in info.value.message
    assert server.count("/serper-limited/search") == 3

    server.route(
        "/serper-later/search",
        Reply.json({"message": "quota"}, status=429, headers={"Retry-After": "3600"}),
    )
    settings = make_settings(**_keyed(server, "serper", tag="later"))
    with pytest.raises(ToolExecutionError, match="retry_max_delay_seconds"):
        await call_tool("web_search", settings=settings, query="lumina")
    assert server.count("/serper-later/search") == 1  # an hour's wait is not worth retrying


async def test_rejected_key_and_bad_answers(
    server: LocalHttpServer, call_tool: CallTool, make_settings: MakeSettings
) -> None:
    server.route("/brave-denied/res/v1/web/search", Reply.json({"error": "bad key"}, status=401))
    settings = make_settings(**_keyed(server, "brave", tag="denied"))
    with pytest.raises(ToolNotConfiguredError, match="check BRAVE_API_KEY"):
        await call_tool("web_search", settings=settings, query="q")
    server.route("/tavily-garbage/search", Reply(body=b"<html>oops</html>"))
    settings = make_settings(**_keyed(server, "tavily", tag="garbage"))
    with pytest.raises(ToolExecutionError, match="invalid JSON"):
        await call_tool("web_search", settings=settings, query="q")
    server.route("/serper-shape/search", Reply.json({"organic": {"not": "a list"}}))
    settings = make_settings(**_keyed(server, "serper", tag="shape"))
    with pytest.raises(ToolExecutionError, match="'organic' is not a list"):
        await call_tool("web_search", settings=settings, query="q")


def test_provider_selection(make_settings: MakeSettings) -> None:
    assert choose_provider(make_settings().web) == "ddgs"
    assert choose_provider(make_settings(brave_api_key="b").web) == "brave"
    assert choose_provider(make_settings(brave_api_key="b", tavily_api_key="t").web) == "tavily"
    both = make_settings(serper_api_key="s", tavily_api_key="t")
    assert choose_provider(both.web) == "serper"
    forced = make_settings(serper_api_key="s", search_provider="ddgs")
    assert choose_provider(forced.web) == "ddgs"
    with pytest.raises(ToolNotConfiguredError, match="set TAVILY_API_KEY"):
        choose_provider(make_settings(search_provider="tavily").web)


def test_seed_key_names_select_the_provider(
    monkeypatch: pytest.MonkeyPatch, make_settings: MakeSettings
) -> None:
    monkeypatch.setenv("SERPER_API_KEY", "from-env")
    from luminamind.config import load_settings

    assert choose_provider(load_settings().web) == "serper"


class FakeDdgs:
    """Speaks ddgs's ``DDGS(timeout=...).text(query, max_results=...)`` interface and shapes."""

    def __init__(self, timeout: int, rows: Any = None, error: Exception | None = None) -> None:
        self.timeout = timeout
        self.rows = rows
        self.error = error
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls.append((query, kwargs))
        if self.error is not None:
            raise self.error
        return list(self.rows)


DDGS_ROWS = [
    {"title": "Python.org", "href": "https://www.python.org/", "body": "The official home."},
    {"title": "No link", "href": "", "body": "dropped"},
    {"title": "Docs", "href": "https://docs.python.org/3/", "body": "Python 3 <b>docs</b>"},
]


async def test_ddgs_adapter_with_an_injected_client(make_settings: MakeSettings) -> None:
    """ddgs itself needs the internet; its adapter is tested through the client it builds."""
    made: list[FakeDdgs] = []

    def factory(timeout: int) -> FakeDdgs:
        made.append(FakeDdgs(timeout, rows=DDGS_ROWS))
        return made[-1]

    result = await run_search(make_settings().web, "python", 2, ddgs_factory=factory)
    assert result.provider == "ddgs"
    assert [h.url for h in result.results] == [
        "https://www.python.org/",
        "https://docs.python.org/3/",
    ]
    assert result.results[1].snippet == "Python 3 docs"
    assert made[0].calls == [("python", {"max_results": 2})]
    assert made[0].timeout == 3

    def failing(timeout: int) -> FakeDdgs:
        return FakeDdgs(timeout, error=DDGSException("Ratelimit"))

    with pytest.raises(ToolExecutionError, match="ddgs search failed: Ratelimit"):
        await run_search(make_settings().web, "python", 2, ddgs_factory=failing)

    def empty(timeout: int) -> FakeDdgs:
        return FakeDdgs(timeout, error=DDGSException("No results found."))

    assert (await run_search(make_settings().web, "zzz", 2, ddgs_factory=empty)).results == []


def test_ddgs_normalisation_rejects_other_shapes() -> None:
    assert normalise_ddgs([{"title": "t", "href": "javascript:x", "body": ""}]) == []
    with pytest.raises(ToolExecutionError, match="not a list"):
        normalise_ddgs({"results": []})


GEOCODING = {
    "results": [
        {"id": 2996944, "name": "Lyon", "latitude": 45.74846, "longitude": 4.84671,
         "elevation": 173.0, "feature_code": "PPLA", "country_code": "FR",
         "timezone": "Europe/Paris",
         "population": 522969, "country": "France", "admin1": "Auvergne-Rhône-Alpes"},
        {"id": 4500000, "name": "Lyon", "latitude": 34.5, "longitude": -90.5,
         "country_code": "US", "timezone": "America/Chicago", "country": "United States",
         "admin1": "Mississippi"},
    ],
    "generationtime_ms": 0.8,
}  # fmt: skip
FORECAST = {
    "latitude": 34.5, "longitude": -90.5, "generationtime_ms": 0.07, "utc_offset_seconds": -21600,
    "timezone": "America/Chicago", "timezone_abbreviation": "CST", "elevation": 50.0,
    "current_units": {"time": "iso8601", "interval": "seconds", "temperature_2m": "°F",
                      "apparent_temperature": "°F", "relative_humidity_2m": "%",
                      "precipitation": "inch", "weather_code": "wmo code",
                      "wind_speed_10m": "mp/h", "wind_direction_10m": "°"},
    "current": {"time": "2025-01-15T12:00", "interval": 900, "temperature_2m": 41.2,
                "apparent_temperature": 35.0, "relative_humidity_2m": 80, "precipitation": 0.0,
                "weather_code": 3, "wind_speed_10m": 9.4, "wind_direction_10m": 210},
    "daily_units": {"time": "iso8601", "weather_code": "wmo code", "temperature_2m_max": "°F",
                    "temperature_2m_min": "°F", "precipitation_sum": "inch",
                    "precipitation_probability_max": "%"},
    "daily": {"time": ["2025-01-15", "2025-01-16"], "weather_code": [3, 61],
              "temperature_2m_max": [45.1, 50.2], "temperature_2m_min": [33.0, 38.4],
              "precipitation_sum": [0.0, 0.31], "precipitation_probability_max": [5, 80]},
}  # fmt: skip


async def test_weather_geocodes_then_forecasts(
    server: LocalHttpServer, call_tool: CallTool, make_settings: MakeSettings
) -> None:
    requests: list[Request] = []

    def geo(request: Request) -> Reply:
        requests.append(request)
        return Reply.json(
            GEOCODING if request.query["name"] == ["Lyon"] else {"generationtime_ms": 1}
        )

    def forecast(request: Request) -> Reply:
        requests.append(request)
        return Reply.json(FORECAST)

    server.route("/geo/v1/search", geo)
    server.route("/wx/v1/forecast", forecast)
    settings = make_settings(
        geocoding_base_url=server.url("/geo"), weather_base_url=server.url("/wx")
    )
    result = await call_tool(
        "get_weather", settings=settings, location="Lyon, Mississippi", units="imperial", days=2
    )
    assert result.place.country == "United States"  # the qualifier picked the second match
    assert result.place.timezone == "America/Chicago"
    assert result.current.temperature == 41.2
    assert result.current.conditions == "overcast"
    assert [(d.date, d.conditions) for d in result.daily] == [
        ("2025-01-15", "overcast"),
        ("2025-01-16", "slight rain"),
    ]
    assert result.units["temperature_2m"] == "°F"
    params = requests[1].query
    assert params["latitude"] == ["34.5"]
    assert params["temperature_unit"] == ["fahrenheit"]
    assert params["forecast_days"] == ["2"]

    with pytest.raises(ToolExecutionError, match="no place named 'Atlantis'"):
        await call_tool("get_weather", settings=settings, location="Atlantis")
    coords = await call_tool("get_weather", settings=settings, location="48.85, 2.35")
    assert coords.place.latitude == 48.85
    assert requests[-1].path == "/wx/v1/forecast"  # no geocoding for coordinates
    with pytest.raises(ToolExecutionError, match="not a valid latitude"):
        await call_tool("get_weather", settings=settings, location="123, 456")
