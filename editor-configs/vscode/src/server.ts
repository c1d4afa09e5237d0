// Starting, watching and restarting `luminamind lsp`. The extension spawns the process itself
// (rather than letting vscode-languageclient do it) to keep the tail of its stderr: when the
// server exits at start, the user is told the server's own reason instead of "crashed 5 times".
import * as cp from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import {
  ApplyWorkspaceEditParams,
  ApplyWorkspaceEditResult,
  ClientCapabilities,
  CloseAction,
  ErrorAction,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  StaticFeature,
} from "vscode-languageclient/node";
import { agentEvents, EVENT_METHOD, EventParams, RUN_ENDED_METHOD, runEnded, RunEndedParams } from "./events";

/** Reviews a `workspace/applyEdit` the server sends; `fallback` is the client's own handling. */
export type EditReviewer = (
  params: ApplyWorkspaceEditParams,
  fallback: (params: ApplyWorkspaceEditParams) => Promise<ApplyWorkspaceEditResult>
) => Promise<ApplyWorkspaceEditResult>;

// Declares `experimental.luminamind.events`: the server then sends luminamind/event and
// luminamind/runEnded, and no work-done progress (the extension draws runs itself).
class LuminaMindCapabilities implements StaticFeature {
  fillClientCapabilities(capabilities: ClientCapabilities): void {
    const experimental = (capabilities.experimental ?? {}) as Record<string, unknown>;
    const own = (experimental.luminamind ?? {}) as Record<string, unknown>;
    experimental.luminamind = { ...own, events: true };
    capabilities.experimental = experimental;
  }
  initialize(): void {}
  getState(): { kind: "static" } {
    return { kind: "static" };
  }
  clear(): void {}
}

const STDERR_LINES = 20;
// A server that dies this soon after it was spawned did not crash: it could not start.
const START_GRACE_MS = 15_000;

export class ServerManager implements vscode.Disposable {
  client: LanguageClient | undefined;
  /** Why there is no running server, for commands to tell the user. */
  notRunningReason = "the LuminaMind language server has not started yet";
  private readonly changed = new vscode.EventEmitter<boolean>();
  /** Fires true when the server is ready, false when it stopped. */
  readonly onDidChangeRunning = this.changed.event;
  private stderrTail: string[] = [];
  private spawnedAt = 0;
  private exited: Promise<number | null> = Promise.resolve(null);
  private reported = false;
  private crashes: number[] = [];

  constructor(
    private readonly output: vscode.OutputChannel,
    private readonly reviewer: EditReviewer
  ) {}

  get running(): boolean {
    return this.client?.isRunning() ?? false;
  }

