"""Where settings come from, read so that every mistake becomes a :class:`SettingProblem`.

pydantic-settings' own sources raise on the first bad value (a JSON error from the environment,
a TOML syntax error, a missing ``*_FILE``) with a traceback that names no line. These subclasses
keep its parsing and precedence, but record what is wrong and skip that value, so one load
reports every problem at once and a server can still start on what is valid.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import EnvSettingsSource, InitSettingsSource, PydanticBaseSettingsSource

from luminamind.config_problems import (
    ENV_PREFIX,
    ConfigFile,
    SettingProblem,
    closest,
    env_names_for,
    known_list,
)

__all__ = [
    "AUXILIARY_ENV_VARS",
    "SECRET_FILE_VARS",
    "EnvSource",
    "LoadContext",
    "SecretFileSource",
    "TomlFileSource",
    "current_load",
    "read_config_file",
    "unknown_env_problems",
    "unknown_key_problems",
]

# Secrets mounted as files (Kubernetes secrets, a Vault agent): NAME_FILE=/path reads NAME.
SECRET_FILE_VARS: dict[str, tuple[str, ...]] = {
    "GLM_API_KEY_FILE": ("glm_api_key",),
    "OPENAI_API_KEY_FILE": ("openai_api_key",),
    "LUMINAMIND_REDIS_URL_FILE": ("redis_url",),
    "LUMINAMIND_MCP_TOKEN_FILE": ("server", "token"),
    "SERPER_API_KEY_FILE": ("web", "serper_api_key"),
    "TAVILY_API_KEY_FILE": ("web", "tavily_api_key"),
    "BRAVE_API_KEY_FILE": ("web", "brave_api_key"),
}

# LUMINAMIND_* variables that are not settings fields but are read elsewhere on purpose.
AUXILIARY_ENV_VARS = frozenset(
    {
        "LUMINAMIND_CONFIG_FILE",  # where the user config lives
        "LUMINAMIND_MCP_TOKEN",  # seed name for server.token
        "LUMINAMIND_BANNER",  # make run's start-up banner
        "LUMINAMIND_BIN",  # editor set-ups: which executable to start
        *(name for name in SECRET_FILE_VARS if name.startswith(ENV_PREFIX)),
    }
)


@dataclass
class LoadContext:
    """One load's inputs and findings, shared by its sources."""

    files: list[ConfigFile] = field(default_factory=list)
    problems: list[SettingProblem] = field(default_factory=list)
    skip: set[tuple[str, ...]] = field(default_factory=set)
    secret_files: dict[tuple[str, ...], str] = field(default_factory=dict)

    def note(self, problem: SettingProblem) -> None:
        """Record a problem once (a tolerant load reads the sources more than once)."""
        if problem not in self.problems:
            self.problems.append(problem)


_CURRENT: ContextVar[LoadContext | None] = ContextVar("luminamind_settings_load", default=None)


def current_load() -> ContextVar[LoadContext | None]:
    """The context variable a load sets while pydantic-settings calls the sources."""
    return _CURRENT


