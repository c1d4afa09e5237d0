"""Settings: one pydantic-settings model, built once at the entry point and passed down.

Sources, highest priority first: explicit arguments, environment variables (``LUMINAMIND_*`` with
``__`` between nested names, plus the seed's own names such as ``LLM_PROVIDER`` and
``GLM_API_KEY``), ``*_FILE`` secret files, the workspace config (``.luminamind.toml`` in the
workspace), the user config (``~/.config/luminamind/config.toml``), then defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from luminamind.config_problems import (
    InvalidSettingsError,
    SettingProblem,
    describe_validation_error,
)
from luminamind.config_sources import (
    EnvSource,
    LoadContext,
    SecretFileSource,
    TomlFileSource,
    current_load,
    read_config_file,
    unknown_env_problems,
    unknown_key_problems,
)

__all__ = [
    "DEFAULT_HARDLINK_DIRS",
    "ApprovalMode",
    "CacheSettings",
    "LimitSettings",
    "ModelSettings",
    "ObservabilitySettings",
    "RewindSettings",
    "ServerSettings",
    "Settings",
    "ShellSettings",
    "SubagentConfig",
    "WebSettings",
    "WorkspaceRootConfig",
    "config_file_paths",
    "default_data_dir",
    "load_settings",
    "load_settings_tolerant",
    "user_config_path",
]

ApprovalMode = Literal["auto", "ask", "deny"]

WORKSPACE_CONFIG_NAME = ".luminamind.toml"


def default_data_dir() -> Path:
    """The user's data dir (SQLite state, cache, audit log), e.g. ``~/.local/share/luminamind``."""
    return Path(platformdirs.user_data_dir("luminamind", appauthor=False))


def user_config_path() -> Path:
    """Where the user-level TOML config lives, e.g. ``~/.config/luminamind/config.toml``."""
    override = os.environ.get("LUMINAMIND_CONFIG_FILE")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir("luminamind", appauthor=False)) / "config.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceRootConfig(_Section):
    """An extra root the tools may reach besides the workspace itself."""

    path: Path
    mode: Literal["ro", "rw"] = "ro"


# Package-manager directories where hard-linked files are expected (the default of
# ``hardlink_dirs``; `luminamind.security.workspace` applies it). Defined here, below security:
# config never imports upward (the layering contract in make lint).
DEFAULT_HARDLINK_DIRS = ("node_modules", ".pnpm-store", ".venv", "venv", ".git", ".tox", ".nox")


def _default_hardlink_dirs() -> list[str]:
    return list(DEFAULT_HARDLINK_DIRS)


class LimitSettings(_Section):
    """Caps that keep every tool result bounded."""

    max_read_bytes: int = Field(default=256_000, ge=1)
    max_file_bytes: int = Field(
        default=10_000_000, ge=1, description="Refuse files larger than this"
    )
    max_write_bytes: int = Field(default=5_000_000, ge=1)
    max_entries: int = Field(default=1000, ge=1)
    max_matches: int = Field(default=500, ge=1)
    max_output_bytes: int = Field(default=64_000, ge=1)
    search_timeout_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="grep_search stops rg after this long"
    )


class ShellSettings(_Section):
    """The shell tool's policy."""

    allowed_programs: list[str] = Field(
        default_factory=lambda: [
            "ls",
            "cat",
            "head",
            "tail",
            "wc",
            "sort",
            "uniq",
            "cut",
            "tr",
            "grep",
            "rg",
            "find",
            "echo",
            "pwd",
            "date",
            "env",
            "which",
            "file",
            "stat",
            "du",
            "df",
            "diff",
            "tree",
            "git",
            "python",
            "python3",
            "pip",
            "pytest",
            "ruff",
            "mypy",
            "node",
            "npm",
            "npx",
            "make",
            "cargo",
            "go",
            "sed",
            "awk",
            "jq",
            "true",
            "false",
            "sleep",
            "basename",
            "dirname",
            "realpath",
            "md5sum",
            "sha256sum",
            "tee",
            "xargs",
            "uname",
        ]
    )
    extra_allowed_programs: list[str] = Field(default_factory=list)
    blocked_programs: list[str] = Field(default_factory=list)
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    max_timeout_seconds: float = Field(
        default=600.0, gt=0, le=86_400, description="Largest timeout a call may ask for"
    )
    max_output_bytes: int = Field(default=64_000, ge=1)
    allow_pipelines: bool = True
    allow_package_install: bool = Field(
        default=False, description="Allow pip/npm/cargo/go installs and npx downloads"
    )
    env_passthrough: list[str] = Field(
        default_factory=list,
        description="Environment variables passed to commands although their names look secret",
    )
    extra_python_modules: list[str] = Field(
        default_factory=list,
        description="Modules 'python -m' may run beyond the built-in list (pytest, mypy...)",
    )
    sandbox: bool = Field(
        default=True,
        description="Run every command in the OS sandbox (Linux Landlock + namespaces) when "
        "this machine has one",
    )
    require_sandbox: bool = Field(
        default=False,
        description="Refuse to run commands at all where no sandbox is available",
    )
    sandbox_network: bool = Field(
        default=False, description="Let sandboxed commands use the network"
    )
    sandbox_read_paths: list[str] = Field(
        default_factory=list,
        description="More directories sandboxed commands may read and execute (toolchains "
        "outside the system directories, e.g. ~/.cargo, ~/.rustup)",
    )