  async start(): Promise<void> {
    const config = vscode.workspace.getConfiguration("luminamind");
    const configured = config.get<string>("serverPath", "luminamind").trim() || "luminamind";
    const command = resolveExecutable(configured);
    if (command === undefined) {
      this.notRunningReason =
        `cannot find the luminamind executable ('${configured}' is not ` +
        (configured.includes(path.sep) ? "an executable file" : "on PATH") +
        "). Install LuminaMind or set luminamind.serverPath.";
      this.output.appendLine(`[luminamind] ${this.notRunningReason}`);
      void offerSetting(`LuminaMind: ${this.notRunningReason}`);
      this.changed.fire(false);
      return;
    }
    const args = [...config.get<string[]>("serverArgs", []), "lsp", "--stdio"];
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const serverOptions: ServerOptions = async () => {
      this.stderrTail = [];
      this.spawnedAt = Date.now();
      this.reported = false;
      this.output.appendLine(`[luminamind] starting: ${command} ${args.join(" ")}`);
      const child = cp.spawn(command, args, { cwd: folder, env: process.env });
      child.stderr.on("data", (chunk: Buffer) => {
        for (const line of chunk.toString("utf8").split("\n")) {
          if (line.trim() !== "") {
            this.stderrTail.push(line);
          }
        }
        this.stderrTail = this.stderrTail.slice(-STDERR_LINES);
      });
      // "close" comes after the process exited and its stderr was read to the end.
      this.exited = new Promise((resolve) => {
        child.on("close", (code) => resolve(code));
        child.on("error", (error) => {
          this.stderrTail.push(String(error));
          resolve(null);
        });
      });
      return child;
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
      outputChannel: this.output,
      initializationFailedHandler: (error) => {
        void this.reportFailure("the language server failed to start", error);
        return false; // no retry: the same command line would fail the same way
      },
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue }),
        closed: () => this.onClosed(),
      },
    };
    const client = new LanguageClient("luminamind", "LuminaMind", serverOptions, clientOptions);
    client.registerFeature(new LuminaMindCapabilities());
    // The server's edits are reviewed by the extension (see review.ts): the refactor preview
    // starts edits that need confirmation unticked, so pressing its Apply applied nothing.
    const internal = client as unknown as {
      handleApplyWorkspaceEdit(params: ApplyWorkspaceEditParams): Promise<ApplyWorkspaceEditResult>;
    };
    const fallback = internal.handleApplyWorkspaceEdit.bind(client);
    internal.handleApplyWorkspaceEdit = (params) => this.reviewer(params, fallback);
    client.onNotification(EVENT_METHOD, (params: EventParams) => agentEvents.fire(params));
    client.onNotification(RUN_ENDED_METHOD, (params: RunEndedParams) => runEnded.fire(params));
    this.client = client;
    try {
      await client.start();
      this.notRunningReason = "";
      this.changed.fire(true);
    } catch (error) {
      this.client = undefined;
      this.changed.fire(false);
      await this.reportFailure("the language server failed to start", error);
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop(5000);
      } catch (error) {
        this.output.appendLine(`[luminamind] stopping the server: ${String(error)}`);
      }
    }
    this.notRunningReason = "the language server was stopped";
    this.changed.fire(false);
  }

  async restart(): Promise<void> {
    await this.stop();
    this.crashes = [];
    await this.start();
  }

  /** Tell the user (once per start) why the server is not running, in its own words. */
  private async reportFailure(what: string, error?: unknown): Promise<void> {
    if (this.reported) {
      return;
    }
    this.reported = true;
    // The reason is usually the last thing the server printed: wait for it to be read.
    const code = await Promise.race([this.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 3000))]);
    const plain = this.stderrTail.filter((l) => !l.startsWith("{")).slice(-3).join(" | ");
    const said = plain || this.stderrTail.slice(-2).join(" | ");
    const status = typeof code === "number" ? `exit status ${code}` : error !== undefined ? String(error) : "";
    this.notRunningReason = `${what}: ${said || "it printed nothing"}` + (status ? ` (${status})` : "");
    this.output.appendLine(`[luminamind] ${this.notRunningReason}`);
    await offerSetting(`LuminaMind: ${this.notRunningReason}`);
  }

  private onClosed(): { action: CloseAction; message?: string; handled?: boolean } {
    this.changed.fire(false);
    const now = Date.now();
    if (now - this.spawnedAt < START_GRACE_MS) {
      void this.reportFailure("the language server exited at start");
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    this.crashes = [...this.crashes.filter((t) => now - t < 180_000), now];
    if (this.crashes.length > 3) {
      void this.reportFailure(`the language server stopped ${this.crashes.length} times in 3 minutes`);
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    this.output.appendLine("[luminamind] the language server stopped; restarting it");
    return { action: CloseAction.Restart, handled: true };
  }

  dispose(): void {
    void this.stop();
    this.changed.dispose();
  }
}

/** The executable `configured` names: a path that exists, or a name found on PATH. */
export function resolveExecutable(configured: string): string | undefined {
  const isFile = (candidate: string): boolean => {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return fs.statSync(candidate).isFile();
    } catch {
      return false;
    }
  };
  if (configured.includes("/") || configured.includes("\\")) {
    return isFile(configured) ? configured : undefined;
  }
  const suffixes = process.platform === "win32" ? [".exe", ".cmd", ""] : [""];
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    for (const suffix of suffixes) {
      const candidate = path.join(dir, configured + suffix);
      if (dir && isFile(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/** An error notification with a button that opens the luminamind.serverPath setting. */
export async function offerSetting(message: string): Promise<void> {
  const open = "Open Setting";
  const logs = "Show Log";
  const choice = await vscode.window.showErrorMessage(message, open, logs);
  if (choice === open) {
    await vscode.commands.executeCommand("workbench.action.openSettings", "luminamind.serverPath");
  } else if (choice === logs) {
    await vscode.commands.executeCommand("luminamind.client.showLog");
  }
}
