// The agent view in the side bar: the shown thread's conversation (answers as Markdown, streamed;
// the model's reasoning in a "Thinking" block per model turn, apart from the answer), its plan,
// each tool call as it runs, pending approvals linked to their diff, and an input box.
// It is drawn from the server's luminamind/event notifications and, after each run, from
// luminamind.threadState (the thread as checkpointed).
import * as crypto from "crypto";
import * as vscode from "vscode";
import { agentEvents, AgentEvent, runEnded, Todo } from "./events";
import { EditReview } from "./review";
import { Runner } from "./runs";
import { Session } from "./threads";

interface Entry {
  kind: "user" | "assistant" | "thinking" | "tool" | "error" | "notice";
  text: string;
  html?: string;
  tool?: string;
  status?: "running" | "ok" | "error";
  streaming?: boolean;
  /** Thinking: the agent that thought (main or a subagent's name). */
  agent?: string;
  /** Thinking: how many earlier characters were dropped to stay within THINKING_LIMIT. */
  dropped?: number;
  /** Thinking: stable across redraws and reloads, so a block the user opened stays open. */
  key?: string;
}

// A reasoning model may think for tens of thousands of characters: each Thinking block keeps the
// latest THINKING_LIMIT of them (what is being thought now), so the view's DOM and the messages
// posted to it stay small, and it says how much it left out.
const THINKING_LIMIT = 8000;

interface PendingAction {
  tool: string;
  description?: string;
  path?: string | null;
}

interface ThreadStateResult {
  threadId: string;
  exists: boolean;
  title?: string;
  running?: boolean;
  messages: {
    role: string;
    content: string;
    name?: string | null;
    reasoning?: string;
    tool_calls?: { name?: string; args?: unknown }[];
  }[];
  todos: Todo[];
  pending: PendingAction[];
}

