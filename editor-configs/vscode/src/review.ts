// The extension's own review of the edits the agent proposes. The server marks such edits with a
// change annotation that needs confirmation; VS Code's refactor preview starts those UNTICKED, so
// pressing its Apply applied nothing and the agent was told "rejected". Instead the extension
// opens a diff tab per file (the current buffer against the proposal) and asks Apply / Discard;
// Apply applies exactly what the diff showed, and the user is told the outcome either way.
// Edits without such annotations (already reviewed, e.g. hunk by hunk) are applied as they come.
import * as vscode from "vscode";
import {
  AnnotatedTextEdit,
  ApplyWorkspaceEditParams,
  ApplyWorkspaceEditResult,
  CreateFile,
  DeleteFile,
  LanguageClient,
  RenameFile,
  TextDocumentEdit,
  TextEdit,
  WorkspaceEdit,
} from "vscode-languageclient/node";

export const PROPOSAL_SCHEME = "luminamind-proposal";
const APPLY = "Apply";
const DISCARD = "Discard";
const SHOW = "Show Diff";

/** The proposed text of each file under review, served to the diff tabs. */
export class ProposalContent implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private readonly changedEmitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changedEmitter.event;

  set(uri: vscode.Uri, text: string): void {
    this.texts.set(uri.toString(), text);
    this.changedEmitter.fire(uri);
  }
  delete(uri: vscode.Uri): void {
    this.texts.delete(uri.toString());
  }
  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? "";
  }
}

interface FileProposal {
  target: vscode.Uri;
  before: vscode.Uri; // the buffer, or an empty proposal document for a new file
  after: vscode.Uri;
  added: number;
  removed: number;
  label: string;
}

interface OpenReview {
  files: FileProposal[];
  settle: (choice: "apply" | "discard") => void;
}

export class EditReview implements vscode.Disposable {
  private current: OpenReview | undefined;
  private counter = 0;
  private readonly pendingEmitter = new vscode.EventEmitter<string[] | undefined>();
  /** Fires the labels of the files under review when a review opens, undefined when it ends. */
  readonly onDidChangePending = this.pendingEmitter.event;

  constructor(
    private readonly content: ProposalContent,
    private readonly client: () => LanguageClient | undefined,
    private readonly output: vscode.OutputChannel
  ) {}

  get pending(): boolean {
    return this.current !== undefined;
  }

  /** Re-open the diff tabs of the review in progress (from the agent view or a notification). */
  async showDiff(): Promise<void> {
    for (const file of this.current?.files ?? []) {
      await vscode.commands.executeCommand("vscode.diff", file.before, file.after, file.label, { preview: false });
    }
  }

  apply(): void {
    this.current?.settle("apply");
  }

  discard(): void {
    this.current?.settle("discard");
  }

  async review(
    params: ApplyWorkspaceEditParams,
    fallback: (params: ApplyWorkspaceEditParams) => Promise<ApplyWorkspaceEditResult>
  ): Promise<ApplyWorkspaceEditResult> {
    if (!needsConfirmation(params.edit)) {
      return fallback(params);
    }
    const client = this.client();
    if (client === undefined) {
      return { applied: false, failureReason: "The LuminaMind extension lost its language server." };
    }
    const plain = withoutAnnotations(params.edit);
    const files = await this.proposals(plain, client);
    const names = files.map((f) => vscode.workspace.asRelativePath(f.target)).join(", ");
    const stat = files.map((f) => `+${f.added} −${f.removed}`).join(", ");
    const choice = await this.ask(files, `LuminaMind wants to change ${names} (${stat}).`);
    await this.closeTabs(files);
    for (const file of files) {
      this.content.delete(file.after);
    }
    if (choice !== "apply") {
      const reason = `The user discarded the change to ${names} in VS Code's diff review.`;
      void vscode.window.showInformationMessage(
        `LuminaMind: discarded the change to ${names}; the agent was told you rejected it.`
      );
      this.output.appendLine(`[review] discarded ${names}`);
      return { applied: false, failureReason: reason };
    }
    const result = await this.applyPlain(plain, client);
    if (result.applied) {
      void vscode.window.showInformationMessage(
        `LuminaMind: applied the change to ${names} (not saved yet: save the file to write it).`
      );
    } else {
      void vscode.window.showWarningMessage(
        `LuminaMind: could not apply the change to ${names}: ${result.failureReason}. The agent was told.`
      );
    }
    this.output.appendLine(`[review] ${result.applied ? "applied" : "failed"} ${names}`);
    return result;
  }

  private async ask(files: FileProposal[], question: string): Promise<"apply" | "discard"> {
    // One review at a time: the server asks about edits one after the other.
    const decided = new Promise<"apply" | "discard">((resolve) => {
      this.current = { files, settle: resolve };
    });
    await vscode.commands.executeCommand("setContext", "luminamind.reviewing", true);
    this.pendingEmitter.fire(files.map((f) => vscode.workspace.asRelativePath(f.target)));
    await this.showDiff();
    const asking = (async () => {
      for (;;) {
        const answer = await vscode.window.showInformationMessage(question, APPLY, DISCARD, SHOW);
        if (answer === SHOW) {
          await this.showDiff();
          continue;
        }
        if (answer === APPLY) {
          this.apply();
        } else if (answer === DISCARD) {
          this.discard();
        }
        // Closed without an answer: the diff tab's title bar (and the agent view) still decide.
        return;
      }
    })();
    void asking;
    const choice = await decided;
    this.current = undefined;
    await vscode.commands.executeCommand("setContext", "luminamind.reviewing", false);
    this.pendingEmitter.fire(undefined);
    return choice;
  }

