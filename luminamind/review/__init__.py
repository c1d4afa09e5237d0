"""Hunk-by-hunk review of the agent's file changes: split, decide, apply what was kept, report.

::

    hunks = split_changes(request.files)               # the unit of review
    chosen = choose(hunks, decisions)                  # HunkDecision per hunk, checked
    finals = final_texts(request.files, hunks, chosen)
    written = await write_selection(ctx, request.files, finals, tool=request.tool)
    report = build_report(request.tool, hunks, decisions, chosen, written)  # the tool result

Every surface (CLI, MCP, LSP, editors) produces `HunkDecision`s; the agent layer
(``luminamind.agent.review``) turns them into the answer the paused tool call gets.
"""

from luminamind.review.apply import WrittenFile, final_texts, write_selection
from luminamind.review.decisions import (
    HunkAction,
    HunkDecision,
    Inference,
    choose,
    compose,
    infer_decisions,
    parse_edited_hunk,
)
from luminamind.review.hunks import (
    CONTEXT_LINES,
    Hunk,
    HunkKind,
    proposal_id,
    split_change,
    split_changes,
)
from luminamind.review.report import HunkOutcome, ReviewReport, build_report

__all__ = [
    "CONTEXT_LINES",
    "Hunk",
    "HunkAction",
    "HunkDecision",
    "HunkKind",
    "HunkOutcome",
    "Inference",
    "ReviewReport",
    "WrittenFile",
    "build_report",
    "choose",
    "compose",
    "final_texts",
    "infer_decisions",
    "parse_edited_hunk",
    "proposal_id",
    "split_change",
    "split_changes",
    "write_selection",
]
