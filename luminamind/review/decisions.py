"""A human's decision per hunk, and the file text a set of decisions produces.

Three answers per hunk: ``accept`` it, ``reject`` it (with an optional reason the agent is told),
or ``edit`` it: ``text`` is what the hunk's region should hold instead of the proposal, or
``patch`` is the hunk in diff form as the user changed it (``git add -p``'s ``e``), whose
context and ``-`` lines must still be the file's. Editors that let the user change the proposed
buffer directly get the decisions back with `infer_decisions`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from luminamind.errors import HunkDecisionError, HunkEditError
from luminamind.review.hunks import Hunk, split_lines
from luminamind.tools.files.textfile import detect_newline
from luminamind.tools.preview import PatienceSequenceMatcher

__all__ = [
    "HunkAction",
    "HunkDecision",
    "Inference",
    "choose",
    "compose",
    "infer_decisions",
    "parse_edited_hunk",
]

HunkAction = Literal["accept", "reject", "edit"]


class HunkDecision(BaseModel):
    """The answer for one hunk (``hunk`` is its 1-based index in the action)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hunk: int = Field(ge=1, description="1-based index of the hunk in the action")
    action: HunkAction
    reason: str | None = Field(
        default=None, max_length=2_000, description="Why it was rejected (the agent sees it)"
    )
    text: str | None = Field(
        default=None, description="edit: what the hunk's lines should be instead of the proposal"
    )
    patch: str | None = Field(
        default=None, description="edit: the hunk in diff form, with only +/- lines changed"
    )

    @model_validator(mode="after")
    def _edit_has_one_text(self) -> HunkDecision:
        if self.action == "edit" and (self.text is None) == (self.patch is None):
            raise ValueError(f"the edit of hunk {self.hunk} needs exactly one of 'text' or 'patch'")
        if self.action != "edit" and (self.text is not None or self.patch is not None):
            raise ValueError(f"hunk {self.hunk}: 'text' and 'patch' belong to an 'edit' only")
        return self


def choose(hunks: Sequence[Hunk], decisions: Sequence[HunkDecision]) -> dict[int, str | None]:
    """Check ``decisions`` against ``hunks`` and return each hunk's chosen region text.

    The value is the region's new text: the proposal (accept), the current text (reject), the
    user's text (edit); None for an accepted deletion or opaque change.

    Raises:
        HunkDecisionError: a hunk is undecided or decided twice, or an index is unknown.
        HunkEditError: an edit of a hunk that cannot be edited, or an edited patch that no
            longer applies to the file.
    """
    by_index = {h.index: h for h in hunks}
    chosen: dict[int, str | None] = {}
    for decision in decisions:
        hunk = by_index.get(decision.hunk)
        if hunk is None:
            raise HunkDecisionError(
                f"there is no hunk {decision.hunk}; this change has hunks 1..{len(hunks)}"
            )
        if decision.hunk in chosen:
            raise HunkDecisionError(f"hunk {decision.hunk} was decided twice; decide it once")
        if decision.action == "accept":
            # None: the file goes (a deletion), or an opaque change is taken as a whole.
            chosen[hunk.index] = None if hunk.kind in ("delete", "opaque") else hunk.new
        elif decision.action == "reject":
            chosen[hunk.index] = hunk.old
        else:
            chosen[hunk.index] = _edited_text(hunk, decision)
    missing = [h.index for h in hunks if h.index not in chosen]
    if missing:
        raise HunkDecisionError(
            f"hunk(s) {', '.join(map(str, missing))} have no decision; accept, reject or edit "
            "every hunk"
        )
    return chosen


def _edited_text(hunk: Hunk, decision: HunkDecision) -> str:
    if not hunk.editable:
        what = "a deletion" if hunk.kind == "delete" else "a change without text (binary)"
        raise HunkEditError(f"hunk {hunk.index} ({hunk.path}) is {what}; accept or reject it")
    if decision.patch is not None:
        return parse_edited_hunk(hunk, decision.patch)
    text = decision.text or ""
    # A region followed by more lines must end its last line; users often drop that newline.
    if text and not text.endswith(("\n", "\r")) and hunk.new.endswith(("\n", "\r")):
        text += detect_newline(hunk.new)
    return text