def _drop(data: dict[str, Any], skip: set[tuple[str, ...]]) -> dict[str, Any]:
    """``data`` without the locations a tolerant load gave up on."""
    for loc in skip:
        node: Any = data
        for part in loc[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(loc[-1], None)
    return data


def read_config_file(path: Path) -> tuple[ConfigFile | None, SettingProblem | None]:
    """Read and parse one TOML file; a missing file is neither a file nor a problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except UnicodeDecodeError as exc:
        return None, SettingProblem(
            "", str(path), f"not UTF-8 text ({exc.reason})", "a UTF-8 TOML file"
        )
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return None, SettingProblem(
            "", str(path), f"cannot read the file: {reason}", "a readable TOML file"
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"{path}, line {found.group(1)}" if found else str(path)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        return None, SettingProblem(
            "",
            where,
            f"TOML syntax error: {message}",
            "TOML (https://toml.io)",
            '[model] model = "openai:glm-4.5-flash"',
        )
    return ConfigFile(path, text, data), None


def unknown_key_problems(config: ConfigFile, model: type[BaseModel]) -> list[SettingProblem]:
    """Top-level keys the settings do not know (sections forbid extras themselves)."""
    known = set(model.model_fields)
    problems = []
    for key in config.data:
        if key not in known:
            line = config.line_of((key,))
            where = f"{config.path}, line {line}" if line else str(config.path)
            suggestion = closest(key, known)
            problems.append(
                SettingProblem(
                    key,
                    where,
                    "unknown setting" + suggestion,
                    "" if suggestion else known_list(list(known)),
                )
            )
    return problems


def unknown_env_problems(
    environ: Mapping[str, str], model: type[BaseModel]
) -> list[SettingProblem]:
    """``LUMINAMIND_*`` variables that set nothing (a typo would otherwise be silently ignored)."""
    fields = model.model_fields
    valid = set(AUXILIARY_ENV_VARS)
    for name in fields:
        valid.update(n.upper() for n in env_names_for((name,), fields))
        valid.add(ENV_PREFIX + name.upper())
    problems = []
    for var in sorted(environ):
        upper = var.upper()
        if not upper.startswith(ENV_PREFIX) or upper in valid or "__" in upper:
            continue  # nested names (SECTION__FIELD) are checked by the section's own model
        problems.append(
            SettingProblem(
                var,
                f"environment variable {var}",
                "unknown setting" + closest(upper, valid),
                "a LUMINAMIND_<SETTING> or LUMINAMIND_<SECTION>__<SETTING> variable",
                "LUMINAMIND_MODEL=openai:glm-4.5-flash",
            )
        )
    return problems


class TomlFileSource(InitSettingsSource):
    """A config file already parsed by :func:`read_config_file`."""

    def __init__(self, settings_cls: type[Any], config: ConfigFile, skip: set[tuple[str, ...]]):
        import copy

        super().__init__(settings_cls, init_kwargs=_drop(copy.deepcopy(config.data), skip))


class EnvSource(EnvSettingsSource):
    """``LUMINAMIND_*`` variables, with ``LUMINAMIND_MODEL=provider:model`` as a shorthand.

    ``LUMINAMIND_MODEL`` is the first name users try; pydantic-settings reads it as the whole
    ``[model]`` section in JSON and fails. A value that is not JSON sets ``model.model``, and
    ``LUMINAMIND_MODEL__*`` variables still add to it.
    """

    def prepare_field_value(
        self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool
    ) -> Any:
        if field_name == "model" and isinstance(value, str) and not value.lstrip().startswith("{"):
            nested = self.explode_env_vars(field_name, field, self.env_vars)
            return {"model": value, **nested}
        try:
            return super().prepare_field_value(field_name, field, value, value_is_complex)
        except ValueError as exc:
            load = _CURRENT.get()
            if load is None:
                raise
            var = ENV_PREFIX + field_name.upper()
            load.note(
                SettingProblem(
                    field_name,
                    f"environment variable {var}",
                    f"not valid JSON ({str(exc).splitlines()[0][:120]})",
                    "a JSON value for this setting",
                    f'{var}=\'[{{"path": "/srv/shared", "mode": "ro"}}]\''
                    if field_name == "extra_roots"
                    else "",
                )
            )
            return None

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        load = _CURRENT.get()
        return _drop(data, load.skip) if load is not None else data


class SecretFileSource(PydanticBaseSettingsSource):
    """Reads ``*_FILE`` variables; pydantic-settings' secrets_dir wants one directory, not paths."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        load = _CURRENT.get()
        values: dict[str, Any] = {}
        for var, loc in SECRET_FILE_VARS.items():
            path = os.environ.get(var)
            if not path or (load is not None and loc in load.skip):
                continue
            try:
                secret = Path(path).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                if load is None:
                    raise
                reason = getattr(exc, "strerror", None) or str(exc)
                load.note(
                    SettingProblem(
                        ".".join(loc),
                        f"environment variable {var}",
                        f"cannot read the secret file {path!r}: {reason}",
                        "the path of a readable file holding the secret",
                        f"{var}=/run/secrets/{loc[-1]}",
                    )
                )
                continue
            if load is not None:
                load.secret_files[loc] = var
            node = values
            for part in loc[:-1]:
                node = node.setdefault(part, {})
            node[loc[-1]] = secret
        return values
