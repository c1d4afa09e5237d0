// Per-hunk review in VS Code's own diff editor (run by tests/e2e/test_vscode.py against the
// scripted model). The agent proposes a change to notes.txt with two hunks; the diff opens beside
// the editor the user is in without taking its focus; the user reverts the second hunk with the
// diff editor's "Revert Block" arrow in the gutter, then presses Accept in the diff's title bar.
// The buffer gets the first hunk only; the user saves; Python checks the file and what the
// agent was told. Then a second proposal is turned down with Reject in the title bar.
"use strict";
const fs = require("fs");
const path = require("path");
const { main, sleep } = require(process.env.HARNESS);

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

/** The diff editor showing the proposal: its group's element is marked `data-lm-diff`. */
async function markDiffGroup(vs) {
  return vs.page.evaluate(() => {
    for (const group of document.querySelectorAll(".editor-group-container")) {
      const tab = group.querySelector(".tab.active");
      if (tab && tab.textContent.includes("LuminaMind's proposal") && group.querySelector(".monaco-diff-editor")) {
        group.setAttribute("data-lm-diff", "1");
        return true;
      }
    }
    return false;
  });
}

/** Rendered lines of the diff's modified (proposal) side. */
async function proposalLines(vs) {
  return vs.page.evaluate(() => {
    // The modified editor's own lines (in the inline view, removed lines are view zones).
    const editor = document.querySelector("[data-lm-diff] .monaco-diff-editor .monaco-editor.modified-in-monaco-diff-editor");
    if (!editor) return [];
    const lines = [...editor.querySelectorAll(".lines-content > .view-lines > .view-line")];
    lines.sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));
    return lines.map((l) => l.textContent.replace(/\u00a0/g, " "));
  });
}

/** The gutter items (one per changed block) of the diff, top to bottom, as page coordinates. */
async function gutterItems(vs) {
  return vs.page.evaluate(() => {
    const items = [...document.querySelectorAll("[data-lm-diff] .monaco-diff-editor .gutterItem")];
    return items
      .map((item) => {
        const box = item.getBoundingClientRect();
        return { x: box.x + box.width / 2, y: box.y + Math.min(box.height, 20) / 2, top: box.y, height: box.height };
      })
      .filter((b) => b.height > 0)
      .sort((a, b) => a.top - b.top);
  });
}

/** Click into the proposal side (activating its group), then the title bar action `title`. */
async function clickTitleAction(vs, title) {
  // VS Code shows a group's title actions only while the group is active
  // (workbench.editor.alwaysShowEditorActions is off): click into the proposal first.
  const inside = await vs.waitFor("the proposal side's text", async () =>
    vs.page.evaluate(() => {
      const lines = document.querySelector("[data-lm-diff] .monaco-diff-editor .modified-in-monaco-diff-editor .lines-content");
      const b = lines && lines.getBoundingClientRect();
      return b && b.width > 0 ? { x: b.x + 60, y: b.y + 8 } : undefined;
    })
  );
  await vs.page.mouse.click(inside.x, inside.y);
  const action = await vs.waitFor(`the ${title} button in the diff's title bar`, async () =>
    vs.page.evaluate((wanted) => {
      const found = [...document.querySelectorAll("[data-lm-diff] .editor-actions .action-label")].find((a) =>
        (a.getAttribute("aria-label") || a.title || "").startsWith(wanted)
      );
      if (!found) return undefined;
      const b = found.getBoundingClientRect();
      return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
    }, title)
  );
  await vs.page.mouse.click(action.x, action.y);
  vs.note(`clicked ${title} in the diff's title bar`);
}