class WebSettings(_Section):
    """Web tools: providers, base URLs, the URL guard's allowlist."""

    search_provider: Literal["auto", "serper", "tavily", "brave", "ddgs"] = "auto"
    serper_api_key: SecretStr | None = None
    serper_base_url: str = "https://google.serper.dev"
    tavily_api_key: SecretStr | None = None
    tavily_base_url: str = "https://api.tavily.com"
    brave_api_key: SecretStr | None = None
    brave_base_url: str = "https://api.search.brave.com"
    geocoding_base_url: str = "https://geocoding-api.open-meteo.com"
    weather_base_url: str = "https://api.open-meteo.com"
    timeout_seconds: float = Field(default=20.0, gt=0)
    max_redirects: int = Field(default=5, ge=0, le=20)
    max_bytes: int = Field(default=2_000_000, ge=1, description="Largest body downloaded")
    max_markdown_chars: int = Field(default=40_000, ge=1)
    user_agent: str = "LuminaMind/0.1 (+https://github.com/luminamind/luminamind)"
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts or CIDRs the URL guard lets through although they are not public",
    )
    crawl_concurrency: int = Field(default=4, ge=1, le=32)
    crawl_delay_seconds: float = Field(default=0.5, ge=0)
    crawl_page_chars: int = Field(default=8_000, ge=1, description="Markdown kept per page")
    retry_attempts: int = Field(default=3, ge=1, le=10, description="Tries per provider call")
    retry_backoff_seconds: float = Field(default=0.5, ge=0)
    retry_max_delay_seconds: float = Field(
        default=10.0, ge=0, description="Longest Retry-After honoured before giving up"
    )


class CacheSettings(_Section):
    """Tool-result cache and the opt-in LLM response cache."""

    enabled: bool = True
    backend: Literal["memory", "sqlite", "redis"] = "sqlite"
    ttl_seconds: float = Field(default=3600.0, gt=0)
    max_entries: int = Field(default=10_000, ge=1)
    max_entry_bytes: int = Field(default=2_000_000, ge=1)
    max_memory_bytes: int = Field(default=64_000_000, ge=1, description="Memory backend bound")
    path: Path | None = Field(default=None, description="SQLite file (default: data_dir)")
    retry_seconds: float = Field(
        default=60.0, ge=0, description="How long a failed backend is bypassed before a retry"
    )
    llm_cache: Literal["off", "on", "auto"] = "auto"
    llm_ttl_seconds: float = Field(default=86_400.0, gt=0)


class ModelSettings(_Section):
    """The chat model and its resilience settings."""

    model: str = Field(default="openai:glm-4.5-flash", min_length=1, description="provider:model")
    temperature: float = Field(default=0.7, ge=0, le=2)
    streaming: bool = True
    timeout_seconds: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    retry_initial_delay: float = Field(default=1.0, ge=0)
    retry_max_delay: float = Field(default=30.0, ge=0)
    fallback_model: str | None = None
    circuit_failure_threshold: int = Field(default=5, ge=1)
    circuit_reset_seconds: float = Field(default=30.0, gt=0)
    max_tokens: int | None = None


class SubagentConfig(_Section):
    """A user-defined subagent."""

    name: str
    description: str
    prompt: str
    tools: list[str] = Field(default_factory=list)
    model: str | None = None


