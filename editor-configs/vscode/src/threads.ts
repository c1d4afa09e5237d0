// The Threads tree: every thread of the agent, the current one marked; switch, rename, delete.
// Names are kept in the workspace state (the thread store has no rename): a label for this
// VS Code, the thread id stays what the CLI and the other surfaces use.
import * as vscode from "vscode";
import { Runner } from "./runs";

interface ThreadInfo {
  thread_id: string;
  title: string;
  surface: string;
  workspace: string;
  updated_at: string;
  status: string;
}

interface ThreadsResult {
  default: string;
  threads: ThreadInfo[];
  running: string[];
}

const CURRENT_KEY = "luminamind.currentThread";
const NAMES_KEY = "luminamind.threadNames";

/** Which thread the commands and the agent view use. */
export class Session {
  private readonly changed = new vscode.EventEmitter<string | undefined>();
  readonly onDidChangeThread = this.changed.event;
  defaultThread: string | undefined;

  constructor(private readonly memento: vscode.Memento) {}

  /** The thread commands run in: the luminamind.threadId setting, else the one picked, else the folder's. */
  get threadId(): string | undefined {
    const configured = vscode.workspace.getConfiguration("luminamind").get<string>("threadId", "").trim();
    if (configured !== "") {
      return configured;
    }
    return this.memento.get<string>(CURRENT_KEY) ?? undefined;
  }

  /** The thread the agent view shows (the folder's thread when none is picked). */
  get shownThread(): string | undefined {
    return this.threadId ?? this.defaultThread;
  }

  async switchTo(threadId: string | undefined): Promise<void> {
    await this.memento.update(CURRENT_KEY, threadId);
    this.changed.fire(threadId);
  }

  name(thread: ThreadInfo | string, title?: string): string {
    const id = typeof thread === "string" ? thread : thread.thread_id;
    const names = this.memento.get<Record<string, string>>(NAMES_KEY, {});
    return names[id] ?? (typeof thread === "string" ? title ?? id : thread.title || id);
  }

  async rename(threadId: string, name: string): Promise<void> {
    const names = { ...this.memento.get<Record<string, string>>(NAMES_KEY, {}) };
    if (name.trim() === "") {
      delete names[threadId];
    } else {
      names[threadId] = name.trim();
    }
    await this.memento.update(NAMES_KEY, names);
    this.changed.fire(this.threadId);
  }
}

export class ThreadItem extends vscode.TreeItem {
  constructor(readonly info: ThreadInfo, label: string, current: boolean, running: boolean) {
    super(label, vscode.TreeItemCollapsibleState.None);
    this.id = info.thread_id;
    this.contextValue = "thread";
    this.description = [current ? "current" : "", running ? "running" : info.status === "idle" ? "" : info.status.replace("_", " ")]
      .filter((p) => p !== "")
      .join(" · ");
    this.tooltip = new vscode.MarkdownString(
      `**${label}**\n\n\`${info.thread_id}\`\n\n${info.surface} · ${info.workspace}\n\nupdated ${info.updated_at}`
    );
    this.iconPath = new vscode.ThemeIcon(
      running ? "sync~spin" : current ? "pass-filled" : info.status === "awaiting_approval" ? "bell-dot" : "comment-discussion"
    );
    this.command = { command: "luminamind.threads.switch", title: "Switch to Thread", arguments: [this] };
  }
}

export class ThreadsTree implements vscode.TreeDataProvider<ThreadItem> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  last: ThreadsResult | undefined;

  constructor(
    private readonly runner: Runner,
    private readonly session: Session,
    private readonly isRunning: () => boolean
  ) {}

  refresh(): void {
    this.changed.fire();
  }

  getTreeItem(item: ThreadItem): ThreadItem {
    return item;
  }

  async getChildren(): Promise<ThreadItem[]> {
    if (!this.isRunning()) {
      return [];
    }
    const result = await this.runner.request<ThreadsResult>("luminamind.threads", {});
    if (!result) {
      return [];
    }
    this.last = result;
    this.session.defaultThread = result.default;
    const current = this.session.shownThread;
    const items = result.threads.map(
      (t) => new ThreadItem(t, this.session.name(t), t.thread_id === current, result.running.includes(t.thread_id))
    );
    if (current !== undefined && !result.threads.some((t) => t.thread_id === current)) {
      const now = new Date().toISOString();
      const fresh: ThreadInfo = { thread_id: current, title: "New thread (no messages yet)", surface: "lsp", workspace: "", updated_at: now, status: "idle" };
      items.unshift(new ThreadItem(fresh, this.session.name(fresh), true, false));
    }
    return items;
  }
}

export function registerThreadCommands(
  context: vscode.ExtensionContext,
  tree: ThreadsTree,
  session: Session,
  runner: Runner
): void {
  const register = (id: string, handler: (...args: never[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, handler));
  register("luminamind.threads.refresh", () => tree.refresh());
  register("luminamind.threads.switch", async (item: ThreadItem) => {
    await session.switchTo(item.info.thread_id === session.defaultThread ? undefined : item.info.thread_id);
    tree.refresh();
  });
  register("luminamind.threads.new", async () => {
    const id = `vscode-${new Date().toISOString().replace(/[-:.TZ]/g, "").slice(0, 14)}-${Math.random().toString(36).slice(2, 6)}`;
    await session.switchTo(id);
    tree.refresh();
  });
  register("luminamind.threads.rename", async (item: ThreadItem) => {
    const name = await vscode.window.showInputBox({
      prompt: `New name for thread ${item.info.thread_id} (empty: its own title)`,
      value: session.name(item.info),
    });
    if (name !== undefined) {
      await session.rename(item.info.thread_id, name);
      tree.refresh();
    }
  });
  register("luminamind.threads.delete", async (item: ThreadItem) => {
    const label = session.name(item.info);
    const sure = await vscode.window.showWarningMessage(
      `Delete the thread "${label}"? Its messages and checkpoints are removed.`,
      { modal: true },
      "Delete"
    );
    if (sure !== "Delete") {
      return;
    }
    const result = await runner.request<{ deleted: boolean }>("luminamind.deleteThread", { threadId: item.info.thread_id });
    if (result) {
      await session.rename(item.info.thread_id, ""); // its name goes with it
      // Views showing it (the agent view, the tree) reload; a deleted picked thread falls back
      // to the folder's.
      await session.switchTo(session.threadId === item.info.thread_id ? undefined : session.threadId);
      void vscode.window.showInformationMessage(`LuminaMind: deleted the thread "${label}".`);
      tree.refresh();
    }
  });
}
