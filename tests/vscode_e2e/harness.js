// Drives a real VS Code (code-server in Debian's headless chromium, through puppeteer-core) the
// way a user does: the command palette, input boxes, notifications and their buttons, the
// editor, the side bar. Reusable by any end-to-end scenario: `const vs = await open(options)`.
// Every wait names what it waited for; `vs.shot(name)` writes a numbered screenshot.
"use strict";
const fs = require("fs");
const path = require("path");
const { execSync } = require("child_process");
const puppeteer = require("puppeteer-core");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function chromiumPath() {
  for (const candidate of [process.env.CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (candidate && fs.existsSync(candidate)) {
      return candidate;
    }
  }
  throw new Error("no chromium found (apt-get install chromium, or set CHROMIUM)");
}

class VSCode {
  constructor(browser, page, options) {
    this.browser = browser;
    this.page = page;
    this.shots = options.shots;
    this.pgid = options.pgid;
    this.step = 0;
    this.log = [];
  }

  note(message) {
    const line = `[vscode-e2e ${new Date().toISOString().slice(11, 19)}] ${message}`;
    this.log.push(line);
    console.log(line);
  }

  /** Poll `probe` until it returns a truthy value; fail naming `what`. */
  async waitFor(what, probe, timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      try {
        last = await probe();
        if (last) {
          return last;
        }
      } catch (error) {
        last = error;
      }
      await sleep(250);
    }
    await this.shot(`timeout-${what.replace(/[^a-z0-9]+/gi, "-").slice(0, 40)}`);
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` + (last instanceof Error ? ` (${last.message})` : ""));
  }

  async shot(name) {
    if (!this.shots) {
      return undefined;
    }
    fs.mkdirSync(this.shots, { recursive: true });
    this.step += 1;
    const file = path.join(this.shots, `${String(this.step).padStart(2, "0")}-${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** The `luminamind lsp` processes in code-server's process group. */
  lspProcesses() {
    // -ww: whole command lines. Without it ps cuts them at $COLUMNS when set (pytest-xdist's
    // workers set COLUMNS=80), and "luminamind lsp" falls off the end of a long venv path.
    return execSync("ps -eww -o pid=,pgid=,args=", { encoding: "utf8" })
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => /luminamind(\.exe)? .*lsp/.test(l) && !/ps -eww/.test(l))
      .filter((l) => !this.pgid || l.split(/\s+/)[1] === String(this.pgid))
      .map((l) => ({ pid: Number(l.split(/\s+/)[0]), args: l.split(/\s+/).slice(2).join(" ") }));
  }

  async focusWorkbench() {
    await this.page.keyboard.press("Escape");
    await this.page.click(".monaco-workbench .part.editor", { offset: { x: 5, y: 5 } }).catch(() => undefined);
  }

  /** Open the palette (F1), type `title`, check it is the first entry, run it. */
  async runCommand(title) {
    await this.page.keyboard.press("Escape");
    await this.page.keyboard.press("F1");
    await this.page.waitForSelector(".quick-input-widget input", { visible: true, timeout: 20000 });
    await this.page.keyboard.type(title, { delay: 15 });
    const first = await this.waitFor(`palette entry "${title}"`, async () => {
      const rows = await this.paletteRows();
      return rows.length > 0 && rows[0].toLowerCase().includes(title.toLowerCase()) ? rows[0] : undefined;
    }, 15000).catch(async (error) => {
      throw new Error(`${error.message}; palette shows: ${JSON.stringify(await this.paletteRows())}`);
    });
    this.note(`palette: ${title} (first entry: ${first})`);
    await this.page.keyboard.press("Enter");
  }

  async paletteRows() {
    return this.page.$$eval(".quick-input-widget .quick-input-list .monaco-list-row", (rows) =>
      rows
        .sort((a, b) => Number(a.getAttribute("data-index")) - Number(b.getAttribute("data-index")))
        .map((r) => (r.querySelector(".label-name") || r).textContent.replace(/\s+/g, " ").trim())
    );
  }

  /** Answer the input box VS Code shows (showInputBox) whose prompt matches `prompt`. */
  async answerInput(prompt, text) {
    await this.waitFor(`input box "${prompt}"`, async () => this.inputShows(prompt));
    await this.page.keyboard.type(text, { delay: 5 });
    this.note(`input "${prompt}": ${text}`);
    await this.page.keyboard.press("Enter");
  }

  /** Texts of the notification toasts on screen (with their buttons). */
  async notifications() {
    return this.page.$$eval(".notifications-toasts .notification-toast", (toasts) =>
      toasts.map((t) => ({
        message: (t.querySelector(".notification-list-item-message") || t).textContent.replace(/\s+/g, " ").trim(),
        buttons: [...t.querySelectorAll(".notification-list-item-buttons-container .monaco-button")].map((b) => b.textContent.trim()),
        progress: !!t.querySelector(".monaco-progress-container.active, .monaco-progress-container.infinite"),
      }))
    );
  }

  /** Messages in the notification center (where VS Code moves toasts it does not show). */
  async centerMessages() {
    const toggle = async () =>
      this.page.evaluate(() => {
        const bell = document.getElementById("status.notifications");
        const target = bell && (bell.querySelector("a") || bell);
        if (target) target.click();
        return !!target;
      });
    const open = () => this.page.evaluate(() => {
      const center = document.querySelector(".notifications-center");
      return !!center && center.classList.contains("visible");
    });
    if (!(await open())) {
      await toggle();
      await sleep(300);
    }
    const messages = await this.page.$$eval(".notifications-center .notification-list-item-message", (items) =>
      items.map((i) => i.textContent.replace(/\s+/g, " ").trim())
    );
    if (await open()) {
      await toggle();
    }
    return messages;
  }

  async waitForNotification(pattern, timeoutMs = 60000) {
    let probes = 0;
    const found = await this.waitFor(`a notification matching ${pattern}`, async () => {
      const all = await this.notifications();
      const toast = all.find((n) => pattern.test(n.message));
      if (toast || ++probes % 8 !== 0) {
        return toast;
      }
      // Toasts can be hidden at once (VS Code keeps a few); the center has every notification.
      const message = (await this.centerMessages()).find((m) => pattern.test(m));
      return message ? { message, buttons: [], progress: false, fromCenter: true } : undefined;
    }, timeoutMs).catch(async (error) => {
      throw new Error(`${error.message}; notifications: ${JSON.stringify(await this.notifications())}`);
    });
    this.note(`notification: ${found.message} [${found.buttons.join(" | ")}]`);
    return found;
  }

  /** Click the button labelled `label` on the notification matching `pattern` (toast or center). */
  async clickNotificationButton(pattern, label) {
    await this.waitForNotification(pattern);
    const click = (container) =>
      this.page.evaluate(
        (source, flags, wanted, where) => {
          const re = new RegExp(source, flags);
          for (const item of document.querySelectorAll(`${where} .notification-list-item`)) {
            const message = (item.querySelector(".notification-list-item-message") || item).textContent;
            if (!re.test(message.replace(/\s+/g, " "))) continue;
            for (const button of item.querySelectorAll(".notification-list-item-buttons-container .monaco-button")) {
              if (button.textContent.trim() === wanted) {
                button.click();
                return true;
              }
            }
          }
          return false;
        },
        pattern.source,
        pattern.flags,
        label,
        container
      );
    let clicked = await click(".notifications-toasts");
    if (!clicked) {
      // The toast was hidden: its buttons are on the same notification in the center.
      await this.page.evaluate(() => {
        const center = document.querySelector(".notifications-center");
        if (!center || !center.classList.contains("visible")) {
          const bell = document.getElementById("status.notifications");
          (bell && (bell.querySelector("a") || bell))?.click();
        }
      });
      await sleep(500);
      clicked = await click(".notifications-center");
      await this.page.evaluate(() => {
        const center = document.querySelector(".notifications-center");
        if (center && center.classList.contains("visible")) {
          const bell = document.getElementById("status.notifications");
          (bell && (bell.querySelector("a") || bell))?.click();
        }
      });
    }
    if (!clicked) {
      throw new Error(`no "${label}" button on the notification ${pattern}: ${JSON.stringify(await this.notifications())}`);
    }
    this.note(`clicked "${label}" on ${pattern}`);
  }

  async clearNotifications() {
    await this.page.evaluate(() => {
      for (const button of document.querySelectorAll(".notifications-toasts .codicon-notifications-clear, .notifications-toasts .codicon-close")) {
        button.click();
      }
    });
  }

  /** Quick Open a file of the workspace (Ctrl+P). */
  async openFile(name) {
    await this.page.keyboard.press("Escape");
    await this.page.keyboard.down("Control");
    await this.page.keyboard.press("KeyP");
    await this.page.keyboard.up("Control");
    await this.page.waitForSelector(".quick-input-widget input", { visible: true, timeout: 20000 });
    await this.page.keyboard.type(name, { delay: 15 });
    await this.waitFor(`quick open finding ${name}`, async () => (await this.paletteRows()).some((r) => r.includes(name)));
    await this.page.keyboard.press("Enter");
    await this.waitFor(`editor tab ${name}`, async () => (await this.activeTab()) === name);
  }

  async activeTab() {
    return this.page.evaluate(() => {
      const tab = document.querySelector(".part.editor .tab.active .label-name, .part.editor .tab.active .monaco-icon-label");
      return tab ? tab.textContent.trim() : undefined;
    });
  }

  /** Whether the active editor tab shows unsaved changes. */
  async activeTabDirty() {
    return this.page.evaluate(() => !!document.querySelector(".part.editor .tab.active.dirty"));
  }

  /** Select the whole text of the active editor. */
  async selectAll() {
    const lines = ".editor-group-container.active .editor-instance .monaco-editor .view-lines";
    await this.page.waitForSelector(lines, { visible: true, timeout: 20000 });
    await this.page.click(lines);
    await this.page.keyboard.down("Control");
    await this.page.keyboard.press("KeyA");
    await this.page.keyboard.up("Control");
  }

  /** The text of the active (non-diff) editor, as rendered (fine for short files). */
  async editorText() {
    return this.page.evaluate(() => {
      const editors = [...document.querySelectorAll(".editor-group-container.active .editor-instance .monaco-editor")].filter((e) => e.offsetParent !== null);
      const editor = editors.find((e) => e.classList.contains("focused")) || editors[editors.length - 1];
      if (!editor) return "";
      const lines = [...editor.querySelectorAll(".view-lines .view-line")];
      lines.sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));
      return lines.map((l) => l.textContent.replace(/\u00a0/g, " ")).join("\n");
    });
  }

  /** The titles of every editor tab. */
  async tabs() {
    return this.page.$$eval(".part.editor .tab", (tabs) => tabs.map((t) => t.textContent.replace(/\s+/g, " ").trim()));
  }

  async outputText() {
    return this.page.evaluate(() => {
      const el = document.querySelector(".part.panel .view-lines");
      if (!el) return "";
      const lines = [...el.querySelectorAll(".view-line")];
      lines.sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));
      return lines.map((l) => l.textContent.replace(/\u00a0/g, " ")).join("\n");
    });
  }

  async statusBarTexts() {
    return this.page.$$eval(".part.statusbar .statusbar-item", (items) => items.map((i) => i.textContent.replace(/\s+/g, " ").trim()).filter(Boolean));
  }

  async clickStatusBarItem(pattern) {
    const clicked = await this.page.evaluate((source) => {
      const re = new RegExp(source);
      for (const item of document.querySelectorAll(".part.statusbar .statusbar-item")) {
        if (re.test(item.textContent)) {
          (item.querySelector("a") || item).click();
          return true;
        }
      }
      return false;
    }, pattern.source);
    if (!clicked) {
      throw new Error(`no status bar item ${pattern}: ${JSON.stringify(await this.statusBarTexts())}`);
    }
  }

  /** The frame of a webview whose document has `selector` (webviews are nested iframes). */
  async webviewFrame(selector, timeoutMs = 30000) {
    return this.waitFor(`a webview with ${selector}`, async () => {
      for (const frame of this.page.frames()) {
        try {
          if (await frame.$(selector)) {
            return frame;
          }
        } catch {
          // a frame that navigated away
        }
      }
      return undefined;
    }, timeoutMs);
  }

  /** Texts of the rows of a tree view in the side bar, by the view's title. */
  async treeRows(viewTitle) {
    return this.page.evaluate((title) => {
      for (const pane of document.querySelectorAll(".part.sidebar .pane")) {
        const header = pane.querySelector(".pane-header");
        if (header && header.textContent.toLowerCase().includes(title.toLowerCase())) {
          return [...pane.querySelectorAll(".monaco-list-row")].map((r) => r.textContent.replace(/\s+/g, " ").trim());
        }
      }
      return [];
    }, viewTitle);
  }

  /** Click an inline action (by its title) on the tree row whose text matches `rowPattern`. */
  async clickTreeAction(viewTitle, rowPattern, actionTitle) {
    const clicked = await this.page.evaluate((title, source, action) => {
      const re = new RegExp(source);
      for (const pane of document.querySelectorAll(".part.sidebar .pane")) {
        const header = pane.querySelector(".pane-header");
        if (!header || !header.textContent.toLowerCase().includes(title.toLowerCase())) continue;
        for (const row of pane.querySelectorAll(".monaco-list-row")) {
          if (!re.test(row.textContent)) continue;
          const button = [...row.querySelectorAll(".action-label")].find(
            (a) => (a.getAttribute("aria-label") || a.title || "").startsWith(action)
          );
          if (button) {
            button.click();
            return true;
          }
        }
      }
      return false;
    }, viewTitle, rowPattern.source, actionTitle);
    if (!clicked) {
      throw new Error(`no "${actionTitle}" action on a ${viewTitle} row matching ${rowPattern}: ${JSON.stringify(await this.treeRows(viewTitle))}`);
    }
    this.note(`tree ${viewTitle}: ${actionTitle} on ${rowPattern}`);
  }

  /**
   * Click a tree row's inline action until `opened` (a probe) sees what it opens.
   *
   * A tree that is refreshing (after a rename, say) replaces its rows: a click can land on a
   * row VS Code has just let go of, and then nothing happens. Each try waits `perTryMs` for the
   * result before clicking again on the row as it is now; a result that did open stops it, so a
   * command never runs twice.
   */
  async clickTreeActionUntil(viewTitle, rowPattern, actionTitle, what, opened, tries = 3, perTryMs = 8000) {
    for (let attempt = 1; ; attempt += 1) {
      await this.clickTreeAction(viewTitle, rowPattern, actionTitle);
      const deadline = Date.now() + perTryMs;
      while (Date.now() < deadline) {
        if (await opened().catch(() => false)) {
          return;
        }
        await sleep(250);
      }
      if (attempt >= tries) {
        await this.shot(`timeout-${what.replace(/[^a-z0-9]+/gi, "-").slice(0, 40)}`);
        throw new Error(`${actionTitle} on ${rowPattern} opened no ${what} in ${tries} clicks`);
      }
      this.note(`${actionTitle}: no ${what} yet; clicking again (the tree may have refreshed)`);
    }
  }

  /** True while VS Code's modal dialog shows a button labelled `label`. */
  async dialogHasButton(label) {
    return this.page.evaluate((wanted) =>
      [...document.querySelectorAll(".monaco-dialog-box .monaco-button")].some((b) => b.textContent.trim() === wanted),
      label
    );
  }

  /** True while the quick input shows `prompt`. */
  async inputShows(prompt) {
    return this.page.evaluate((wanted) => {
      const widget = document.querySelector(".quick-input-widget");
      if (!widget || widget.style.display === "none" || widget.offsetParent === null) return false;
      return widget.textContent.toLowerCase().includes(wanted.toLowerCase());
    }, prompt);
  }

  /** Click the button labelled `label` in VS Code's modal dialog. */
  async clickDialogButton(label) {
    await this.waitFor(`a dialog with a "${label}" button`, async () =>
      this.page.evaluate((wanted) => {
        for (const button of document.querySelectorAll(".monaco-dialog-box .monaco-button")) {
          if (button.textContent.trim() === wanted) {
            button.click();
            return true;
          }
        }
        return false;
      }, label)
    );
    this.note(`dialog: ${label}`);
  }

  async close() {
    await this.browser.close().catch(() => undefined);
  }
}

