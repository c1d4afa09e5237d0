// The model's reasoning in the agent view of a real VS Code (run by
// tests/e2e/test_vscode.py::test_the_agent_view_shows_the_model_thinking; the model's turns,
// reasoning included, are scripted there, keyed by the STEP-* word in the prompt).
"use strict";
const { main, sleep } = require(process.env.HARNESS);

const THOUGHT_MARK = process.env.THOUGHT_MARK;
const INJECTION = process.env.INJECTION;
const SUB_THOUGHT_MARK = process.env.SUB_THOUGHT_MARK;

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

/** What the agent view's log shows: its thinking blocks and answers, as the DOM has them. */
async function logState(view) {
  return view.$eval("#log", (log) => ({
    thinking: [...log.querySelectorAll("details.thinking")].map((d) => ({
      key: d.dataset.key,
      open: d.open,
      label: d.querySelector("summary").textContent,
      text: d.querySelector(".thinking-text").textContent,
      truncated: d.querySelector(".truncated") ? d.querySelector(".truncated").textContent : "",
      dimmed: Number(getComputedStyle(d).opacity) < 1,
    })),
    answers: [...log.querySelectorAll(".entry.assistant")].map((a) => a.textContent),
    images: log.querySelectorAll("img").length,
  }));
}

async function send(view, text) {
  await view.type("#input", text);
  await view.click("#send");
}

main(async (vs) => {
  await vs.waitFor("a luminamind lsp process", async () => vs.lspProcesses().length > 0, 90000);
  await vs.waitFor("the status bar item to say LuminaMind is idle", async () =>
    (await vs.statusBarTexts()).some((t) => t === "LuminaMind"), 60000);
  await vs.clickStatusBarItem(/LuminaMind/);
  const view = await vs.webviewFrame("#log");
  const idle = async () => (await view.$eval("#state", (el) => el.textContent)) === "idle";

  // 1. The reasoning streams into an open, dimmed "Thinking…" block before any answer.
  await send(view, "STEP-THINK add six and thirty-six");
  const streaming = await vs.waitFor("an open Thinking block streaming the reasoning", async () => {
    const state = await logState(view);
    const block = state.thinking[0];
    return block && block.open && block.text.includes(THOUGHT_MARK) && state.answers.length === 0 ? state : undefined;
  }, 60000);
  vs.note(`while thinking: ${JSON.stringify(streaming.thinking)}`);
  check(streaming.thinking[0].label === "Thinking…", `label while streaming: ${streaming.thinking[0].label}`);
  check(streaming.thinking[0].dimmed, "the Thinking block is not dimmed");
  await vs.shot("thinking-streams");

  // 2. The answer comes apart from it; the block collapses, and stays so once the run is over
  //    and the view is drawn again from the thread as checkpointed.
  const answered = await vs.waitFor("the answer, with the Thinking block collapsed", async () => {
    const state = await logState(view);
    return (await idle()) && state.answers.some((a) => a.includes("The sum is 42.")) && state.thinking.length === 1 && !state.thinking[0].open
      ? state
      : undefined;
  }, 60000);
  vs.note(`answered: ${JSON.stringify(answered)}`);
  const block = answered.thinking[0];
  check(block.label === "Thinking", `label after the answer: ${block.label}`);
  check(block.text.includes(THOUGHT_MARK), `the thought is not in the block: ${block.text}`);
  // The injection arrives as text: shown literally, no element made of it.
  check(block.text.includes(INJECTION), `the markup in the thought is not shown as text: ${block.text}`);
  check(answered.images === 0, "the thought's <img> became an element");
  check(await view.evaluate(() => document.title !== "pwned"), "the thought's onerror ran");
  for (const answer of answered.answers) {
    check(!answer.includes(THOUGHT_MARK) && !answer.includes("onerror"), `the answer holds the thought: ${answer}`);
  }

  // 3. A block the user opens stays open while the view redraws (the next run redraws it often).
  await view.click("details.thinking > summary");
  await vs.waitFor("the Thinking block opened by a click", async () => (await logState(view)).thinking[0].open);
  await vs.shot("thinking-opened");

  // 4. A very long reasoning: the block holds its end and says how much it left out.
  await send(view, "STEP-LONG think for a long time");
  const long = await vs.waitFor("the long reasoning, truncated, then its answer", async () => {
    const state = await logState(view);
    return (await idle()) && state.answers.some((a) => a.includes("Done thinking.")) && state.thinking.length === 2 ? state : undefined;
  }, 120000);
  const [first, second] = long.thinking;
  vs.note(`long: ${second.text.length} characters shown; ${second.truncated}`);
  check(first.open, "the block the user opened was closed by a redraw");
  check(second.text.length <= 8000, `the DOM holds ${second.text.length} characters of reasoning`);
  check(second.text.endsWith("END-OF-THOUGHT"), "the latest reasoning is not the part kept");
  check(/… [\d,]+ earlier characters not shown/.test(second.truncated), `no truncation note: ${second.truncated}`);
  check(!second.open, "the long block did not collapse after the answer");
  await vs.shot("thinking-long");

  // 5. A subagent's reasoning, labelled with its name while it runs.
  await send(view, "STEP-SUB delegate the count");
  const sub = await vs.waitFor("the subagent's Thinking block, labelled", async () => {
    const state = await logState(view);
    const found = state.thinking.find((t) => t.text.includes(SUB_THOUGHT_MARK));
    return found && found.label.startsWith("code-executor: ") ? found : undefined;
  }, 90000);
  vs.note(`subagent: ${JSON.stringify(sub)}`);
  await vs.shot("thinking-subagent");
  await vs.waitFor("the delegated run's answer", async () => {
    const state = await logState(view);
    return (await idle()) && state.answers.some((a) => a.includes("The helper counted them."));
  }, 90000);
  const after = await logState(view);
  for (const answer of after.answers) {
    check(!answer.includes(SUB_THOUGHT_MARK), `an answer holds the subagent's thought: ${answer}`);
  }
  await sleep(200);
});