class RewindSettings(_Section):
    """What each turn records so it can be rewound (docs/rewind.md)."""

    enabled: bool = True
    max_file_bytes: int = Field(
        default=1_000_000, ge=0, description="Larger files (and binaries) are listed, not stored"
    )
    max_scan_files: int = Field(
        default=20_000, ge=1, description="Files a shell command's before/after scan looks at"
    )
    keep_turns: int = Field(
        default=100, ge=1, description="Turns kept per thread; older ones are pruned"
    )


class ServerSettings(_Section):
    """HTTP/MCP server settings."""

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    token: SecretStr | None = None
    allowed_origins: list[str] = Field(default_factory=list)
    allowed_hosts: list[str] = Field(default_factory=list)
    rate_limit_per_minute: int = Field(default=600, ge=1)
    max_request_bytes: int = Field(default=4_000_000, ge=1)
    stateless: bool = False
    unattended_approval: Literal["deny", "approve"] = "deny"
    # SSE events kept for clients that reconnect with Last-Event-ID (per session).
    stream_events_max: int = Field(default=2_000, ge=1, le=1_000_000)
    stream_events_ttl_seconds: float = Field(default=3_600.0, gt=0, le=7 * 86_400)


class ObservabilitySettings(_Section):
    """Logging, metrics and tracing."""

    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    metrics_port: int | None = None
    audit_log: Path | None = None


