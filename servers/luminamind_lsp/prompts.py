"""The messages the language server sends the agent for each command."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EditorContext", "ask_prompt", "edit_prompt", "explain_prompt"]

_MAX_CONTEXT_CHARS = 24_000


@dataclass(frozen=True, slots=True)
class EditorContext:
    """The code the user pointed at: a file, and optionally a selected line range."""

    path: str
    language: str
    text: str
    first_line: int | None = None
    last_line: int | None = None

    def describe(self) -> str:
        """``src/a.py`` or ``src/a.py, lines 3-9``."""
        if self.first_line is None or self.last_line is None:
            return f"`{self.path}`"
        return f"`{self.path}`, lines {self.first_line}-{self.last_line}"

    def block(self) -> str:
        """The code as a fenced block, capped so a huge file cannot flood the model."""
        text = self.text
        note = ""
        if len(text) > _MAX_CONTEXT_CHARS:
            text = text[:_MAX_CONTEXT_CHARS]
            note = f"\n(truncated at {_MAX_CONTEXT_CHARS} characters; read the file for the rest)"
        fence = "````" if "```" in text else "```"
        return f"{fence}{self.language}\n{text.rstrip()}\n{fence}{note}"


def ask_prompt(question: str, context: EditorContext | None) -> str:
    """A question, with the editor's code as context when there is some."""
    if context is None:
        return question
    return f"{question}\n\nContext from the editor, {context.describe()}:\n{context.block()}"


def explain_prompt(extra: str, context: EditorContext | None) -> str:
    """Ask for an explanation of the selection (or the file)."""
    if context is None:
        return extra or "Explain the code I am working on."
    ask = f"Explain what this code in {context.describe()} does, how, and anything surprising."
    if extra:
        ask += f" {extra}"
    return f"{ask}\n\n{context.block()}"


def edit_prompt(instruction: str, context: EditorContext | None) -> str:
    """Ask for a change to the selection (or the file), made with the file tools."""
    if context is None:
        return instruction
    return (
        f"Change {context.describe()}: {instruction}\n\n"
        "Make the change with multi_replace_in_file (or write_file for a new file); the user "
        "reviews it as a diff in the editor. The editor's current text of that part is:\n"
        f"{context.block()}"
    )
