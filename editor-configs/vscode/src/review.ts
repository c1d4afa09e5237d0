// The extension's own review of the edits the agent proposes. The server marks such edits with a
// change annotation that needs confirmation; VS Code's refactor preview starts those UNTICKED, so
// pressing its Apply applied nothing and the agent was told "rejected". Instead the extension
// opens a diff tab per file (the current buffer against the proposal) beside the editor you are in,
// without taking focus, and asks Accept / Reject (in the diff's title bar, a notification and the
// agent view). The proposal side is editable: VS Code's own "Revert Block" arrows in the diff's
// gutter, or typing, change what will be applied. Accept applies the proposal side as it is then;
// the server reads the buffer back and tells the agent which hunks were kept, rejected or edited.
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

interface ProposalFile {
  data: Uint8Array;
  ctime: number;
  mtime: number;
  readonly: boolean;
}

/**
 * The proposed text of each file under review, as an in-memory file system. A file system (not a
 * TextDocumentContentProvider, whose documents are read-only) because the diff editor offers its
 * per-hunk "Revert Block" arrows, and lets you type, only when the modified side is writable.
 * Saving a proposal (Ctrl+S) keeps it here; nothing outside the review reads these files.
 */
export class ProposalFileSystem implements vscode.FileSystemProvider {
  private readonly files = new Map<string, ProposalFile>();
  private readonly changedEmitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.changedEmitter.event;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  set(uri: vscode.Uri, text: string, readonly = false): void {
    const now = Date.now();
    const existed = this.files.has(uri.toString());
    this.files.set(uri.toString(), { data: this.encoder.encode(text), ctime: now, mtime: now, readonly });
    this.changedEmitter.fire([{ type: existed ? vscode.FileChangeType.Changed : vscode.FileChangeType.Created, uri }]);
  }

  /** Drop a proposal when its review ends. */
  remove(uri: vscode.Uri): void {
    if (this.files.delete(uri.toString())) {
      this.changedEmitter.fire([{ type: vscode.FileChangeType.Deleted, uri }]);
    }
  }

  /** The saved text of a proposal (undefined once its review ended). */
  text(uri: vscode.Uri): string | undefined {
    const file = this.files.get(uri.toString());
    return file === undefined ? undefined : this.decoder.decode(file.data);
  }

  watch(): vscode.Disposable {
    // Changes come only from this provider, which fires them itself.
    return new vscode.Disposable(() => undefined);
  }