main(async (vs, options) => {
  const notes = path.join(options.workspace, "notes.txt");
  const original = fs.readFileSync(notes, "utf8");

  await vs.waitFor("a luminamind lsp process in code-server's group", async () => vs.lspProcesses().length > 0, 90000);
  await vs.waitFor("the status bar item to say LuminaMind is idle", async () =>
    (await vs.statusBarTexts()).some((t) => t === "LuminaMind")
  , 60000);

  // The user is in notes.txt; they ask the agent for a change there.
  await vs.openFile("notes.txt");
  await vs.runCommand("LuminaMind: Run Task");
  await vs.answerInput("Task for LuminaMind", "STEP-TWO-HUNKS spell out two numbers in notes.txt");
  await vs.waitForNotification(/LuminaMind wants to change notes\.txt/);
  await vs.waitFor("the diff tab of the proposal", async () => markDiffGroup(vs));
  await vs.waitFor("the proposal side to show both hunks", async () => {
    const lines = await proposalLines(vs);
    return lines.includes("line two") && lines.includes("line eighteen");
  });

  // The diff opened beside the user's editor, which kept the keyboard focus.
  const focus = await vs.page.evaluate(() => {
    const group = document.activeElement && document.activeElement.closest(".editor-group-container");
    const tab = group && group.querySelector(".tab.active");
    return { tab: tab ? tab.textContent.replace(/\s+/g, " ").trim() : null, diffGroup: !!(group && group.hasAttribute("data-lm-diff")) };
  });
  vs.note(`focus after the diff opened: ${JSON.stringify(focus)}`);
  check(focus.tab !== null && focus.tab.startsWith("notes.txt") && !focus.diffGroup, `the diff took the focus: ${JSON.stringify(focus)}`);
  await vs.shot("hunks-diff-opened");

  // Revert the second block with the diff editor's own gutter action.
  const items = await vs.waitFor("two changed blocks in the diff's gutter", async () => {
    const found = await gutterItems(vs);
    return found.length === 2 ? found : undefined;
  });
  const second = items[1];
  await vs.page.mouse.move(second.x, second.y);
  const revert = await vs.waitFor("the Revert Block action on the second block", async () => {
    await vs.page.mouse.move(second.x, second.y + 1);
    return vs.page.evaluate((y) => {
      for (const item of document.querySelectorAll("[data-lm-diff] .monaco-diff-editor .gutterItem")) {
        const box = item.getBoundingClientRect();
        if (Math.abs(box.y - y) > 2) continue;
        const action = [...item.querySelectorAll(".action-label")].find((a) => /revert/i.test(a.getAttribute("aria-label") || a.title || ""));
        if (action) {
          const b = action.getBoundingClientRect();
          return { x: b.x + b.width / 2, y: b.y + b.height / 2, label: action.getAttribute("aria-label") || action.title };
        }
      }
      return undefined;
    }, second.top);
  });
  vs.note(`gutter action: ${revert.label}`);
  await vs.shot("hunks-revert-hover");
  await vs.page.mouse.click(revert.x, revert.y);
  await vs.waitFor("the proposal side without the second hunk", async () => {
    const lines = await proposalLines(vs);
    return lines.includes("line two") && lines.includes("line 18") && !lines.includes("line eighteen");
  });
  await vs.shot("hunks-second-reverted");

  // Accept, in the diff editor's title bar.
  await clickTitleAction(vs, "Accept Proposed Change");
  await vs.waitForNotification(/applied your version of the change to notes\.txt \(not saved yet/);
  await vs.waitFor("the diff tab to close", async () => !(await vs.tabs()).some((t) => t.includes("LuminaMind's proposal")));
  check(!(await vs.page.$(".monaco-dialog-box")), "closing the edited proposal asked something");
  check(fs.readFileSync(notes, "utf8") === original, "Accept must not write the file on disk");
  await vs.waitForNotification(/LuminaMind: Kept what you kept\./);

  // The buffer has the first hunk only; saving writes it.
  await vs.openFile("notes.txt");
  const text = await vs.editorText();
  check(text.includes("line two") && text.includes("line 18") && !text.includes("line eighteen"), `the buffer: ${text}`);
  await vs.page.keyboard.down("Control");
  await vs.page.keyboard.press("KeyS");
  await vs.page.keyboard.up("Control");
  await vs.waitFor("notes.txt saved", async () => fs.readFileSync(notes, "utf8") !== original);
  await sleep(300);
  await vs.shot("hunks-saved");
  const saved = fs.readFileSync(notes, "utf8");

  // A second proposal, turned down with Reject in the title bar: nothing changes.
  await vs.runCommand("LuminaMind: Run Task");
  await vs.answerInput("Task for LuminaMind", "STEP-REJECT-HUNKS spell out the last numbers");
  await vs.waitForNotification(/LuminaMind wants to change notes\.txt/);
  await vs.page.evaluate(() => document.querySelector("[data-lm-diff]")?.removeAttribute("data-lm-diff"));
  await vs.waitFor("the diff tab of the second proposal", async () => markDiffGroup(vs));
  await clickTitleAction(vs, "Reject Proposed Change");
  await vs.waitForNotification(/discarded the change to notes\.txt; the agent was told/);
  await vs.waitForNotification(/LuminaMind: Left notes\.txt alone\./);
  await vs.waitFor("the diff tab to close", async () => !(await vs.tabs()).some((t) => t.includes("LuminaMind's proposal")));
  await vs.openFile("notes.txt");
  check(!(await vs.activeTabDirty()), "Reject changed the buffer");
  check(fs.readFileSync(notes, "utf8") === saved, "Reject changed the file");
  await vs.shot("hunks-rejected");

  // A third proposal, changed by typing in the proposal side before Accept: the buffer gets the
  // user's text (Python checks the agent was told the hunk was edited, with that text).
  await vs.runCommand("LuminaMind: Run Task");
  await vs.answerInput("Task for LuminaMind", "STEP-TYPE-HUNK spell out ten");
  await vs.waitForNotification(/LuminaMind wants to change notes\.txt/);
  await vs.page.evaluate(() => document.querySelector("[data-lm-diff]")?.removeAttribute("data-lm-diff"));
  await vs.waitFor("the diff tab of the third proposal", async () => markDiffGroup(vs));
  const end = await vs.waitFor("the proposed line 'line ten'", async () =>
    vs.page.evaluate(() => {
      const editor = document.querySelector("[data-lm-diff] .monaco-diff-editor .modified-in-monaco-diff-editor");
      for (const line of editor ? editor.querySelectorAll(".lines-content > .view-lines > .view-line") : []) {
        if (line.textContent.replace(/\u00a0/g, " ") === "line ten") {
          const b = (line.querySelector("span") || line).getBoundingClientRect();
          return { x: b.x + b.width + 2, y: b.y + b.height / 2 };
        }
      }
      return undefined;
    })
  );
  await vs.page.mouse.click(end.x, end.y);
  await vs.page.keyboard.press("End");
  await vs.page.keyboard.type(" (typed)", { delay: 10 });
  await vs.waitFor("the typed text in the proposal", async () => (await proposalLines(vs)).includes("line ten (typed)"));
  await vs.shot("hunks-typed");
  await clickTitleAction(vs, "Accept Proposed Change");
  await vs.waitForNotification(/applied your version of the change to notes\.txt/);
  await vs.waitForNotification(/LuminaMind: Took your wording\./);
  await vs.openFile("notes.txt");
  const typed = await vs.editorText();
  check(typed.includes("line ten (typed)") && typed.includes("line two"), `the buffer after typing: ${typed}`);
});
