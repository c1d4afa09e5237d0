// A new user's first minutes with LuminaMind in a real VS Code (run by tests/e2e/test_vscode.py
// against the scripted model; every model answer below is scripted there, keyed by the STEP-*
// word in the prompt). Each step is typed in the command palette as a user would.
"use strict";
const fs = require("fs");
const path = require("path");
const { main, sleep } = require(process.env.HARNESS);

const ORIGINAL = 'print("hello")';

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

main(async (vs, options) => {
  const hello = path.join(options.workspace, "hello.py");

  // 1. The extension starts its language server (`luminamind lsp --stdio`).
  const procs = await vs.waitFor("a luminamind lsp process in code-server's group", async () => {
    const found = vs.lspProcesses();
    return found.length > 0 ? found : undefined;
  }, 90000);
  vs.note(`server: ${JSON.stringify(procs)}`);
  check(procs.some((p) => p.args.includes("--stdio")), "the server was not started with --stdio");
  await vs.waitFor("the status bar item to say LuminaMind is idle", async () =>
    (await vs.statusBarTexts()).some((t) => /^LuminaMind$/.test(t) || t === "LuminaMind")
  , 60000);
  await vs.shot("server-started");

  // 2. Ask shows an answer.
  await vs.runCommand("LuminaMind: Ask");
  await vs.answerInput("Ask LuminaMind", "STEP-ASK what does this project print?");
  await vs.waitForNotification(/LuminaMind: hello\.py prints a greeting\./);
  await vs.shot("ask-answer");

  // 3. Explain Selection on a selection.
  await vs.openFile("hello.py");
  await vs.selectAll();
  await vs.runCommand("LuminaMind: Explain Selection");
  await vs.waitForNotification(/LuminaMind: It prints the word hello\./);
  await vs.shot("explain-answer");

  // 4. Edit with Instruction: the change opens for review; Apply, touching nothing else,
  //    changes the buffer (unsaved) and says so.
  await vs.selectAll();
  await vs.runCommand("LuminaMind: Edit with Instruction");
  await vs.answerInput("How should LuminaMind change this code?", "STEP-EDIT-APPLY greet the world");
  await vs.waitForNotification(/LuminaMind wants to change hello\.py/);
  await vs.waitFor("the diff tab of the proposal", async () => (await vs.tabs()).some((t) => t.includes("LuminaMind's proposal")));
  await vs.shot("edit-review-diff");
  await vs.clickNotificationButton(/LuminaMind wants to change hello\.py/, "Apply");
  await vs.waitForNotification(/applied the change to hello\.py \(not saved yet/);
  await vs.waitFor("the buffer to hold the change", async () => (await vs.editorText()).includes('print("hello, world")'));
  check(await vs.activeTabDirty(), "the applied change should leave the buffer unsaved");
  check(fs.readFileSync(hello, "utf8").trim() === ORIGINAL, "Apply must not write the file on disk");
  await vs.waitForNotification(/LuminaMind: Changed the greeting\./);
  await vs.shot("edit-applied");
  // Ctrl+S writes it, as for any edit.
  await vs.page.keyboard.down("Control");
  await vs.page.keyboard.press("KeyS");
  await vs.page.keyboard.up("Control");
  await vs.waitFor("hello.py saved", async () => fs.readFileSync(hello, "utf8").includes("hello, world"));

  // 5. Discard leaves the buffer unchanged, and the user is told the agent was told.
  await vs.selectAll();
  await vs.runCommand("LuminaMind: Edit with Instruction");
  await vs.answerInput("How should LuminaMind change this code?", "STEP-EDIT-DISCARD say goodbye instead");
  await vs.clickNotificationButton(/LuminaMind wants to change hello\.py/, "Discard");
  await vs.waitForNotification(/discarded the change to hello\.py; the agent was told/);
  await vs.waitForNotification(/LuminaMind: Left it as it was\./);
  const afterDiscard = await vs.editorText();
  check(afterDiscard.includes('print("hello, world")') && !afterDiscard.includes("goodbye"), `discard changed the buffer: ${afterDiscard}`);
  await vs.shot("edit-discarded");

  // 6. Run Task, typed in the palette: a progress notification titled in words, whose Cancel
  //    stops the run; the thread stays resumable.
  await vs.runCommand("LuminaMind: Run Task");
  await vs.answerInput("Task for LuminaMind", "STEP-SLOW count the lines of every file");
  await vs.waitForNotification(/LuminaMind is working on your task/);
  await vs.waitFor("the status bar to say running", async () => (await vs.statusBarTexts()).some((t) => t.includes("LuminaMind: running")));
  await vs.shot("task-progress");
  await vs.clickNotificationButton(/LuminaMind is working on your task/, "Cancel");
  await vs.waitForNotification(/LuminaMind: stopped\. The thread keeps everything/);
  await vs.shot("task-cancelled");

  // 7. Show Threads: the thread is there, not in error.
  await vs.runCommand("LuminaMind: Show Threads");
  const listing = await vs.waitFor("the thread list in the output channel", async () => {
    const text = await vs.outputText();
    // The output channel is a virtualised editor: only the lines in view are in the DOM, and
    // a long workspace path wraps, so the list's first line may be scrolled out. Its end
    // ("running") and a thread's own fields are what stay in view.
    return /"thread_id": /.test(text) && /"running": \[/.test(text) ? text : undefined;
  });
  check(!/"status": "error"/.test(listing), `a cancelled run left the thread in error:\n${listing}`);
  await vs.shot("show-threads");

  // 8. Approve / Reject Pending Action (a shell command waits for them).
  await vs.runCommand("LuminaMind: Run Task");
  await vs.answerInput("Task for LuminaMind", "STEP-SHELL-APPROVE list the files");
  await vs.waitForNotification(/LuminaMind wants to run shell/);
  await vs.waitFor("the status bar to say approval needed", async () => (await vs.statusBarTexts()).some((t) => t.includes("approval needed")));
  await vs.shot("approval-needed");
  await vs.runCommand("LuminaMind: Approve Pending Action");
  await vs.waitForNotification(/LuminaMind: Listed the files\./);
  await vs.runCommand("LuminaMind: Run Task");
  await vs.answerInput("Task for LuminaMind", "STEP-SHELL-REJECT clean the build");
  await vs.waitForNotification(/LuminaMind wants to run shell/);
  await vs.runCommand("LuminaMind: Reject Pending Action");
  await vs.answerInput("Why?", "not now");
  await vs.waitForNotification(/LuminaMind: Understood, I will not clean it\./);

  // 9. The side bar: the agent view (click the status bar item) and the Threads tree.
  await vs.clearNotifications();
  await vs.clickStatusBarItem(/LuminaMind/);
  const view = await vs.webviewFrame("#log");
  await vs.waitFor("the agent view to show the thread", async () => {
    const text = await view.$eval("#log", (el) => el.textContent);
    return text.includes("Listed the files.") && text.includes("STEP-SHELL-REJECT") ? text : undefined;
  });
  await view.type("#input", "STEP-VIEW plan and answer");
  await view.click("#send");
  await vs.waitFor("the plan and the Markdown answer in the agent view", async () => {
    const plan = await view.$eval("#todos", (el) => el.textContent);
    const html = await view.$eval("#log", (el) => el.innerHTML);
    return plan.includes("Read hello.py") && html.includes("<strong>Markdown</strong>") && html.includes("write_todos");
  }, 60000);
  const rows = await vs.waitFor("the Threads tree to list the thread", async () => {
    const found = await vs.treeRows("Threads");
    return found.length > 0 ? found : undefined;
  });
  vs.note(`threads tree: ${JSON.stringify(rows)}`);
  check(rows.some((r) => r.includes("current")), `no current thread in the tree: ${JSON.stringify(rows)}`);
  await vs.shot("agent-view");
  // Rename the thread (a name for this workspace), then delete it.
  await vs.clickTreeActionUntil("Threads", /STEP-ASK/, "Rename Thread", "rename input", () => vs.inputShows("New name for thread"));
  await vs.answerInput("New name for thread", "Greeting work");
  await vs.waitFor("the renamed thread in the tree", async () => (await vs.treeRows("Threads")).some((r) => r.includes("Greeting work")));
  await vs.clickTreeActionUntil("Threads", /Greeting work/, "Delete Thread", "confirmation dialog", () => vs.dialogHasButton("Delete"));
  await vs.clickDialogButton("Delete");
  await vs.waitForNotification(/LuminaMind: deleted the thread "Greeting work"/);
  await vs.waitFor("the tree without the deleted thread", async () => {
    const now = await vs.treeRows("Threads");
    return !now.some((r) => r.includes("Greeting work")) && now.some((r) => r.includes("New thread"));
  });
  await vs.shot("thread-deleted");

  // 10. Restart Language Server: a new server process answers.
  const before = vs.lspProcesses().map((p) => p.pid);
  await vs.runCommand("LuminaMind: Restart Language Server");
  await vs.waitForNotification(/LuminaMind: the language server restarted/);
  const after = await vs.waitFor("a new server process", async () => {
    const now = vs.lspProcesses().map((p) => p.pid);
    return now.length > 0 && now.every((pid) => !before.includes(pid)) ? now : undefined;
  });
  vs.note(`server restarted: ${before} -> ${after}`);
  await vs.runCommand("LuminaMind: Show Threads");
  await sleep(500);
  await vs.shot("restarted");
});
