"""What is wrong with a configuration, said so a user can fix it without reading a traceback.

A :class:`SettingProblem` names where the bad value came from (an environment variable, a config
file and line, a ``*_FILE`` secret), the setting, what was found, what was expected and an example
in the form that source takes. :func:`describe_validation_error` turns pydantic's errors into
problems by looking for the value in each source, highest priority first, the order the settings
sources are read in.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from luminamind.errors import ConfigError

__all__ = [
    "ConfigFile",
    "InvalidSettingsError",
    "SettingProblem",
    "blocking_problems",
    "closest",
    "describe_validation_error",
    "env_names_for",
    "example_for",
    "known_list",
    "problems_message",
    "render_problems",
]

ENV_PREFIX = "LUMINAMIND_"


@dataclass(frozen=True)
class SettingProblem:
    """One thing wrong with the configuration, and how to put it right."""

    setting: str
    source: str
    problem: str
    expected: str = ""
    example: str = ""

    @property
    def section(self) -> str:
        """The top-level setting this problem is in (``model`` for ``model.model``)."""
        return self.setting.split(".", 1)[0]

    def render(self) -> str:
        """A few indented lines: where, what, expected, example."""
        lines = [f"- {self.setting or 'configuration'}: {self.problem}", f"    in {self.source}"]
        if self.expected:
            lines.append(f"    expected: {self.expected}")
        if self.example:
            lines.append(f"    example:  {self.example}")
        return "\n".join(lines)

    def one_line(self) -> str:
        """The problem on one line (status bars, MCP error results)."""
        hint = f"; expected {self.expected}" if self.expected else ""
        example = f" (e.g. {self.example})" if self.example else ""
        return f"{self.setting or 'configuration'} in {self.source}: {self.problem}{hint}{example}"


class InvalidSettingsError(ConfigError):
    """The configuration has problems; ``problems`` lists every one of them.

    The message is the whole screen (:func:`render_problems`): every problem, where it came
    from, what was expected and an example.
    """

    code = "invalid_settings"

    def __init__(self, problems: Sequence[SettingProblem]) -> None:
        super().__init__(render_problems(problems))
        self.problems = tuple(problems)

    def to_dict(self) -> dict[str, object]:
        """The problems as JSON (``luminamind doctor --json`` and error results)."""
        return {
            "error": self.code,
            "message": self.message,
            "problems": [vars_of(p) for p in self.problems],
        }


def vars_of(problem: SettingProblem) -> dict[str, str]:
    """A problem as a JSON-ready dict."""
    return {
        "setting": problem.setting,
        "source": problem.source,
        "problem": problem.problem,
        "expected": problem.expected,
        "example": problem.example,
    }


# The settings every registry tool reads; the agent reads all of them.
_TOOL_SECTIONS = frozenset(
    {"", "workspace", "extra_roots", "data_dir", "limits", "cache", "observability"}
)


def blocking_problems(
    problems: Sequence[SettingProblem], *, tool: str | None, open_world: bool = False
) -> list[SettingProblem]:
    """The problems that stop ``tool`` (None: the agent) from running as configured.

    A server started with a broken setting keeps serving what does not depend on it: the
    file tools do not need the model, ``get_weather`` does not need the shell policy.
    """
    if tool is None:
        return list(problems)
    needed = set(_TOOL_SECTIONS)
    if tool == "shell":
        needed.add("shell")
    if open_world:
        needed.add("web")
    return [p for p in problems if p.section in needed]


def problems_message(problems: Sequence[SettingProblem]) -> str:
    """What a surface tells its client when a broken setting stops a call."""
    lines = [p.one_line() for p in problems]
    return (
        "LuminaMind's configuration is invalid, so this cannot run until it is fixed:\n- "
        + "\n- ".join(lines)
        + "\nFix it, then restart the server (`luminamind doctor` lists every problem)."
    )


def render_problems(problems: Sequence[SettingProblem]) -> str:
    """One screen listing every problem at once."""
    noun = "problem" if len(problems) == 1 else "problems"
    head = f"invalid configuration ({len(problems)} {noun}):"
    tail = "Fix the value(s) above; `luminamind doctor` lists everything it checks."
    return "\n".join([head, *(p.render() for p in problems), tail])


@dataclass(frozen=True)
class ConfigFile:
    """A TOML config file as read: its path, its text and what it parsed to."""

    path: Path
    text: str
    data: dict[str, Any]

    def line_of(self, loc: Sequence[str]) -> int | None:
        """The line where ``loc`` (e.g. ``("web", "timeout_seconds")``) is set, if found."""
        if not loc:
            return None
        key = re.escape(str(loc[-1]))
        section = ".".join(str(p) for p in loc[:-1])
        current = ""
        dotted = re.escape(".".join(str(p) for p in loc))
        for number, raw in enumerate(self.text.splitlines(), start=1):
            line = raw.strip()
            header = re.fullmatch(r"\[\[?\s*([^\]]+?)\s*\]\]?(?:\s*#.*)?", line)
            if header:
                current = header.group(1).replace('"', "").replace(" ", "")
                continue
            if current == section and re.match(rf"[\"']?{key}[\"']?\s*=", line):
                return number
            if not current and re.match(rf"{dotted}\s*=", line):
                return number
            if section and current == loc[0] and re.match(rf"{key}\s*=", line):
                return number
        if len(loc) > 1:
            return self.line_of(loc[:-1])  # a whole section given the wrong shape
        return None

    def has(self, loc: Sequence[str | int]) -> bool:
        """Whether the file sets ``loc``."""
        node: Any = self.data
        for part in loc:
            in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
            if not (in_list or (isinstance(node, Mapping) and part in node)):
                return False
            node = node[part]
        return True


def closest(name: str, known: Iterable[str]) -> str:
    """``; did you mean X?`` for the nearest known name, or nothing."""
    matches = difflib.get_close_matches(name.lower(), [k.lower() for k in known], n=1, cutoff=0.6)
    by_lower = {k.lower(): k for k in known}
    return f"; did you mean {by_lower[matches[0]]}?" if matches else ""


def env_names_for(loc: Sequence[str | int], fields: Mapping[str, FieldInfo]) -> list[str]:
    """Environment variables that can set ``loc``, the most specific first."""
    head = str(loc[0])
    names = [ENV_PREFIX + "__".join(str(p) for p in loc).upper()]
    field = fields.get(head)
    alias = getattr(field, "validation_alias", None)
    choices = getattr(alias, "choices", None)
    if choices and len(loc) == 1:
        names = [str(c) for c in choices]
    if len(loc) > 1:
        names.append(ENV_PREFIX + head.upper())  # the section given as JSON (or the shorthand)
    return names


def _toml_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_literal(v) for v in value[:3]) + "]"
    return f'"{value}"'


def _default_of(model: type[BaseModel], loc: Sequence[str | int]) -> Any:
    current: Any = model
    value: Any = None
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if not isinstance(part, str) or fields is None or part not in fields:
            return None
        info: FieldInfo = fields[part]
        value = info.get_default(call_default_factory=True)
        current = info.annotation
    return value


def example_for(
    model: type[BaseModel], loc: Sequence[str | int], *, env: bool, file: bool = True
) -> str:
    """An example line setting ``loc`` the way its source spells it (its default value)."""
    value = _default_of(model, loc)
    if value is None or isinstance(value, BaseModel | dict) or not loc:
        return ""
    if hasattr(value, "get_secret_value"):
        value = "..."
    if env:
        shown = value if isinstance(value, str) else _json_literal(value)
        return f"{ENV_PREFIX}{'__'.join(str(p) for p in loc).upper()}={shown}"
    if not file:
        return ""
    if len(loc) == 1:
        return f"{loc[0]} = {_toml_literal(value)}"
    return f"[{'.'.join(str(p) for p in loc[:-1])}] {loc[-1]} = {_toml_literal(value)}"


def _json_literal(value: Any) -> str:
    import json

    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def _expected(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    msg = str(error.get("msg", ""))
    if kind == "extra_forbidden":
        return ""
    if msg.startswith("Input should be "):
        return msg.removeprefix("Input should be ")
    if msg.startswith("String should "):
        return "a string that should " + msg.removeprefix("String should ")
    return ""


def _problem(error: Mapping[str, Any], secret: bool) -> str:
    kind = str(error.get("type", ""))
    if kind == "extra_forbidden":
        return "unknown setting"
    shown = error.get("input")
    if secret:
        return "invalid value (hidden: it is a secret)"
    if isinstance(shown, str):
        if shown == "":
            return "the value is empty"
        return f"got {shown[:80]!r}"
    if shown is None or isinstance(shown, Mapping):
        return str(error.get("msg", "invalid value"))
    return f"got {str(shown)[:80]!r}"


def known_list(known: Sequence[str], limit: int = 12) -> str:
    """``one of a, b, c`` (capped: a long list helps nobody find the one they meant)."""
    if not known:
        return ""
    shown = ", ".join(sorted(known)[:limit])
    return f"one of {shown}" + (", ..." if len(known) > limit else "")


def _known_names(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    current: Any = model
    for part in loc[:-1]:
        fields = getattr(current, "model_fields", None)
        if fields is None or part not in fields:
            return []
        current = fields[part].annotation
    fields = getattr(current, "model_fields", None)
    return list(fields) if fields else []


def describe_validation_error(
    exc: ValidationError,
    model: type[BaseModel],
    *,
    files: Sequence[ConfigFile],
    secret_files: Mapping[tuple[str, ...], str],
    overrides: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
) -> list[SettingProblem]:
    """Each of pydantic's errors as a :class:`SettingProblem` naming its source."""
    env = {k.upper(): v for k, v in (os.environ if environ is None else environ).items()}
    fields = model.model_fields
    problems: list[SettingProblem] = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if isinstance(p, str | int))
        str_loc = tuple(str(p) for p in loc)
        setting = ".".join(str_loc)
        secret = "key" in setting or "token" in setting or "password" in setting
        secret = secret or setting == "redis_url"
        source, spelled_env, spelled_file = "defaults", False, False
        if loc and loc[0] in overrides:
            source = "the command line"
        elif any(name in env for name in env_names_for(loc, fields)):
            name = next(n for n in env_names_for(loc, fields) if n in env)
            source, spelled_env = f"environment variable {name}", True
        elif str_loc in secret_files:
            source = f"{secret_files[str_loc]} (a *_FILE secret)"
        else:
            for config in files:
                if config.has(loc):
                    line = config.line_of(str_loc)
                    where = f", line {line}" if line else ""
                    source, spelled_file = f"{config.path}{where}", True
                    break
        problem = _problem(error, secret)
        expected = _expected(error)
        if error.get("type") == "extra_forbidden" and str_loc:
            known = _known_names(model, loc)
            suggestion = closest(str_loc[-1], known)
            problem += suggestion
            expected = "" if suggestion else known_list(known)
        example = (
            ""
            if error.get("type") == "extra_forbidden"
            else example_for(model, loc, env=spelled_env or not spelled_file, file=True)
        )
        problems.append(SettingProblem(setting, source, problem, expected, example))
    return problems
