// LuminaMind for VS Code: starts `luminamind lsp --stdio` (server.ts), sends the palette and
// context-menu commands as `workspace/executeCommand` requests under a cancellable progress
// notification (runs.ts), reviews the agent's edits in a diff tab (review.ts), and shows the
// agent in the side bar (agentView.ts), the Threads tree (threads.ts) and the status bar.
import * as vscode from "vscode";
import { AgentView } from "./agentView";
import { EditReview, PROPOSAL_SCHEME, ProposalFileSystem } from "./review";
import { CommandArgument, Runner, StatusItem } from "./runs";
import { ServerManager } from "./server";
import { registerThreadCommands, Session, ThreadsTree } from "./threads";

let server: ServerManager | undefined;

function editorContext(threadId: string | undefined): CommandArgument {
  const editor = vscode.window.activeTextEditor;
  const argument: CommandArgument = threadId ? { threadId } : {};
  if (!editor || editor.document.uri.scheme !== "file") {
    return argument;
  }
  argument.uri = editor.document.uri.toString();
  const selection = editor.selection;
  if (!selection.isEmpty) {
    argument.range = {
      start: { line: selection.start.line, character: selection.start.character },
      end: { line: selection.end.line, character: selection.end.character },
    };
  }
  return argument;
}

/** LuminaMind works inside a folder (its tools are confined to it): say so when none is open. */
function needsFolder(): boolean {
  if (vscode.workspace.workspaceFolders?.length) {
    return false;
  }
  void vscode.window
    .showWarningMessage("LuminaMind works in a folder, and none is open: open one first.", "Open Folder")
    .then((choice) => choice && vscode.commands.executeCommand("workbench.action.files.openFolder"));
  return true;
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("LuminaMind");
  const proposals = new ProposalFileSystem();
  const status = new StatusItem();
  const session = new Session(context.workspaceState);
  let review: EditReview | undefined;
  server = new ServerManager(output, (params, fallback) => review!.review(params, fallback));
  review = new EditReview(proposals, () => server?.client, output);
  const runner = new Runner(server, status, output);
  const tree = new ThreadsTree(runner, session, () => server?.running ?? false);
  const view = new AgentView(runner, session, review, () => server?.running ?? false);
  context.subscriptions.push(
    output,
    status,
    server,
    review,
    view,
    vscode.workspace.registerFileSystemProvider(PROPOSAL_SCHEME, proposals, { isCaseSensitive: true }),
    vscode.window.registerWebviewViewProvider(AgentView.id, view, { webviewOptions: { retainContextWhenHidden: true } }),
    vscode.window.registerTreeDataProvider("luminamind.threadsView", tree),
    server.onDidChangeRunning((up) => {
      status.setServer(up);
      tree.refresh();
      void view.reload();
    }),
    review.onDidChangePending((files) => status.setApproval(files !== undefined)),
    session.onDidChangeThread(() => tree.refresh())
  );
  const register = (id: string, handler: (...args: never[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, handler));

  const agentCommand = async (command: string, question: string | undefined, needsEditor = false) => {
    if (needsFolder()) {
      return;
    }
    const argument = editorContext(session.threadId);
    if (needsEditor && argument.uri === undefined) {
      void vscode.window.showWarningMessage("LuminaMind: open a file (and select the code) first.");
      return;
    }
    if (question !== undefined) {
      const prompt = await vscode.window.showInputBox({ prompt: question, ignoreFocusOut: true });
      if (prompt === undefined || prompt.trim() === "") {
        return;
      }
      argument.prompt = prompt;
    } else {
      argument.prompt = "";
    }
    await runner.run(command, argument);
    tree.refresh();
  };

  register("luminamind.client.ask", () => agentCommand("luminamind.ask", "Ask LuminaMind"));
  register("luminamind.client.explain", () => agentCommand("luminamind.explain", undefined, true));
  register("luminamind.client.edit", () =>
    agentCommand("luminamind.edit", "How should LuminaMind change this code?", true)
  );
  register("luminamind.client.runTask", () => agentCommand("luminamind.runTask", "Task for LuminaMind"));
  register("luminamind.client.threads", async () => {
    const result = await runner.request("luminamind.threads", {});
    if (result !== undefined) {
      output.appendLine(`[luminamind.threads] ${JSON.stringify(result, null, 2)}`);
      output.show(true);
      tree.refresh();
    }
  });
  register("luminamind.client.approve", async () => {
    if (needsFolder()) {
      return;
    }
    const threadId = session.threadId;
    await runner.run("luminamind.approve", threadId ? { threadId } : {});
    tree.refresh();
  });
  register("luminamind.client.reject", async () => {
    if (needsFolder()) {
      return;
    }
    const reason = await vscode.window.showInputBox({
      prompt: "Why? (the agent sees it; empty: just no)",
      ignoreFocusOut: true,
    });
    if (reason === undefined) {
      return;
    }
    const threadId = session.threadId;
    await runner.run("luminamind.reject", threadId ? { threadId, prompt: reason } : { prompt: reason });
    tree.refresh();
  });
  register("luminamind.client.cancel", async () => {
    const threadId = session.threadId;
    const result = await runner.request<{ cancelled: boolean }>("luminamind.cancel", threadId ? { threadId } : {});
    if (result && !result.cancelled) {
      void vscode.window.showInformationMessage("LuminaMind: nothing is running in this thread.");
    }
  });
  register("luminamind.client.restart", async () => {
    await server?.restart();
    if (server?.running) {
      void vscode.window.showInformationMessage("LuminaMind: the language server restarted.");
    }
  });
  register("luminamind.client.openView", () => vscode.commands.executeCommand(`${AgentView.id}.focus`));
  register("luminamind.client.showLog", () => output.show(true));
  register("luminamind.client.applyProposal", () => review?.apply());
  register("luminamind.client.discardProposal", () => review?.discard());
  registerThreadCommands(context, tree, session, runner);

  if (!vscode.workspace.workspaceFolders?.length) {
    status.setServer(false);
    server.notRunningReason = "no folder is open (LuminaMind works in a folder)";
    return;
  }
  await server.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
}