export class AgentView implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly id = "luminamind.agentView";
  private view: vscode.WebviewView | undefined;
  private threadId: string | undefined;
  private title = "";
  private entries: Entry[] = [];
  private todos: Todo[] = [];
  private pending: PendingAction[] = [];
  private reviewing: string[] | undefined;
  private running = false;
  private posting: NodeJS.Timeout | undefined;
  private readonly rendered = new Map<string, string>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly runner: Runner,
    private readonly session: Session,
    private readonly review: EditReview,
    private readonly serverRunning: () => boolean
  ) {
    this.disposables.push(
      agentEvents.event(({ threadId, event }) => this.onEvent(threadId, event)),
      runEnded.event(({ threadId }) => {
        if (threadId === this.threadId || this.threadId === undefined) {
          this.running = false;
          void this.reload();
        }
      }),
      session.onDidChangeThread(() => void this.reload()),
      review.onDidChangePending((files) => {
        this.reviewing = files;
        this.schedulePost();
      })
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = { enableScripts: true, enableCommandUris: false };
    view.webview.html = this.html(view.webview);
    view.webview.onDidReceiveMessage((message: { type: string; text?: string }) => this.onMessage(message));
    view.onDidChangeVisibility(() => view.visible && this.schedulePost());
    void this.reload();
  }

  /** Re-read the shown thread from the server. */
  async reload(): Promise<void> {
    if (!this.serverRunning()) {
      this.schedulePost();
      return;
    }
    const threadId = this.session.threadId;
    const state = await this.runner.request<ThreadStateResult>("luminamind.threadState", threadId ? { threadId } : {});
    if (!state) {
      return;
    }
    this.threadId = state.threadId;
    this.session.defaultThread = this.session.defaultThread ?? (threadId ? undefined : state.threadId);
    this.title = this.session.name(state.threadId, state.title ?? "New thread");
    this.todos = state.todos;
    this.pending = state.pending;
    this.running = state.running ?? false;
    this.entries = fromMessages(state.messages);
    this.schedulePost();
  }

  private onEvent(threadId: string, event: AgentEvent): void {
    if (this.threadId !== undefined && threadId !== this.threadId) {
      return;
    }
    this.threadId = threadId;
    this.endThinking(event);
    switch (event.type) {
      case "run_started":
        this.running = true;
        this.pending = [];
        break;
      case "text_delta": {
        if (event.agent && event.agent !== "main") {
          break;
        }
        const last = this.entries[this.entries.length - 1];
        if (last && last.kind === "assistant" && last.streaming) {
          last.text += event.text ?? "";
        } else {
          this.entries.push({ kind: "assistant", text: event.text ?? "", streaming: true });
        }
        break;
      }
      case "reasoning_delta": {
        const agent = event.agent ?? "main";
        let entry = this.entries.find((e) => e.kind === "thinking" && e.streaming && e.agent === agent);
        if (entry === undefined) {
          const count = this.entries.filter((e) => e.kind === "thinking" && e.agent === agent).length;
          entry = { kind: "thinking", text: "", agent, streaming: true, key: `${agent}-${count}` };
          this.entries.push(entry);
        }
        appendThinking(entry, event.text ?? "");
        break;
      }
      case "tool_started":
        this.entries.push({
          kind: "tool",
          tool: event.tool,
          status: "running",
          text: (event.agent && event.agent !== "main" ? `${event.agent}: ` : "") + summarize(event.arguments),
        });
        break;
      case "tool_finished": {
        const entry = [...this.entries].reverse().find((e) => e.kind === "tool" && e.tool === event.tool && e.status === "running");
        if (entry) {
          entry.status = event.status === "ok" ? "ok" : "error";
          if (typeof event.duration_ms === "number") {
            entry.text += ` (${Math.round(event.duration_ms)} ms)`;
          }
        }
        break;
      }
      case "todos_changed":
        this.todos = event.todos ?? [];
        break;
      case "approval_requested":
        this.pending = (event.requests ?? []).map((r) => ({ tool: r.tool, description: r.description, path: r.path }));
        break;
      case "final_answer": {
        const last = this.entries[this.entries.length - 1];
        if (last && last.kind === "assistant") {
          last.text = event.text ?? last.text;
          last.streaming = false;
        } else if (event.text) {
          this.entries.push({ kind: "assistant", text: event.text });
        }
        break;
      }
      case "error":
        this.entries.push({ kind: "error", text: event.message ?? "error" });
        break;
      default:
        break;
    }
    this.schedulePost();
  }

  /** A model turn's thinking is over once its agent answers or calls a tool, or the run stops. */
  private endThinking(event: AgentEvent): void {
    let agent: string | undefined; // undefined: every agent's thinking is over
    switch (event.type) {
      case "text_delta":
      case "tool_started":
      case "tool_finished":
        agent = event.agent ?? "main";
        break;
      case "subagent_finished":
        agent = event.subagent;
        break;
      case "reasoning_delta":
      case "todos_changed":
      case "subagent_started":
        return;
      default:
        break; // run_started, approval_requested, final_answer, error
    }
    for (const entry of this.entries) {
      if (entry.kind === "thinking" && entry.streaming && (agent === undefined || entry.agent === agent)) {
        entry.streaming = false;
      }
    }
  }

  private async onMessage(message: { type: string; text?: string }): Promise<void> {
    switch (message.type) {
      case "ready":
        this.schedulePost();
        break;
      case "send": {
        const text = (message.text ?? "").trim();
        if (text === "") {
          return;
        }
        this.entries.push({ kind: "user", text });
        this.schedulePost();
        const threadId = this.session.threadId;
        await this.runner.run("luminamind.runTask", threadId ? { prompt: text, threadId } : { prompt: text });
        break;
      }
      case "stop":
        await vscode.commands.executeCommand("luminamind.client.cancel");
        break;
      case "showDiff":
        await this.review.showDiff();
        break;
      case "apply":
        this.review.apply();
        break;
      case "discard":
        this.review.discard();
        break;
      case "approve":
        await vscode.commands.executeCommand("luminamind.client.approve");
        break;
      case "reject":
        await vscode.commands.executeCommand("luminamind.client.reject");
        break;
      default:
        break;
    }
  }

  private schedulePost(): void {
    // Streamed answers arrive token by token: redraw at most every 150 ms.
    if (this.posting === undefined) {
      this.posting = setTimeout(() => {
        this.posting = undefined;
        void this.post();
      }, 150);
    }
  }

  private async post(): Promise<void> {
    if (!this.view) {
      return;
    }
    for (const entry of this.entries) {
      if (entry.kind === "assistant") {
        entry.html = await this.markdown(entry.text);
      }
    }
    await this.view.webview.postMessage({
      type: "state",
      server: this.serverRunning(),
      threadId: this.threadId,
      title: this.title,
      running: this.running,
      todos: this.todos,
      entries: this.entries,
      pending: this.pending,
      reviewing: this.reviewing,
    });
  }

  private async markdown(text: string): Promise<string> {
    const cached = this.rendered.get(text);
    if (cached !== undefined) {
      return cached;
    }
    let html: string;
    try {
      // VS Code's own Markdown renderer (the built-in markdown extension), as its preview uses.
      html = await vscode.commands.executeCommand<string>("markdown.api.render", text);
    } catch {
      html = `<pre>${escapeHtml(text)}</pre>`;
    }
    if (this.rendered.size > 500) {
      this.rendered.clear();
    }
    this.rendered.set(text, html);
    return html;
  }

  private html(webview: vscode.Webview): string {
    const nonce = crypto.randomBytes(16).toString("base64");
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${webview.cspSource} https: data:; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<style nonce="${nonce}">
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 8px 8px; }
header { display: flex; align-items: center; gap: 6px; margin: 8px 0; }
header .title { font-weight: 600; flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.badge { font-size: 11px; padding: 1px 6px; border-radius: 8px; background: var(--vscode-badge-background); color: var(--vscode-badge-foreground); }
section.plan { border: 1px solid var(--vscode-panel-border); border-radius: 4px; padding: 4px 8px; margin-bottom: 8px; }
section.plan li { list-style: none; margin-left: -28px; }
.todo.completed { text-decoration: line-through; opacity: .7; }
.todo.in_progress { font-weight: 600; }
.entry { margin: 6px 0; }
.user { background: var(--vscode-input-background); border-radius: 4px; padding: 6px 8px; white-space: pre-wrap; }
.assistant { padding: 0 2px; }
.assistant p { margin: 4px 0; }
.tool { font-family: var(--vscode-editor-font-family); font-size: 12px; opacity: .9; }
.tool .status-running::before { content: "⏳ "; } .tool .status-ok::before { content: "✓ "; } .tool .status-error::before { content: "✗ "; }
.error { color: var(--vscode-errorForeground); }
.thinking { opacity: .75; font-size: 12px; border-left: 2px solid var(--vscode-textBlockQuote-border, var(--vscode-panel-border)); padding-left: 6px; }
.thinking summary { cursor: pointer; font-style: italic; }
.thinking .thinking-text { white-space: pre-wrap; max-height: 16em; overflow-y: auto; }
.thinking .truncated { font-style: italic; }
.pending { border: 1px solid var(--vscode-inputValidation-warningBorder); border-radius: 4px; padding: 6px 8px; margin: 8px 0; }
.pending button { margin: 4px 4px 0 0; }
form { display: flex; flex-direction: column; gap: 4px; margin-top: 8px; }
textarea { width: 100%; box-sizing: border-box; min-height: 56px; resize: vertical; color: var(--vscode-input-foreground); background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); font-family: inherit; }
.buttons { display: flex; gap: 4px; }
button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 4px 10px; cursor: pointer; }
button.secondary { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
.empty { opacity: .7; }
</style></head>
<body>
<header><span class="title" id="title">LuminaMind</span><span class="badge" id="state">idle</span></header>
<section class="plan" id="plan" hidden><strong>Plan</strong><ul id="todos"></ul></section>
<div id="review"></div>
<div id="log"><p class="empty">Ask LuminaMind anything about this folder, or give it a task.</p></div>
<div id="pending"></div>
<form id="form"><textarea id="input" placeholder="Ask or give a task (Ctrl+Enter to send)" aria-label="Message to LuminaMind"></textarea>
<div class="buttons"><button type="submit" id="send">Send</button><button type="button" class="secondary" id="stop" hidden>Stop</button></div></form>
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;","\\"":"&quot;"}[c]));
// Thinking blocks the user opened or closed (by thread and block), kept across redraws.
const toggled = new Map();
document.body.addEventListener("click", (e) => { const summary = e.target.closest && e.target.closest("details.thinking > summary"); if (summary) { toggled.set(summary.parentElement.dataset.key, !summary.parentElement.open); } });
const thinking = (e, threadId) => {
  const key = (threadId || "") + "/" + e.key;
  const open = toggled.has(key) ? toggled.get(key) : !!e.streaming;
  const who = e.agent && e.agent !== "main" ? esc(e.agent) + ": " : "";
  const dropped = e.dropped ? '<div class="truncated">… ' + e.dropped.toLocaleString("en-US") + " earlier characters not shown</div>" : "";
  return '<details class="entry thinking" data-key="' + esc(key) + '"' + (open ? " open" : "") + "><summary>" + who + (e.streaming ? "Thinking…" : "Thinking") + "</summary>" + dropped + '<div class="thinking-text">' + esc(e.text) + "</div></details>";
};
$("form").addEventListener("submit", (e) => { e.preventDefault(); const text = $("input").value; if (text.trim()) { vscode.postMessage({ type: "send", text }); $("input").value = ""; } });
$("input").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { $("form").requestSubmit(); } });
$("stop").addEventListener("click", () => vscode.postMessage({ type: "stop" }));
document.body.addEventListener("click", (e) => { const act = e.target.dataset && e.target.dataset.act; if (act) { vscode.postMessage({ type: act }); } });
window.addEventListener("message", ({ data }) => {
  if (data.type !== "state") return;
  $("title").textContent = data.title || "LuminaMind";
  $("title").title = data.threadId || "";
  const state = !data.server ? "server stopped" : data.reviewing ? "waiting for approval" : data.pending.length ? "waiting for approval" : data.running ? "running" : "idle";
  $("state").textContent = state;
  $("stop").hidden = !data.running;
  $("plan").hidden = data.todos.length === 0;
  $("todos").innerHTML = data.todos.map((t) => '<li class="todo ' + t.status + '">' + (t.status === "completed" ? "☑" : t.status === "in_progress" ? "▶" : "☐") + " " + esc(t.content) + "</li>").join("");
  $("review").innerHTML = data.reviewing ? '<div class="pending"><strong>Proposed change:</strong> ' + esc(data.reviewing.join(", ")) + '<br><button data-act="showDiff" class="secondary">Show diff</button><button data-act="apply">Apply</button><button data-act="discard" class="secondary">Discard</button></div>' : "";
  const log = data.entries.map((e) => {
    if (e.kind === "user") return '<div class="entry user">' + esc(e.text) + "</div>";
    if (e.kind === "assistant") return '<div class="entry assistant">' + (e.html || esc(e.text)) + "</div>";
    if (e.kind === "thinking") return thinking(e, data.threadId);
    if (e.kind === "tool") return '<div class="entry tool"><span class="status-' + e.status + '">' + esc(e.tool) + "</span> " + esc(e.text) + "</div>";
    return '<div class="entry ' + e.kind + '">' + esc(e.text) + "</div>";
  }).join("");
  $("log").innerHTML = log || '<p class="empty">Ask LuminaMind anything about this folder, or give it a task.</p>';
  $("pending").innerHTML = !data.reviewing && data.pending.length ? '<div class="pending"><strong>Waiting for your approval:</strong><ul>' + data.pending.map((p) => "<li>" + esc(p.tool) + (p.path ? " " + esc(p.path) : "") + (p.description ? ": " + esc(p.description) : "") + "</li>").join("") + '</ul><button data-act="approve">Approve</button><button data-act="reject" class="secondary">Reject</button></div>' : "";
  window.scrollTo(0, document.body.scrollHeight);
});
vscode.postMessage({ type: "ready" });
</script></body></html>`;
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}

function fromMessages(messages: ThreadStateResult["messages"]): Entry[] {
  const entries: Entry[] = [];
  for (const message of messages) {
    if (message.role === "user") {
      entries.push({ kind: "user", text: message.content });
    } else if (message.role === "assistant") {
      if (message.reasoning) {
        const count = entries.filter((e) => e.kind === "thinking").length;
        const entry: Entry = { kind: "thinking", text: "", agent: "main", key: `main-${count}` };
        appendThinking(entry, message.reasoning);
        entries.push(entry);
      }
      if (message.content.trim() !== "") {
        entries.push({ kind: "assistant", text: message.content });
      }
      for (const call of message.tool_calls ?? []) {
        entries.push({ kind: "tool", tool: call.name ?? "tool", status: "ok", text: summarize(call.args) });
      }
    }
  }
  return entries;
}

/** Add reasoning to a Thinking block, keeping its last THINKING_LIMIT characters. */
function appendThinking(entry: Entry, text: string): void {
  entry.text += text;
  let over = entry.text.length - THINKING_LIMIT;
  if (over > 0) {
    if (/[\udc00-\udfff]/.test(entry.text.charAt(over))) {
      over += 1; // never keep half of a surrogate pair
    }
    entry.text = entry.text.slice(over);
    entry.dropped = (entry.dropped ?? 0) + over;
  }
}

function summarize(args: unknown): string {
  if (args === undefined || args === null) {
    return "";
  }
  const text = typeof args === "string" ? args : JSON.stringify(args);
  return text.length > 120 ? text.slice(0, 117) + "…" : text;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);
}
