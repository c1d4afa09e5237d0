"""Code actions offered on a selection and on diagnostics."""

from __future__ import annotations

from lsprotocol import types as lsp

from luminamind_lsp.features import code_actions


def _params(rng: lsp.Range, diagnostics: list[lsp.Diagnostic]) -> lsp.CodeActionParams:
    return lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri="file:///ws/a.py"),
        range=rng,
        context=lsp.CodeActionContext(diagnostics=diagnostics),
    )


def test_selection_offers_ask_and_explain() -> None:
    rng = lsp.Range(lsp.Position(1, 0), lsp.Position(3, 0))
    titles = [a.title for a in code_actions(_params(rng, []))]
    assert titles == ["Explain with LuminaMind", "Ask LuminaMind"]


def test_diagnostic_offers_a_fix_that_edits() -> None:
    rng = lsp.Range(lsp.Position(2, 0), lsp.Position(2, 0))
    diagnostic = lsp.Diagnostic(range=rng, message="undefined name 'x'", source="pyflakes")
    (fix, ask) = code_actions(_params(rng, [diagnostic]))
    assert fix.kind == lsp.CodeActionKind.QuickFix
    assert fix.command is not None
    assert fix.command.command == "luminamind.edit"
    assert fix.command.arguments is not None
    argument = fix.command.arguments[0]
    assert isinstance(argument, dict)
    assert "undefined name 'x'" in argument["prompt"]
    assert argument["uri"] == "file:///ws/a.py"
    assert ask.title == "Ask LuminaMind"
