"""``get_weather``: Open-Meteo geocoding + forecast (no key), base URLs configurable."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from luminamind.errors import ToolExecutionError

if TYPE_CHECKING:
    from luminamind.tools.web.http import WebClient

__all__ = ["CurrentWeather", "DailyWeather", "Place", "WeatherResult", "get_forecast"]

Units = Literal["metric", "imperial"]
_LAT_LON = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")
_CURRENT = (
    "temperature_2m,apparent_temperature,relative_humidity_2m,precipitation,"
    "weather_code,wind_speed_10m,wind_direction_10m"
)
_DAILY = (
    "weather_code,temperature_2m_max,temperature_2m_min,precipitation_sum,"
    "precipitation_probability_max"
)
# WMO weather interpretation codes, as documented by Open-Meteo.
_WMO = {
    0: "clear sky",
    1: "mainly clear",
    2: "partly cloudy",
    3: "overcast",
    45: "fog",
    48: "depositing rime fog",
    51: "light drizzle",
    53: "moderate drizzle",
    55: "dense drizzle",
    56: "light freezing drizzle",
    57: "dense freezing drizzle",
    61: "slight rain",
    63: "moderate rain",
    65: "heavy rain",
    66: "light freezing rain",
    67: "heavy freezing rain",
    71: "slight snow fall",
    73: "moderate snow fall",
    75: "heavy snow fall",
    77: "snow grains",
    80: "slight rain showers",
    81: "moderate rain showers",
    82: "violent rain showers",
    85: "slight snow showers",
    86: "heavy snow showers",
    95: "thunderstorm",
    96: "thunderstorm with slight hail",
    99: "thunderstorm with heavy hail",
}


class Place(BaseModel):
    """Where the forecast is for."""

    name: str
    region: str | None = None
    country: str | None = None
    latitude: float
    longitude: float
    timezone: str | None = None


class CurrentWeather(BaseModel):
    """Conditions now."""

    time: str
    temperature: float | None = None
    apparent_temperature: float | None = None
    relative_humidity: float | None = None
    precipitation: float | None = None
    wind_speed: float | None = None
    wind_direction: float | None = None
    weather_code: int | None = None
    conditions: str | None = None


class DailyWeather(BaseModel):
    """One day of the forecast."""

    date: str
    temperature_max: float | None = None
    temperature_min: float | None = None
    precipitation_sum: float | None = None
    precipitation_probability_max: float | None = None
    weather_code: int | None = None
    conditions: str | None = None


class WeatherResult(BaseModel):
    """Current weather and a daily forecast."""

    place: Place
    units: dict[str, str] = Field(description="Unit of each measure, as Open-Meteo reports it")
    current: CurrentWeather | None = None
    daily: list[DailyWeather] = Field(default_factory=list)


def _conditions(code: Any) -> str | None:  # Any: a JSON value
    return _WMO.get(code, f"WMO code {code}") if isinstance(code, int) else None


def _number(value: Any) -> float | None:  # Any: a JSON value
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


async def _geocode(client: WebClient, location: str) -> Place:
    match = _LAT_LON.match(location)
    if match:
        lat, lon = float(match.group(1)), float(match.group(2))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ToolExecutionError(f"'{location}' is not a valid latitude,longitude pair")
        return Place(name=location.strip(), latitude=lat, longitude=lon)
    # Open-Meteo matches the place name only; "Paris, France" is narrowed by the qualifier.
    name, _, qualifier = (part.strip() for part in location.partition(","))
    data = await client.request_json(
        "GET",
        f"{client.settings.geocoding_base_url.rstrip('/')}/v1/search",
        provider="open-meteo geocoding",
        params={"name": name, "count": 10, "language": "en", "format": "json"},
    )
    rows = data.get("results") if isinstance(data, Mapping) else None
    candidates = [r for r in rows or [] if isinstance(r, Mapping)]
    if qualifier:
        q = qualifier.lower()
        candidates = [
            r
            for r in candidates
            if q
            in {str(r.get(k, "")).lower() for k in ("country", "country_code", "admin1", "admin2")}
        ] or candidates
    if not candidates:
        raise ToolExecutionError(
            f"no place named '{location}' found; try a city name ('Lyon' or 'Lyon, France') "
            "or coordinates ('45.76,4.84')"
        )
    best = candidates[0]
    found_lat, found_lon = _number(best.get("latitude")), _number(best.get("longitude"))
    if found_lat is None or found_lon is None:
        raise ToolExecutionError("unexpected geocoding answer: no coordinates")
    return Place(
        name=str(best.get("name") or name),
        region=best.get("admin1"),
        country=best.get("country"),
        latitude=found_lat,
        longitude=found_lon,
        timezone=best.get("timezone"),
    )


async def get_forecast(
    client: WebClient, location: str, *, units: Units, days: int
) -> WeatherResult:
    """Geocode ``location`` and fetch its current weather and ``days`` of daily forecast."""
    place = await _geocode(client, location)
    params: dict[str, str | int | float] = {
        "latitude": place.latitude,
        "longitude": place.longitude,
        "current": _CURRENT,
        "daily": _DAILY,
        "timezone": "auto",
        "forecast_days": days,
    }
    if units == "imperial":
        params |= {"temperature_unit": "fahrenheit", "wind_speed_unit": "mph"}
        params["precipitation_unit"] = "inch"
    data = await client.request_json(
        "GET",
        f"{client.settings.weather_base_url.rstrip('/')}/v1/forecast",
        provider="open-meteo forecast",
        params=params,
    )
    if not isinstance(data, Mapping):
        raise ToolExecutionError("unexpected forecast answer: not a JSON object")
    if place.timezone is None and isinstance(data.get("timezone"), str):
        place = place.model_copy(update={"timezone": data["timezone"]})
    units_map: dict[str, str] = {}
    for key in ("current_units", "daily_units"):
        section = data.get(key)
        if isinstance(section, Mapping):
            units_map |= {
                str(k): str(v) for k, v in section.items() if k not in ("time", "interval")
            }
    return WeatherResult(
        place=place, units=units_map, current=_current(data.get("current")), daily=_daily(data)
    )


def _current(cur: Any) -> CurrentWeather | None:  # Any: a JSON value
    if not isinstance(cur, Mapping):
        return None
    code = cur.get("weather_code")
    return CurrentWeather(
        time=str(cur.get("time", "")),
        temperature=_number(cur.get("temperature_2m")),
        apparent_temperature=_number(cur.get("apparent_temperature")),
        relative_humidity=_number(cur.get("relative_humidity_2m")),
        precipitation=_number(cur.get("precipitation")),
        wind_speed=_number(cur.get("wind_speed_10m")),
        wind_direction=_number(cur.get("wind_direction_10m")),
        weather_code=code if isinstance(code, int) else None,
        conditions=_conditions(code),
    )


def _daily(data: Mapping[str, Any]) -> list[DailyWeather]:  # Any: JSON values
    daily = data.get("daily")
    if not isinstance(daily, Mapping) or not isinstance(daily.get("time"), list):
        return []

    def column(name: str, i: int) -> Any:  # Any: a JSON value
        values = daily.get(name)
        return values[i] if isinstance(values, list) and i < len(values) else None

    days: list[DailyWeather] = []
    for i, date in enumerate(daily["time"]):
        code = column("weather_code", i)
        days.append(
            DailyWeather(
                date=str(date),
                temperature_max=_number(column("temperature_2m_max", i)),
                temperature_min=_number(column("temperature_2m_min", i)),
                precipitation_sum=_number(column("precipitation_sum", i)),
                precipitation_probability_max=_number(column("precipitation_probability_max", i)),
                weather_code=code if isinstance(code, int) else None,
                conditions=_conditions(code),
            )
        )
    return days
