// Agent commands: one cancellable progress notification per run (titled in words, fed by the
// server's luminamind/event notifications), the status bar item, and the outcome told to the user.
import * as vscode from "vscode";
import { ExecuteCommandRequest } from "vscode-languageclient/node";
import { agentEvents, describeEvent } from "./events";
import { offerSetting, ServerManager } from "./server";

export interface CommandArgument {
  prompt?: string;
  uri?: string;
  range?: { start: { line: number; character: number }; end: { line: number; character: number } };
  threadId?: string;
}

export interface RunResult {
  threadId?: string;
  status?: "completed" | "awaiting_approval" | "cancelled" | "error";
  answer?: string;
  error?: string;
  pending?: { tool: string; description?: string }[];
}

/** Titles of the progress notification: what LuminaMind is doing, in words. */
export const PROGRESS_TITLES: Record<string, string> = {
  "luminamind.ask": "LuminaMind is answering your question",
  "luminamind.explain": "LuminaMind is explaining the selection",
  "luminamind.edit": "LuminaMind is preparing the edit",
  "luminamind.runTask": "LuminaMind is working on your task",
  "luminamind.approve": "LuminaMind is going on after your approval",
  "luminamind.reject": "LuminaMind is going on after your rejection",
};

type AgentState = "idle" | "running" | "approval" | "stopped";

/** The status bar item: idle / running / waiting for approval / server stopped; click opens the view. */
export class StatusItem implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("luminamind.status", vscode.StatusBarAlignment.Left, 100);
  private runs = 0;
  private approval = false;
  private serverUp = false;

  constructor() {
    this.item.name = "LuminaMind";
    this.item.command = "luminamind.client.openView";
    this.render();
    this.item.show();
  }

  setServer(up: boolean): void {
    this.serverUp = up;
    this.render();
  }
  runStarted(): void {
    this.runs++;
    this.render();
  }
  runFinished(): void {
    this.runs = Math.max(0, this.runs - 1);
    this.render();
  }
  setApproval(waiting: boolean): void {
    this.approval = waiting;
    this.render();
  }

  get state(): AgentState {
    if (!this.serverUp) {
      return "stopped";
    }
    return this.approval ? "approval" : this.runs > 0 ? "running" : "idle";
  }

  private render(): void {
    const state = this.state;
    const look: Record<AgentState, [string, string]> = {
      idle: ["$(sparkle) LuminaMind", "LuminaMind is idle. Click to open the agent view."],
      running: ["$(sync~spin) LuminaMind: running", "LuminaMind is working. Click to follow it in the agent view."],
      approval: ["$(bell-dot) LuminaMind: approval needed", "LuminaMind is waiting for your approval. Click to review."],
      stopped: ["$(error) LuminaMind: server stopped", "The LuminaMind language server is not running. Click for details."],
    };
    this.item.text = look[state][0];
    this.item.tooltip = look[state][1];
    this.item.backgroundColor =
      state === "approval" ? new vscode.ThemeColor("statusBarItem.warningBackground") : undefined;
    void vscode.commands.executeCommand("setContext", "luminamind.running", state === "running");
  }

  dispose(): void {
    this.item.dispose();
  }
}

export class Runner {
  constructor(
    private readonly server: ServerManager,
    private readonly status: StatusItem,
    private readonly output: vscode.OutputChannel
  ) {}

  /** Send a command the server answers at once (threads, cancel, threadState...). */
  async request<T>(command: string, argument: CommandArgument | Record<string, never>): Promise<T | undefined> {
    const client = this.server.client;
    if (!client || !this.server.running) {
      void offerSetting(`LuminaMind: ${this.server.notRunningReason || "the language server is not running"}.`);
      return undefined;
    }
    try {
      return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] })) as T;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.output.appendLine(`[${command}] error: ${message}`);
      void vscode.window.showErrorMessage(`LuminaMind: ${message}`);
      return undefined;
    }
  }

  /** Run an agent command under a cancellable progress notification; tell the user how it ended. */
  async run(command: string, argument: CommandArgument): Promise<RunResult | undefined> {
    const client = this.server.client;
    if (!client || !this.server.running) {
      void offerSetting(`LuminaMind: ${this.server.notRunningReason || "the language server is not running"}.`);
      return undefined;
    }
    const title = PROGRESS_TITLES[command] ?? "LuminaMind is working";
    this.status.runStarted();
    let threadId = argument.threadId;
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title, cancellable: true },
        async (progress, token) => {
          const listener = agentEvents.event(({ threadId: thread, event }) => {
            if (threadId !== undefined && thread !== threadId) {
              return;
            }
            if (event.type === "run_started") {
              threadId = thread; // a run without threadId uses the folder's thread
            }
            if (event.type === "approval_requested") {
              this.status.setApproval(true);
            }
            const line = describeEvent(event);
            if (line !== undefined && event.type !== "text_delta") {
              progress.report({ message: line });
            } else if (event.type === "text_delta" && event.agent === "main") {
              progress.report({ message: "writing the answer…" });
            }
          });
          try {
            // Cancel in the notification sends $/cancelRequest: the server stops the run.
            return (await client.sendRequest(
              ExecuteCommandRequest.type,
              { command, arguments: [argument] },
              token
            )) as RunResult;
          } finally {
            listener.dispose();
          }
        }
      );
      this.output.appendLine(`[${command}] ${JSON.stringify(result)}`);
      this.tellOutcome(result);
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const cancelled = /cancel/i.test(message);
      this.output.appendLine(`[${command}] ${cancelled ? "cancelled" : "error"}: ${message}`);
      if (cancelled) {
        this.tellOutcome({ status: "cancelled", threadId });
        return { status: "cancelled", threadId };
      }
      void vscode.window.showErrorMessage(`LuminaMind: ${message}`);
      return { status: "error", error: message, threadId };
    } finally {
      this.status.runFinished();
    }
  }

  private tellOutcome(result: RunResult | undefined): void {
    this.status.setApproval(result?.status === "awaiting_approval");
    switch (result?.status) {
      case "cancelled":
        void vscode.window.showInformationMessage(
          "LuminaMind: stopped. The thread keeps everything up to its last step: run another command to go on."
        );
        break;
      case "awaiting_approval": {
        // The server's own warning names the tool; this one offers the answers as buttons.
        const tools = (result.pending ?? []).map((p) => p.tool).join(", ");
        void vscode.window
          .showWarningMessage(`LuminaMind wants to run ${tools}. Allow it?`, "Approve", "Reject")
          .then((choice) => {
            if (choice === "Approve") {
              void vscode.commands.executeCommand("luminamind.client.approve");
            } else if (choice === "Reject") {
              void vscode.commands.executeCommand("luminamind.client.reject");
            }
          });
        break;
      }
      default:
        // completed: the server shows the answer (a message, or a Markdown document) and the
        // agent view has it; error: the server shows the error message itself.
        break;
    }
  }
}
