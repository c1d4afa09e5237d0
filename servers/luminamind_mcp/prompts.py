"""Prompts the server offers: ready-made instructions that put LuminaMind's tools to work.

A prompt is text for the client's model; it names the tools to use and the shape of the answer,
and leaves the work to the model (or to ``run_task``, which the prompts mention for clients
that would rather hand the whole job to LuminaMind's own agent).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import mcp_types as types
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

__all__ = ["PROMPTS", "get_prompt", "list_prompts"]


@dataclass(frozen=True, slots=True)
class _Prompt:
    name: str
    title: str
    description: str
    arguments: tuple[types.PromptArgument, ...]
    render: Callable[[Mapping[str, str]], str]


def _code_review(args: Mapping[str, str]) -> str:
    target = args.get("path") or "the workspace"
    focus = args.get("focus") or "correctness, security, error handling, tests and readability"
    return (
        f"Review the code in {target}, focusing on {focus}.\n\n"
        "Work with the LuminaMind tools: `tree_view` and `list_directory` to see the layout, "
        "`file_search` and `grep_search` to find the relevant code, `read_file` to read it "
        "(use offset/limit for long files). Do not change any file.\n\n"
        "Report findings grouped by severity (critical, major, minor, nit). For each one give "
        "the file and line, what is wrong, why it matters, and a concrete fix (a short diff "
        "when it helps). Finish with what is done well and the three changes you would make "
        "first. To hand the whole review to LuminaMind's own agent instead, call `run_task` "
        "with this text."
    )


def _research(args: Mapping[str, str]) -> str:
    topic = args.get("topic", "").strip()
    depth = args.get("depth") or "a concise brief"
    return (
        f"Research this topic and write {depth}: {topic}\n\n"
        "Use `web_search` to find sources, `fetch_as_markdown` to read the most relevant pages "
        "(and `web_crawl` when a site's sub-pages matter). Prefer primary sources and recent "
        "material; check claims against a second source.\n\n"
        "Answer with: a short summary, the key findings as bullet points each with its source "
        "URL, open questions or disagreements between sources, and a list of the sources used. "
        "Say plainly when something could not be verified. To hand the research to LuminaMind's "
        "own agent (its web-researcher subagent), call `run_task` with this text."
    )


PROMPTS: dict[str, _Prompt] = {
    p.name: p
    for p in (
        _Prompt(
            name="code_review",
            title="Code review",
            description="Review code in the workspace: findings by severity, with fixes.",
            arguments=(
                types.PromptArgument(
                    name="path",
                    description="File or directory to review (default: the whole workspace).",
                    required=False,
                ),
                types.PromptArgument(
                    name="focus",
                    description="What to look at most (e.g. security, performance).",
                    required=False,
                ),
            ),
            render=_code_review,
        ),
        _Prompt(
            name="research",
            title="Web research",
            description="Research a topic on the web and report findings with sources.",
            arguments=(
                types.PromptArgument(name="topic", description="What to research.", required=True),
                types.PromptArgument(
                    name="depth",
                    description="The kind of answer (default: a concise brief).",
                    required=False,
                ),
            ),
            render=_research,
        ),
    )
}


def list_prompts() -> list[types.Prompt]:
    """Every prompt, as ``prompts/list`` shows them."""
    return [
        types.Prompt(
            name=p.name, title=p.title, description=p.description, arguments=list(p.arguments)
        )
        for p in PROMPTS.values()
    ]


def get_prompt(name: str, arguments: Mapping[str, str] | None) -> types.GetPromptResult:
    """Render one prompt.

    Raises:
        MCPError: ``INVALID_PARAMS`` for an unknown prompt or a missing required argument.
    """
    prompt = PROMPTS.get(name)
    if prompt is None:
        known = ", ".join(PROMPTS)
        raise MCPError(code=INVALID_PARAMS, message=f"unknown prompt '{name}'; known: {known}")
    args = dict(arguments or {})
    missing = [a.name for a in prompt.arguments if a.required and not args.get(a.name, "").strip()]
    if missing:
        raise MCPError(
            code=INVALID_PARAMS,
            message=f"prompt '{name}' needs the argument(s): {', '.join(missing)}",
        )
    text = prompt.render(args)
    return types.GetPromptResult(
        description=prompt.description,
        messages=[
            types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))
        ],
    )
