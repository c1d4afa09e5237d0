"""LSP features besides commands: initialize, initialized, shutdown and code actions."""

from __future__ import annotations

from typing import Any

from lsprotocol import types as lsp

from luminamind.config_problems import problems_message
from luminamind_lsp.server import LuminaLanguageServer

__all__ = ["code_actions", "register_features"]


def _range_json(rng: lsp.Range) -> dict[str, Any]:
    return {
        "start": {"line": rng.start.line, "character": rng.start.character},
        "end": {"line": rng.end.line, "character": rng.end.character},
    }


def code_actions(params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    """Ask / Explain on a selection, and Fix for each diagnostic in range."""
    uri = params.text_document.uri
    rng = params.range
    actions: list[lsp.CodeAction] = []
    for diagnostic in params.context.diagnostics:
        argument = {
            "prompt": f"Fix this problem: {diagnostic.message}"
            + (f" ({diagnostic.source})" if diagnostic.source else ""),
            "uri": uri,
            "range": _range_json(diagnostic.range),
        }
        actions.append(
            lsp.CodeAction(
                title="Fix with LuminaMind",
                kind=lsp.CodeActionKind.QuickFix,
                diagnostics=[diagnostic],
                command=lsp.Command(
                    title="Fix with LuminaMind", command="luminamind.edit", arguments=[argument]
                ),
            )
        )
    selection = {"uri": uri, "range": _range_json(rng)}
    if rng.start != rng.end:
        actions.append(
            lsp.CodeAction(
                title="Explain with LuminaMind",
                kind=lsp.CodeActionKind.Empty,
                command=lsp.Command(
                    title="Explain with LuminaMind",
                    command="luminamind.explain",
                    arguments=[selection],
                ),
            )
        )
    ask = {**selection, "prompt": "Review this code: point out bugs, risks and improvements."}
    actions.append(
        lsp.CodeAction(
            title="Ask LuminaMind",
            kind=lsp.CodeActionKind.Empty,
            command=lsp.Command(title="Ask LuminaMind", command="luminamind.ask", arguments=[ask]),
        )
    )
    return actions


def register_features(server: LuminaLanguageServer) -> None:
    """Attach initialize, initialized, shutdown and code actions to ``server``."""

    @server.feature(lsp.INITIALIZE)
    def initialize(ls: LuminaLanguageServer, params: lsp.InitializeParams) -> None:
        ls.configure(params)

    @server.feature(lsp.INITIALIZED)
    def initialized(ls: LuminaLanguageServer, params: lsp.InitializedParams) -> None:
        if ls.problems:
            # Shown by every editor; the agent is not opened on a configuration that is wrong.
            ls.window_show_message(
                lsp.ShowMessageParams(
                    type=lsp.MessageType.Error, message=problems_message(ls.problems)
                )
            )
            return
        ls.start_warm_up()

    @server.feature(lsp.SHUTDOWN)
    async def shutdown(ls: LuminaLanguageServer, params: None) -> None:
        await ls.close()

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(
            code_action_kinds=[lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.Empty]
        ),
    )
    def code_action(ls: LuminaLanguageServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        return code_actions(params)