  stat(uri: vscode.Uri): vscode.FileStat {
    const file = this.files.get(uri.toString());
    if (file !== undefined) {
      return {
        type: vscode.FileType.File,
        ctime: file.ctime,
        mtime: file.mtime,
        size: file.data.byteLength,
        permissions: file.readonly ? vscode.FilePermission.Readonly : undefined,
      };
    }
    if (this.children(uri).length > 0) {
      return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0, permissions: vscode.FilePermission.Readonly };
    }
    throw vscode.FileSystemError.FileNotFound(uri);
  }

  readDirectory(uri: vscode.Uri): [string, vscode.FileType][] {
    return this.children(uri);
  }

  readFile(uri: vscode.Uri): Uint8Array {
    const file = this.files.get(uri.toString());
    if (file === undefined) {
      throw vscode.FileSystemError.FileNotFound(uri);
    }
    return file.data;
  }

  writeFile(uri: vscode.Uri, content: Uint8Array): void {
    const file = this.files.get(uri.toString());
    if (file === undefined) {
      // Only the review creates proposals ("Save As" into this scheme would be lost at once).
      throw vscode.FileSystemError.NoPermissions("LuminaMind proposals are created by a review only");
    }
    if (file.readonly) {
      throw vscode.FileSystemError.NoPermissions(uri);
    }
    this.files.set(uri.toString(), { ...file, data: content, mtime: Date.now() });
    this.changedEmitter.fire([{ type: vscode.FileChangeType.Changed, uri }]);
  }

  createDirectory(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  rename(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  delete(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  private children(uri: vscode.Uri): [string, vscode.FileType][] {
    const prefix = uri.with({ path: uri.path.replace(/\/?$/, "/") }).toString();
    const names = new Map<string, vscode.FileType>();
    for (const key of this.files.keys()) {
      if (key.startsWith(prefix)) {
        const rest = key.slice(prefix.length).split("/");
        names.set(decodeURIComponent(rest[0]), rest.length > 1 ? vscode.FileType.Directory : vscode.FileType.File);
      }
    }
    return [...names.entries()];
  }
}

interface FileProposal {
  target: vscode.Uri;
  kind: "edit" | "create" | "delete";
  before: vscode.Uri; // the buffer, or an empty proposal document for a new file
  after: vscode.Uri; // the proposal side (editable)
  beforeText: string;
  afterText: string; // as the agent proposed it
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
    private readonly proposalsFs: ProposalFileSystem,
    private readonly client: () => LanguageClient | undefined,
    private readonly output: vscode.OutputChannel
  ) {}

  get pending(): boolean {
    return this.current !== undefined;
  }

  /**
   * Open (or reveal) the diff tabs of the review in progress, beside the editor you are in and
   * without taking focus from it: you keep typing while the agent's change waits.
   */
  async showDiff(): Promise<void> {
    const beside = vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active;
    for (const file of this.current?.files ?? []) {
      await vscode.commands.executeCommand("vscode.diff", file.before, file.after, file.label, {
        preview: false,
        preserveFocus: true,
        viewColumn: this.openTab(file)?.group.viewColumn ?? beside,
      });
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
    // What the proposal sides hold now (reverted blocks, typing), saved or not.
    const kept = new Map(files.map((f) => [f.after.toString(), this.proposedText(f)]));
    await this.closeTabs(files);
    for (const file of files) {
      this.proposalsFs.remove(file.after);
      this.proposalsFs.remove(file.before);
    }
    if (choice !== "apply") {
      const reason = `The user discarded the change to ${names} in VS Code's diff review.`;
      void vscode.window.showInformationMessage(
        `LuminaMind: discarded the change to ${names}; the agent was told you rejected it.`
      );
      this.output.appendLine(`[review] discarded ${names}`);
      return { applied: false, failureReason: reason };
    }
    const texts = files.map((f) => kept.get(f.after.toString()) ?? f.afterText);
    const none = files.every((f, i) => texts[i] === f.beforeText && f.kind === "edit");
    const edited = files.some((f, i) => texts[i] !== f.afterText);
    const result = await this.applyTexts(plain, files, texts, client);
    if (!result.applied) {
      void vscode.window.showWarningMessage(
        `LuminaMind: could not apply the change to ${names}: ${result.failureReason}. The agent was told.`
      );
    } else if (none) {
      void vscode.window.showInformationMessage(
        `LuminaMind: you reverted every part of the change to ${names}; nothing changed and the agent was told.`
      );
    } else {
      const what = edited ? "your version of the change" : "the change";
      void vscode.window.showInformationMessage(
        `LuminaMind: applied ${what} to ${names} (not saved yet: save the file to write it).`
      );
    }
    const outcome = !result.applied ? "failed" : none ? "reverted all of" : edited ? "applied (edited)" : "applied";
    this.output.appendLine(`[review] ${outcome} ${names}`);
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

  /** The proposal side's text: the open document (unsaved edits included), else what was saved. */
  private proposedText(file: FileProposal): string {
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === file.after.toString());
    return open?.getText() ?? this.proposalsFs.text(file.after) ?? file.afterText;
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
      // The review's number in the authority: two reviews of a file never share a document.
      const proposal = (side: string) =>
        vscode.Uri.from({ scheme: PROPOSAL_SCHEME, authority: `${id}.${side}`, path: target.path });
      const after = proposal("after");
      this.proposalsFs.set(after, afterText);
      let before = target;
      if (!exists) {
        before = proposal("before");
        this.proposalsFs.set(before, "", true);
      }
      const [added, removed] = lineStat(beforeText, afterText);
      const kind = deleted.has(uri) ? "delete" : exists ? "edit" : "create";
      files.push({ target, kind, before, after, beforeText, afterText, added, removed, label: `${name} ↔ LuminaMind's proposal` });
    }
    return files;
  }

  /** Apply what the proposal sides hold (`texts`, one per file) to the buffers, as one edit. */
  private async applyTexts(
    edit: WorkspaceEdit,
    files: FileProposal[],
    texts: string[],
    client: LanguageClient
  ): Promise<ApplyWorkspaceEditResult> {
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
    const workspaceEdit = new vscode.WorkspaceEdit();
    for (const [i, file] of files.entries()) {
      const text = texts[i];
      if (file.kind === "create") {
        workspaceEdit.createFile(file.target, { ignoreIfExists: true });
        workspaceEdit.insert(file.target, new vscode.Position(0, 0), text);
        continue;
      }
      if (file.kind === "delete" && text === "") {
        workspaceEdit.deleteFile(file.target, { ignoreIfNotExists: true });
        continue;
      }
      const document = await vscode.workspace.openTextDocument(file.target);
      const replacement = smallestReplacement(document.getText(), text);
      if (replacement !== undefined) {
        const [start, end, newText] = replacement;
        workspaceEdit.replace(file.target, new vscode.Range(document.positionAt(start), document.positionAt(end)), newText);
      }
    }
    const applied = await vscode.workspace.applyEdit(workspaceEdit);
    return applied ? { applied } : { applied, failureReason: "VS Code refused the edit" };
  }

  private openTab(file: FileProposal): vscode.Tab | undefined {
    return vscode.window.tabGroups.all
      .flatMap((g) => g.tabs)
      .find((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.toString() === file.after.toString());
  }

  private async closeTabs(files: FileProposal[]): Promise<void> {
    // A proposal side with unsaved changes would make closing its tab ask "Save?": save it into
    // the proposal file system first (its text was read already).
    for (const file of files) {
      const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === file.after.toString());
      if (open?.isDirty) {
        await open.save();
      }
    }
    const tabs = files.map((f) => this.openTab(f)).filter((t): t is vscode.Tab => t !== undefined);
    if (tabs.length > 0) {
      await vscode.window.tabGroups.close(tabs, true);
    }
  }

  dispose(): void {
    this.current?.settle("discard");
    this.pendingEmitter.dispose();
  }
}

/**
 * The one replacement turning `before` into `after`: [start, end, text] between their common
 * prefix and suffix (undefined when equal). Smaller than replacing everything, so the cursor,
 * folding and markers outside the change stay where they were.
 */
export function smallestReplacement(before: string, after: string): [number, number, string] | undefined {
  if (before === after) {
    return undefined;
  }
  let head = 0;
  const most = Math.min(before.length, after.length);
  while (head < most && before.charCodeAt(head) === after.charCodeAt(head)) {
    head++;
  }
  let tail = 0;
  while (
    tail < most - head &&
    before.charCodeAt(before.length - 1 - tail) === after.charCodeAt(after.length - 1 - tail)
  ) {
    tail++;
  }
  return [head, before.length - tail, after.slice(head, after.length - tail)];
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