  private async proposals(edit: WorkspaceEdit, client: LanguageClient): Promise<FileProposal[]> {
    const files: FileProposal[] = [];
    const created = new Set<string>();
    const deleted = new Set<string>();
    for (const change of edit.documentChanges ?? []) {
      if (CreateFile.is(change)) {
        created.add(change.uri);
      } else if (DeleteFile.is(change)) {
        deleted.add(change.uri);
      }
    }
    const id = ++this.counter;
    for (const change of edit.documentChanges ?? []) {
      let uri: string;
      let edits: TextEdit[] = [];
      if (TextDocumentEdit.is(change)) {
        uri = change.textDocument.uri;
        edits = change.edits as TextEdit[];
      } else if (DeleteFile.is(change)) {
        uri = change.uri;
      } else {
        continue;
      }
      const target = client.protocol2CodeConverter.asUri(uri);
      const exists = !created.has(uri);
      const beforeText = exists ? (await vscode.workspace.openTextDocument(target)).getText() : "";
      const afterText = deleted.has(uri) ? "" : applyTextEdits(beforeText, edits);
      const name = vscode.workspace.asRelativePath(target);
      const after = vscode.Uri.from({ scheme: PROPOSAL_SCHEME, path: target.path, query: `${id}-after` });
      this.content.set(after, afterText);
      let before = target;
      if (!exists) {
        before = vscode.Uri.from({ scheme: PROPOSAL_SCHEME, path: target.path, query: `${id}-before` });
        this.content.set(before, "");
      }
      const [added, removed] = lineStat(beforeText, afterText);
      files.push({ target, before, after, added, removed, label: `${name} ↔ LuminaMind's proposal` });
    }
    return files;
  }

  private async applyPlain(edit: WorkspaceEdit, client: LanguageClient): Promise<ApplyWorkspaceEditResult> {
    // The version check vscode-languageclient does: refuse if the buffer changed since the server
    // built the edit (it then tells the agent, which reads the file again).
    for (const change of edit.documentChanges ?? []) {
      if (TextDocumentEdit.is(change) && typeof change.textDocument.version === "number") {
        const target = client.protocol2CodeConverter.asUri(change.textDocument.uri).toString();
        const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === target);
        if (open && open.version !== change.textDocument.version) {
          return { applied: false, failureReason: `${vscode.workspace.asRelativePath(open.uri)} changed in the editor during the review` };
        }
      }
    }
    const converted = await client.protocol2CodeConverter.asWorkspaceEdit(edit);
    const applied = await vscode.workspace.applyEdit(converted);
    return applied ? { applied } : { applied, failureReason: "VS Code refused the edit" };
  }

  private async closeTabs(files: FileProposal[]): Promise<void> {
    const afters = new Set(files.map((f) => f.after.toString()));
    const tabs = vscode.window.tabGroups.all
      .flatMap((g) => g.tabs)
      .filter((t) => t.input instanceof vscode.TabInputTextDiff && afters.has(t.input.modified.toString()));
    if (tabs.length > 0) {
      await vscode.window.tabGroups.close(tabs);
    }
  }

  dispose(): void {
    this.current?.settle("discard");
    this.pendingEmitter.dispose();
  }
}

function needsConfirmation(edit: WorkspaceEdit): boolean {
  return Object.values(edit.changeAnnotations ?? {}).some((a) => a.needsConfirmation === true);
}

/** The same edit with no change annotations (so VS Code applies it without its preview). */
export function withoutAnnotations(edit: WorkspaceEdit): WorkspaceEdit {
  const documentChanges = (edit.documentChanges ?? []).map((change) => {
    if (TextDocumentEdit.is(change)) {
      return {
        textDocument: change.textDocument,
        edits: change.edits.map((e) => ({ range: e.range, newText: e.newText })),
      } as TextDocumentEdit;
    }
    const { annotationId: _dropped, ...rest } = change as (CreateFile | RenameFile | DeleteFile) & { annotationId?: string };
    void _dropped;
    return rest as CreateFile | RenameFile | DeleteFile;
  });
  const changes = edit.changes
    ? Object.fromEntries(
        Object.entries(edit.changes).map(([uri, edits]) => [
          uri,
          edits.map((e: TextEdit | AnnotatedTextEdit) => ({ range: e.range, newText: e.newText })),
        ])
      )
    : undefined;
  return { documentChanges: edit.documentChanges ? documentChanges : undefined, changes };
}

/** Apply LSP text edits (non-overlapping, positions in the original text) to `text`. */
export function applyTextEdits(text: string, edits: TextEdit[]): string {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "\n") {
      starts.push(i + 1);
    }
  }
  const offset = (line: number, character: number): number =>
    line >= starts.length ? text.length : Math.min(starts[line] + character, text.length);
  const sorted = [...edits].sort(
    (a, b) => offset(b.range.start.line, b.range.start.character) - offset(a.range.start.line, a.range.start.character)
  );
  let result = text;
  for (const edit of sorted) {
    const start = offset(edit.range.start.line, edit.range.start.character);
    const end = offset(edit.range.end.line, edit.range.end.character);
    result = result.slice(0, start) + edit.newText + result.slice(end);
  }
  return result;
}

function lineStat(before: string, after: string): [number, number] {
  // Lines only in one side (a multiset difference): enough for "+1 −1" in the question.
  const count = new Map<string, number>();
  for (const line of before.split("\n")) {
    count.set(line, (count.get(line) ?? 0) + 1);
  }
  let added = 0;
  for (const line of after.split("\n")) {
    const n = count.get(line) ?? 0;
    if (n > 0) {
      count.set(line, n - 1);
    } else {
      added++;
    }
  }
  const removed = [...count.values()].reduce((a, b) => a + b, 0);
  return [added, removed];
}
