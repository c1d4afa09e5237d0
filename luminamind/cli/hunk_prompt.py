"""Reviewing a proposed file change hunk by hunk in the terminal, as ``git add -p`` does.

Each hunk is printed, then ``Apply this hunk to PATH [y,n,e,a,d,?]?``: ``y`` keep it, ``n``
leave it out (with an optional reason the agent reads), ``e`` edit it in ``$VISUAL`` /
``$EDITOR`` (the hunk as a diff: change ``+`` lines, keep the others; an edit that no longer
applies is refused and offered again), ``a`` keep it and every remaining hunk, ``d`` leave out it
and every remaining one. The answers become one ``review`` decision.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.prompt import Prompt
from rich.syntax import Syntax

from luminamind.agent.events import ActionRequest, Decision, Hunk, HunkDecision
from luminamind.errors import HunkEditError
from luminamind.review import parse_edited_hunk

__all__ = ["ask_hunks", "edit_in_editor"]

_HELP = (
    "y - apply this hunk\n"
    "n - do not apply this hunk (you may say why; the agent reads it)\n"
    "e - edit this hunk in your editor\n"
    "a - apply this hunk and all the remaining ones\n"
    "d - do not apply this hunk nor any of the remaining ones\n"
    "? - print help"
)
_EDIT_COMMENT = (
    "# Edit the hunk, then save and quit. To leave out a '-' line, make it ' ' (keep it);\n"
    "# to leave out a '+' line, delete it. Lines starting with # are ignored.\n"
    "# Context (' ') and '-' lines must stay as they are in the file, or the edit no longer\n"
    "# applies.\n"
)


def edit_in_editor(hunk: Hunk) -> str | None:
    """Open the hunk in the user's editor; its edited text, or None if emptied or unchanged."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory(prefix="luminamind-hunk-") as tmp:
        path = Path(tmp) / f"hunk-{hunk.index}.diff"
        path.write_text(_EDIT_COMMENT + hunk.diff, encoding="utf-8")
        # The user's own editor command, as git runs it (it may carry arguments).
        subprocess.run([*shlex.split(editor), str(path)], check=False)
        text = path.read_text(encoding="utf-8")
    body = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))
    if not body.strip() or body == hunk.diff:
        return None
    return body


def _choices(hunk: Hunk) -> list[str]:
    return ["y", "n", "e", "a", "d", "?"] if hunk.editable else ["y", "n", "a", "d", "?"]


def ask_hunks(console: Console, request: ActionRequest) -> Decision:
    """Ask about each hunk of ``request``; the ``review`` decision for the answers."""
    total = len(request.hunks)
    console.print(
        f"[bold]{escape(request.tool)}[/bold] proposes {total} hunks in "
        f"{escape(', '.join(dict.fromkeys(h.path for h in request.hunks)))}"
    )
    if request.notice:
        console.print(f"[yellow]{escape(request.notice)}[/yellow]")
    decisions: list[HunkDecision] = []
    rest: HunkDecision | None = None
    for hunk in request.hunks:
        if rest is not None:
            decisions.append(rest.model_copy(update={"hunk": hunk.index}))
            continue
        console.print(Syntax(hunk.diff.rstrip("\n"), "diff", theme="ansi_dark", word_wrap=True))
        while True:
            choices = _choices(hunk)
            answer = Prompt.ask(
                escape(
                    f"({hunk.index}/{total}) Apply this hunk to {hunk.path} [{','.join(choices)}]"
                ),
                choices=choices,
                show_choices=False,
                console=console,
            )
            decision = _answer(console, hunk, answer)
            if decision is None:
                continue
            if answer in ("a", "d"):
                rest = decision
            decisions.append(decision)
            break
    return Decision(type="review", proposal=request.proposal, action_id=request.id, hunks=decisions)


def _answer(console: Console, hunk: Hunk, answer: str) -> HunkDecision | None:
    if answer in ("y", "a"):
        return HunkDecision(hunk=hunk.index, action="accept")
    if answer in ("n", "d"):
        reason = Prompt.ask(
            "why? (the agent reads it; Enter for no reason)", default="", console=console
        )
        return HunkDecision(hunk=hunk.index, action="reject", reason=reason.strip() or None)
    if answer == "e":
        patch = edit_in_editor(hunk)
        if patch is None:
            console.print("[yellow]the hunk was not changed[/yellow]")
            return None
        try:
            parse_edited_hunk(hunk, patch)
        except HunkEditError as exc:
            console.print(f"[red]{escape(exc.message)}[/red]")
            return None
        return HunkDecision(hunk=hunk.index, action="edit", patch=patch)
    console.print(_HELP)
    return None
