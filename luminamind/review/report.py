"""What the agent is told after a hunk-by-hunk review.

The report is the tool's result in the model's next request: which hunks were written, which
were not (with the user's reason, and the hunk itself so the model knows exactly what to leave
alone), and the final text of each hunk the user changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from luminamind.review.apply import WrittenFile
from luminamind.review.decisions import HunkDecision
from luminamind.review.hunks import Hunk

__all__ = ["HunkOutcome", "ReviewReport", "build_report"]

# A rejected hunk's diff is repeated to the model so it knows what not to redo; bounded.
_MAX_HUNK_DIFF = 4_000
_NOTE_PARTIAL = (
    "The user reviewed this change hunk by hunk. Only the applied and edited hunks were written "
    "(edited ones with the user's text, shown here). Rejected hunks were NOT written: do not "
    "apply them again unless the user asks; take their reasons into account. Read the file "
    "again before changing it further."
)
_NOTE_EDITOR = (
    "The user reviewed this change hunk by hunk in the editor, which applied the accepted and "
    "edited hunks to its buffer (on disk once they save): it is done, do not write it again. "
    "Rejected hunks were NOT applied: do not apply them again unless the user asks. Read the "
    "file again before changing it further."
)
_NOTE_REJECTED = (
    "The user rejected every hunk of this change; nothing was written. Do not apply these hunks "
    "again unless the user asks; take their reasons into account."
)


class HunkOutcome(BaseModel):
    """One hunk after the review."""

    hunk: int
    path: str
    header: str
    status: Literal["applied", "rejected", "edited"]
    reason: str | None = None
    text: str | None = Field(default=None, description="edited: the text the user wrote")
    diff: str | None = Field(default=None, description="rejected: the hunk that was not written")


class ReviewReport(BaseModel):
    """The tool result of a change reviewed hunk by hunk."""

    tool: str
    status: Literal["applied", "partially_applied", "rejected"]
    applied: list[int]
    rejected: list[int]
    edited: list[int]
    hunks: list[HunkOutcome]
    files: list[dict[str, str | bool | None]] = Field(default_factory=list)
    note: str

    def to_text(self) -> str:
        """Compact JSON, as every other tool result the model reads."""
        return json.dumps(
            self.model_dump(mode="json", exclude_none=True),
            ensure_ascii=False,
            separators=(",", ":"),
        )


def build_report(
    tool: str,
    hunks: Sequence[Hunk],
    decisions: Sequence[HunkDecision],
    chosen: Mapping[int, str | None],
    written: Sequence[WrittenFile] = (),
    *,
    in_editor: bool = False,
) -> ReviewReport:
    """The report for ``decisions`` (already checked by `choose`).

    ``in_editor``: the editor applied the kept hunks to its buffers (nothing was written here).
    """
    by_index = {d.hunk: d for d in decisions}
    outcomes: list[HunkOutcome] = []
    for hunk in hunks:
        decision = by_index[hunk.index]
        outcome = HunkOutcome(hunk=hunk.index, path=hunk.path, header=hunk.header, status="applied")
        if decision.action == "reject":
            diff = hunk.diff
            if len(diff) > _MAX_HUNK_DIFF:
                diff = diff[:_MAX_HUNK_DIFF] + "…(cut)\n"
            outcome = outcome.model_copy(
                update={"status": "rejected", "reason": decision.reason, "diff": diff}
            )
        elif decision.action == "edit":
            outcome = outcome.model_copy(update={"status": "edited", "text": chosen[hunk.index]})
        outcomes.append(outcome)
    rejected = [o.hunk for o in outcomes if o.status == "rejected"]
    status: Literal["applied", "partially_applied", "rejected"] = (
        "rejected"
        if len(rejected) == len(outcomes)
        else "partially_applied"
        if rejected
        else "applied"
    )
    return ReviewReport(
        tool=tool,
        status=status,
        applied=[o.hunk for o in outcomes if o.status == "applied"],
        rejected=rejected,
        edited=[o.hunk for o in outcomes if o.status == "edited"],
        hunks=outcomes,
        files=[
            {"path": w.path, "sha256": w.sha256, "exists": w.sha256 is not None} for w in written
        ],
        note=_NOTE_REJECTED
        if status == "rejected"
        else _NOTE_EDITOR
        if in_editor
        else _NOTE_PARTIAL,
    )