class Settings(BaseSettings):
    """All of LuminaMind's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="LUMINAMIND_",
        env_nested_delimiter="__",
        extra="ignore",
        populate_by_name=True,
    )

    workspace: Path = Field(default_factory=Path.cwd)
    extra_roots: list[WorkspaceRootConfig] = Field(default_factory=list)
    hardlinks: Literal["package_dirs", "refuse", "allow"] = Field(
        default="package_dirs",
        description="Files with several hard links (another link may be outside the "
        "workspace): touched only inside hardlink_dirs, never, or always",
    )
    hardlink_dirs: list[str] = Field(
        default_factory=lambda: _default_hardlink_dirs(),
        description="Directory names whose files may have several hard links (package stores)",
    )
    data_dir: Path = Field(default_factory=default_data_dir)

    # The seed's names, kept so existing set-ups work unchanged.
    llm_provider: Literal["openai", "ollama"] = Field(
        default="openai", validation_alias=AliasChoices("LUMINAMIND_LLM_PROVIDER", "LLM_PROVIDER")
    )
    glm_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("LUMINAMIND_GLM_API_KEY", "GLM_API_KEY")
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("LUMINAMIND_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str = Field(
        default="https://api.z.ai/api/paas/v4/",
        validation_alias=AliasChoices("LUMINAMIND_OPENAI_BASE_URL", "OPENAI_BASE_URL"),
    )
    ollama_model: str = Field(
        default="qwen3:latest",
        validation_alias=AliasChoices("LUMINAMIND_OLLAMA_MODEL", "OLLAMA_MODEL"),
    )
    ollama_base_url: str = Field(
        default="http://localhost:11434",
        validation_alias=AliasChoices("LUMINAMIND_OLLAMA_BASE_URL", "OLLAMA_BASE_URL"),
    )
    redis_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("LUMINAMIND_REDIS_URL", "REDIS_URL")
    )
    redis_cluster: bool = False
    redis_ttl_seconds: float | None = Field(
        default=None, gt=0, description="Expire a Redis thread this long after its last write"
    )
    redis_key_prefix: str = Field(default="lm", min_length=1, pattern=r"^[^{}\s]+$")
    redis_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    state_backend: Literal["auto", "sqlite", "redis", "memory"] = "auto"

    model: ModelSettings = Field(default_factory=ModelSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    shell: ShellSettings = Field(default_factory=ShellSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    rewind: RewindSettings = Field(default_factory=RewindSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)

    approvals: dict[str, ApprovalMode] = Field(
        default_factory=dict, description="Per-tool approval policy overriding the defaults"
    )
    max_steps: int = Field(default=60, ge=1, description="Model calls per run before stopping")
    max_tool_calls: int = Field(default=100, ge=1, description="Tool calls per run")
    subagents: list[SubagentConfig] = Field(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        load = current_load().get()
        if load is None:
            # Built directly (not through load_settings): read the files here, strictly.
            load = LoadContext()
            for path in config_file_paths():
                config, problem = read_config_file(path)
                if problem is not None:
                    raise InvalidSettingsError([problem])
                if config is not None:
                    load.files.append(config)
        return (
            init_settings,
            EnvSource(settings_cls),
            SecretFileSource(settings_cls),
            *(TomlFileSource(settings_cls, f, load.skip) for f in load.files),
        )

    @property
    def audit_log_path(self) -> Path:
        """Where tool executions are appended as JSON lines."""
        return self.observability.audit_log or self.data_dir / "audit.jsonl"


# Seed names for nested settings, read when the LUMINAMIND_ form is absent.
_SEED_NESTED_ENV = {
    "SERPER_API_KEY": ("web", "serper_api_key"),
    "TAVILY_API_KEY": ("web", "tavily_api_key"),
    "BRAVE_API_KEY": ("web", "brave_api_key"),
    "LUMINAMIND_MCP_TOKEN": ("server", "token"),
}


def config_file_paths(workspace: Path | None = None) -> list[Path]:
    """The config files read, highest priority first: the workspace's, then the user's.

    The workspace is the one given (``--workspace``, an editor's folder), else
    ``LUMINAMIND_WORKSPACE``, else the current directory.
    """
    if workspace is None:
        workspace = Path(os.environ.get("LUMINAMIND_WORKSPACE", Path.cwd()))
    return [Path(workspace) / WORKSPACE_CONFIG_NAME, user_config_path()]


def _seed_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    for var, (section, field) in _SEED_NESTED_ENV.items():
        value = os.environ.get(var)
        if value and field not in overrides.get(section, {}):
            nested_var = f"LUMINAMIND_{section.upper()}__{field.upper()}"
            if nested_var not in os.environ:
                overrides.setdefault(section, {})[field] = value
    if "workspace" in overrides and overrides["workspace"] is not None:
        overrides["workspace"] = Path(overrides["workspace"]).expanduser().resolve()
    return {k: v for k, v in overrides.items() if v is not None}


def _load(overrides: dict[str, Any], *, tolerant: bool) -> tuple[Settings, list[SettingProblem]]:
    """Build Settings, collecting every problem; tolerant loads drop bad values and go on."""
    explicit = {k for k, v in overrides.items() if v is not None}
    overrides = _seed_overrides(overrides)
    load = LoadContext()
    for path in config_file_paths(overrides.get("workspace")):
        config, problem = read_config_file(path)
        if problem is not None:
            load.note(problem)
        if config is not None:
            load.files.append(config)
            for unknown in unknown_key_problems(config, Settings):
                load.note(unknown)
                load.skip.add((unknown.setting,))
    for unknown in unknown_env_problems(os.environ, Settings):
        load.note(unknown)
    token = current_load().set(load)
    try:
        # Each pass drops what the last one found invalid; a handful covers any real config.
        for _ in range(8):
            try:
                settings = Settings(**overrides)
            except ValidationError as exc:
                found = describe_validation_error(
                    exc,
                    Settings,
                    files=load.files,
                    secret_files=load.secret_files,
                    overrides={k: v for k, v in overrides.items() if k in explicit},
                )
                for problem in found:
                    load.note(problem)
                if not tolerant:
                    raise InvalidSettingsError(load.problems) from None
                before = set(load.skip)
                for error in exc.errors():
                    loc = tuple(str(p) for p in error["loc"])
                    # A value that cannot be dropped any deeper takes its parent with it.
                    load.skip.add(loc if loc not in before else loc[:-1] or loc)
                if load.skip == before:
                    raise InvalidSettingsError(load.problems) from None
                continue
            settings.workspace = settings.workspace.expanduser().resolve()
            if load.problems and not tolerant:
                raise InvalidSettingsError(load.problems)
            return settings, list(load.problems)
        raise InvalidSettingsError(load.problems)
    finally:
        current_load().reset(token)


def load_settings(**overrides: Any) -> Settings:
    """Build Settings from every source; ``overrides`` win over all of them.

    Raises:
        InvalidSettingsError: listing every problem found, each with its source.
    """
    return _load(overrides, tolerant=False)[0]


def load_settings_tolerant(**overrides: Any) -> tuple[Settings, list[SettingProblem]]:
    """Settings with every invalid value replaced by its default, and the problems found.

    For servers, which must start anyway and tell their client what is wrong.
    """
    return _load(overrides, tolerant=True)
