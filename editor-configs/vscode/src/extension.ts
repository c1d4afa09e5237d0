// LuminaMind for VS Code: starts `luminamind lsp` and turns palette / context-menu commands into
// `workspace/executeCommand` requests. Proposed edits come back from the server as
// `workspace/applyEdit` with change annotations that need confirmation, which VS Code shows in its
// refactor preview (a diff) before anything is written.
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;

interface CommandArgument {
  prompt?: string;
  uri?: string;
  range?: { start: { line: number; character: number }; end: { line: number; character: number } };
  threadId?: string;
}

function configuredThread(): string | undefined {
  const thread = vscode.workspace.getConfiguration("luminamind").get<string>("threadId", "");
  return thread.trim() === "" ? undefined : thread.trim();
}

function editorContext(): CommandArgument {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    return { threadId: configuredThread() };
  }
  const selection = editor.selection;
  return {
    uri: editor.document.uri.toString(),
    range: selection.isEmpty
      ? undefined
      : {
          start: { line: selection.start.line, character: selection.start.character },
          end: { line: selection.end.line, character: selection.end.character },
        },
    threadId: configuredThread(),
  };
}

async function runServerCommand(command: string, argument: CommandArgument): Promise<unknown> {
  if (!client) {
    vscode.window.showErrorMessage("LuminaMind: the language server is not running.");
    return undefined;
  }
  try {
    const result = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Window,
        title: `LuminaMind: ${command.replace("luminamind.", "")}`,
      },
      () => client!.sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] })
    );
    output.appendLine(`[${command}] ${JSON.stringify(result, null, 2)}`);
    return result;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    vscode.window.showErrorMessage(`LuminaMind: ${message}`);
    output.appendLine(`[${command}] error: ${message}`);
    return undefined;
  }
}

async function promptedCommand(command: string, question: string, needsPrompt = true): Promise<void> {
  const argument = editorContext();
  if (needsPrompt) {
    const prompt = await vscode.window.showInputBox({ prompt: question, ignoreFocusOut: true });
    if (prompt === undefined || prompt.trim() === "") {
      return;
    }
    argument.prompt = prompt;
  } else {
    argument.prompt = "";
  }
  await runServerCommand(command, argument);
}

async function threadCommand(command: string): Promise<void> {
  const threadId =
    configuredThread() ??
    (await vscode.window.showInputBox({
      prompt: "Thread id (empty: this workspace folder's thread)",
      ignoreFocusOut: true,
    }));
  if (threadId === undefined) {
    return;
  }
  const argument: CommandArgument = threadId.trim() === "" ? {} : { threadId: threadId.trim() };
  if (command === "luminamind.reject") {
    argument.prompt = (await vscode.window.showInputBox({ prompt: "Reason (the agent sees it)" })) ?? "";
  }
  await runServerCommand(command, argument);
}

function startClient(context: vscode.ExtensionContext): LanguageClient {
  const config = vscode.workspace.getConfiguration("luminamind");
  const command = config.get<string>("serverPath", "luminamind");
  const args = [...config.get<string[]>("serverArgs", []), "lsp"];
  const serverOptions: ServerOptions = {
    run: { command, args, transport: TransportKind.stdio },
    debug: { command, args, transport: TransportKind.stdio },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
    outputChannel: output,
  };
  const languageClient = new LanguageClient("luminamind", "LuminaMind", serverOptions, clientOptions);
  languageClient.start().catch((error: unknown) => {
    vscode.window.showErrorMessage(
      `LuminaMind: cannot start '${command} lsp' (${String(error)}). Set luminamind.serverPath.`
    );
  });
  context.subscriptions.push(languageClient);
  return languageClient;
}

export function activate(context: vscode.ExtensionContext): void {
  output = vscode.window.createOutputChannel("LuminaMind");
  client = startClient(context);
  const register = (id: string, handler: () => Promise<void>) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, handler));

  register("luminamind.client.ask", () => promptedCommand("luminamind.ask", "Ask LuminaMind"));
  register("luminamind.client.explain", () =>
    promptedCommand("luminamind.explain", "Explain", false)
  );
  register("luminamind.client.edit", () =>
    promptedCommand("luminamind.edit", "How should LuminaMind change this code?")
  );
  register("luminamind.client.runTask", () =>
    promptedCommand("luminamind.runTask", "Task for LuminaMind")
  );
  register("luminamind.client.threads", async () => {
    await runServerCommand("luminamind.threads", {});
    output.show(true);
  });
  register("luminamind.client.approve", () => threadCommand("luminamind.approve"));
  register("luminamind.client.reject", () => threadCommand("luminamind.reject"));
  register("luminamind.client.cancel", () => threadCommand("luminamind.cancel"));
  register("luminamind.client.restart", async () => {
    if (client) {
      await client.stop();
    }
    client = startClient(context);
  });
}

export async function deactivate(): Promise<void> {
  if (client) {
    await client.stop();
  }
}