/**
 * Open code-server at `options.url` in headless chromium and wait for the workbench.
 * options: { url, shots (screenshot folder), pgid (code-server's process group), profile }
 */
async function open(options) {
  const browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    userDataDir: options.profile,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900"],
    defaultViewport: { width: 1400, height: 900 },
  });
  const page = await browser.newPage();
  const vs = new VSCode(browser, page, options);
  page.on("pageerror", (error) => vs.note(`[page error] ${String(error).slice(0, 200)}`));
  await page.goto(options.url, { waitUntil: "domcontentloaded", timeout: 90000 });
  await page.waitForSelector(".monaco-workbench", { timeout: 90000 });
  vs.note("workbench visible");
  return vs;
}

/** Run `scenario(vs)`; exit 0 when it passes, 1 with the error (and a screenshot) when not. */
async function main(scenario) {
  const options = {
    url: process.env.CS_URL,
    shots: process.env.SHOTS,
    pgid: process.env.CS_PGID,
    profile: process.env.CHROME_PROFILE,
    workspace: process.env.WORKSPACE,
  };
  let vs;
  let rc = 1;
  try {
    vs = await open(options);
    await scenario(vs, options);
    vs.note("RESULT: PASS");
    rc = 0;
  } catch (error) {
    console.error(`RESULT: FAIL: ${error && error.stack ? error.stack : error}`);
    if (vs) {
      await vs.shot("failure").catch(() => undefined);
      console.error(`notifications at failure: ${JSON.stringify(await vs.notifications().catch(() => []))}`);
      console.error(`output channel at failure:\n${await vs.outputText().catch(() => "")}`);
    }
  } finally {
    if (vs) {
      await vs.close();
    }
  }
  process.exit(rc);
}

module.exports = { open, main, sleep, VSCode };
