"""Configuration mistakes: every source, every kind, all reported at once with where and how."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from luminamind.config import load_settings, load_settings_tolerant
from luminamind.config_problems import InvalidSettingsError, SettingProblem, blocking_problems


def _problems(**overrides: object) -> list[SettingProblem]:
    with pytest.raises(InvalidSettingsError) as caught:
        load_settings(**overrides)
    return list(caught.value.problems)


def _one(**overrides: object) -> SettingProblem:
    problems = _problems(**overrides)
    assert len(problems) == 1, problems
    return problems[0]


@pytest.fixture
def ws(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LUMINAMIND_WORKSPACE", str(workspace_dir))
    return workspace_dir


def test_model_shorthand_sets_model_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUMINAMIND_MODEL", "openai:gpt-4.1")
    assert load_settings().model.model == "openai:gpt-4.1"


def test_model_shorthand_keeps_nested_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUMINAMIND_MODEL", "ollama:qwen3")
    monkeypatch.setenv("LUMINAMIND_MODEL__TIMEOUT_SECONDS", "9")
    settings = load_settings()
    assert (settings.model.model, settings.model.timeout_seconds) == ("ollama:qwen3", 9.0)


def test_model_as_json_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUMINAMIND_MODEL", '{"model": "openai:x", "temperature": 0.1}')
    settings = load_settings()
    assert (settings.model.model, settings.model.temperature) == ("openai:x", 0.1)


def test_wrong_type_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUMINAMIND_MAX_STEPS", "many")
    problem = _one()
    assert problem.setting == "max_steps"
    assert problem.source == "environment variable LUMINAMIND_MAX_STEPS"
    assert "'many'" in problem.problem
    assert "integer" in problem.expected
    assert problem.example == "LUMINAMIND_MAX_STEPS=60"


def test_nested_out_of_range_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUMINAMIND_WEB__TIMEOUT_SECONDS", "-1")
    problem = _one()
    assert (problem.setting, problem.source) == (
        "web.timeout_seconds",
        "environment variable LUMINAMIND_WEB__TIMEOUT_SECONDS",
    )
    assert "greater than 0" in problem.expected
    assert problem.example == "LUMINAMIND_WEB__TIMEOUT_SECONDS=20.0"


def test_empty_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUMINAMIND_MODEL__MODEL", "")
    problem = _one()
    assert problem.setting == "model.model"
    assert problem.problem == "the value is empty"


def test_unknown_environment_variable_suggests_the_closest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LUMINAMIND_MODLE", "openai:gpt-4.1")
    problem = _one()
    assert problem.setting == "LUMINAMIND_MODLE"
    assert "did you mean LUMINAMIND_MODEL?" in problem.problem


def test_unknown_nested_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUMINAMIND_WEB__SERPER_KEY", "k")
    problem = _one()
    assert problem.setting == "web.serper_key"
    assert "did you mean serper_api_key?" in problem.problem
    assert problem.source == "environment variable LUMINAMIND_WEB__SERPER_KEY"


def test_malformed_json_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUMINAMIND_EXTRA_ROOTS", "[oops")
    problem = _one()
    assert problem.setting == "extra_roots"
    assert "not valid JSON" in problem.problem
    assert problem.example.startswith("LUMINAMIND_EXTRA_ROOTS=")


def test_secret_file_pointing_nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GLM_API_KEY_FILE", str(tmp_path / "missing"))
    problem = _one()
    assert problem.setting == "glm_api_key"
    assert problem.source == "environment variable GLM_API_KEY_FILE"
    assert "No such file" in problem.problem
    assert str(tmp_path / "missing") in problem.problem


def test_nested_secret_file_pointing_nowhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SERPER_API_KEY_FILE", str(tmp_path))  # a directory, not a file
    problem = _one()
    assert problem.setting == "web.serper_api_key"


def test_secret_file_value_is_never_shown(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "url"
    secret.write_text("not-a-url-with-hunter2\n")
    monkeypatch.setenv("LUMINAMIND_REDIS_URL_FILE", str(secret))
    monkeypatch.setenv("LUMINAMIND_MAX_STEPS", "x")
    settings_text = "\n".join(p.render() for p in _problems())
    assert "hunter2" not in settings_text


def test_toml_syntax_error_names_file_and_line(ws: Path) -> None:
    (ws / ".luminamind.toml").write_text('max_steps = 3\n[model\nmodel = "x"\n')
    problem = _one()
    assert problem.source == f"{ws / '.luminamind.toml'}, line 2"
    assert problem.problem.startswith("TOML syntax error")


def test_toml_wrong_type_names_file_and_line(ws: Path) -> None:
    (ws / ".luminamind.toml").write_text('[model]\nmodel = "openai:x"\ntimeout_seconds = "soon"\n')
    problem = _one()
    assert problem.setting == "model.timeout_seconds"
    assert problem.source == f"{ws / '.luminamind.toml'}, line 3"
    assert problem.example == "[model] timeout_seconds = 120.0"


def test_toml_unknown_keys_top_level_and_nested(ws: Path) -> None:
    (ws / ".luminamind.toml").write_text("max_step = 3\n\n[web]\nserper_key = 'k'\nbogus = 1\n")
    by_setting = {p.setting: p for p in _problems()}
    assert set(by_setting) == {"max_step", "web.serper_key", "web.bogus"}
    assert "did you mean max_steps?" in by_setting["max_step"].problem
    assert by_setting["max_step"].source.endswith("line 1")
    assert "did you mean serper_api_key?" in by_setting["web.serper_key"].problem
    assert by_setting["web.serper_key"].source.endswith("line 4")
    # No close name: the keys that exist are listed instead (capped).
    assert by_setting["web.bogus"].expected.startswith("one of allowed_hosts")


def test_user_config_unreadable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "config.toml"
    folder.mkdir()  # a directory where the file should be: unreadable on every OS
    monkeypatch.setenv("LUMINAMIND_CONFIG_FILE", str(folder))
    problem = _one()
    assert problem.source == str(folder)
    assert problem.problem.startswith("cannot read the file")


def test_user_config_not_utf8(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"max_steps = 3\n\xff\xfe\n")
    monkeypatch.setenv("LUMINAMIND_CONFIG_FILE", str(path))
    assert "not UTF-8" in _one().problem


def test_every_problem_is_reported_at_once(
    ws: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (ws / ".luminamind.toml").write_text("[shell]\ntimeout_seconds = 0\n")
    monkeypatch.setenv("LUMINAMIND_MAX_STEPS", "x")
    monkeypatch.setenv("LUMINAMIND_MODLE", "y")
    monkeypatch.setenv("OPENAI_API_KEY_FILE", str(tmp_path / "nope"))
    settings = {p.setting for p in _problems()}
    assert settings == {"max_steps", "LUMINAMIND_MODLE", "openai_api_key", "shell.timeout_seconds"}


def test_environment_wins_and_is_named_over_the_file(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (ws / ".luminamind.toml").write_text("max_steps = 5\n")
    monkeypatch.setenv("LUMINAMIND_MAX_STEPS", "-3")
    assert _one().source == "environment variable LUMINAMIND_MAX_STEPS"


def test_tolerant_load_keeps_the_valid_and_defaults_the_rest(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (ws / ".luminamind.toml").write_text("max_steps = 7\n[model]\ntemperature = 9\n")
    monkeypatch.setenv("LUMINAMIND_MODEL", "openai:gpt-4.1")
    monkeypatch.setenv("LUMINAMIND_SHELL__TIMEOUT_SECONDS", "never")
    settings, problems = load_settings_tolerant()
    assert settings.max_steps == 7
    assert settings.model.model == "openai:gpt-4.1"
    assert settings.model.temperature == 0.7  # the default, in place of the bad 9
    assert settings.shell.timeout_seconds == 60.0
    assert {p.setting for p in problems} == {"model.temperature", "shell.timeout_seconds"}


def test_tolerant_load_skips_a_broken_file_and_reads_the_other(
    ws: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (ws / ".luminamind.toml").write_text("[[[")
    user = tmp_path / "user.toml"
    user.write_text("max_steps = 4\n")
    monkeypatch.setenv("LUMINAMIND_CONFIG_FILE", str(user))
    settings, problems = load_settings_tolerant()
    assert settings.max_steps == 4
    assert [p.problem.split(":")[0] for p in problems] == ["TOML syntax error"]


def test_blocking_problems_by_what_a_tool_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUMINAMIND_MODEL__TEMPERATURE", "hot")
    monkeypatch.setenv("LUMINAMIND_SHELL__TIMEOUT_SECONDS", "never")
    _, problems = load_settings_tolerant()
    assert blocking_problems(problems, tool="read_file") == []
    assert [p.setting for p in blocking_problems(problems, tool="shell")] == [
        "shell.timeout_seconds"
    ]
    assert len(blocking_problems(problems, tool=None)) == 2  # the agent reads everything


def test_auxiliary_variables_are_not_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUMINAMIND_MCP_TOKEN", "t" * 24)
    monkeypatch.setenv("LUMINAMIND_BANNER", "1")
    assert load_settings().server.token is not None
    assert "LUMINAMIND_CONFIG_FILE" in os.environ  # set by the isolation fixture, accepted