def parse_edited_hunk(hunk: Hunk, patch: str) -> str:
    """The region text of a hunk the user edited in diff form.

    Lines starting with ``#`` and ``@@`` are ignored; `` `` and ``-`` lines must be the hunk's
    current lines in order (they are the file), ``+`` and `` `` lines are the result.

    Raises:
        HunkEditError: the edit changed context or ``-`` lines, so it no longer applies.
    """
    old: list[str] = []
    new: list[str] = []
    last: list[list[str]] = []
    for raw in split_lines(patch):
        if raw.startswith(("#", "@@")):
            continue
        if raw.startswith("\\"):
            # "\ No newline at end of file": the previous line has no ending.
            for side in last:
                if side:
                    side[-1] = side[-1].rstrip("\r\n")
            continue
        tag, line = raw[:1], raw[1:]
        if not raw.endswith(("\n", "\r")):
            line += "\n"  # an editor dropped the final newline; the marker says when it is real
        if tag in (" ", ""):
            old.append(line if tag else "\n")
            new.append(line if tag else "\n")
            last = [old, new]
        elif tag == "-":
            old.append(line)
            last = [old]
        elif tag == "+":
            new.append(line)
            last = [new]
        else:
            raise HunkEditError(
                f"the edited hunk {hunk.index} has a line starting with {tag!r}; every line must "
                "start with ' ', '-' or '+'"
            )
    if not old and not new:
        raise HunkEditError(f"the edited hunk {hunk.index} is empty; accept or reject it instead")
    if "".join(old) != hunk.old:
        raise HunkEditError(
            f"the edited hunk {hunk.index} ({hunk.path} {hunk.header}) no longer applies: its "
            "context and '-' lines differ from the file. Change only '+' lines (or turn ' ' into "
            "'-' and '-' into ' '), or accept or reject the hunk"
        )
    return "".join(new)


def compose(old: str | None, hunks: Sequence[Hunk], chosen: Mapping[int, str | None]) -> str | None:
    """One file's text after the chosen hunks (None: the file is deleted or never created).

    ``hunks`` are the file's own hunks, in order; regions never overlap, so each region is
    replaced independently.
    """
    if len(hunks) == 1 and hunks[0].kind in ("create", "delete"):
        text = chosen[hunks[0].index]
        if hunks[0].kind == "create" and text == hunks[0].old and old is None:
            return None  # a rejected new file is not created
        return text
    lines = split_lines(old or "")
    out: list[str] = []
    position = 0
    for hunk in sorted(hunks, key=lambda h: h.offset):
        out.extend(lines[position : hunk.offset])
        out.append(chosen[hunk.index] or "")
        position = hunk.offset + hunk.old_line_count
    out.extend(lines[position:])
    return "".join(out)


class Inference(BaseModel):
    """Decisions read back from the text a user left in an editor."""

    decisions: list[HunkDecision]
    outside_changes: bool = Field(description="The user also changed lines that belong to no hunk")


def infer_decisions(old: str | None, hunks: Sequence[Hunk], final: str | None) -> Inference:
    """Which of one file's hunks a buffer holds: as proposed, as before, or changed.

    Used where the editor applies the change itself (the LSP refactor preview with hunks
    unticked, an editable diff tab): the buffer is the truth, this tells the agent about it.
    """
    if len(hunks) == 1 and hunks[0].kind in ("create", "delete", "opaque"):
        return Inference(decisions=[_whole_file(hunks[0], final)], outside_changes=False)
    a, f = split_lines(old or ""), split_lines(final or "")
    ops = PatienceSequenceMatcher(None, a, f).get_opcodes()
    decisions: list[HunkDecision] = []
    spans: list[tuple[int, int]] = []
    for hunk in hunks:
        start, end = hunk.offset, hunk.offset + hunk.old_line_count
        spans.append((start, end))
        region = "".join(f[_map(ops, start, first=True) : _map(ops, end, first=False)])
        if region == hunk.new:
            decisions.append(HunkDecision(hunk=hunk.index, action="accept"))
        elif region == hunk.old:
            decisions.append(HunkDecision(hunk=hunk.index, action="reject"))
        else:
            decisions.append(HunkDecision(hunk=hunk.index, action="edit", text=region))
    outside = any(
        tag != "equal" and not any(s <= i1 and i2 <= e for s, e in spans)
        for tag, i1, i2, _j1, _j2 in ops
    )
    return Inference(decisions=decisions, outside_changes=outside)


def _whole_file(hunk: Hunk, final: str | None) -> HunkDecision:
    if hunk.kind == "create":
        if final == hunk.new:
            return HunkDecision(hunk=hunk.index, action="accept")
        if final is None:
            return HunkDecision(hunk=hunk.index, action="reject")
        return HunkDecision(hunk=hunk.index, action="edit", text=final)
    # A deletion (or an opaque change) happened if the file is gone, else it was kept.
    return HunkDecision(hunk=hunk.index, action="accept" if final is None else "reject")


def _map(ops: Sequence[tuple[str, int, int, int, int]], x: int, *, first: bool) -> int:
    """Where boundary ``x`` of the old text lands in the new one.

    A region's start takes the earliest candidate and its end the latest, so insertions at a
    region's edge and changed blocks straddling it count as the region's own.
    """
    best: int | None = None
    for tag, i1, i2, j1, j2 in ops:
        if not i1 <= x <= i2:
            continue
        if tag == "equal":
            candidate = j1 + (x - i1)
        elif i1 < x < i2:
            candidate = j1 if first else j2
        elif x == i1:
            candidate = j1 if (first or i1 < i2) else j2
        else:  # x == i2 of a changed block
            candidate = j2
        if best is None or (candidate < best if first else candidate > best):
            best = candidate
    return best if best is not None else x
