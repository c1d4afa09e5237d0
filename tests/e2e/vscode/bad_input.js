// What a user sees when the server cannot run (run by tests/e2e/test_vscode.py): no executable,
// a server that exits at start, a wrong model setting. Each case changes luminamind.serverPath
// in the user settings (as a user would) and restarts the server from the palette.
"use strict";
const fs = require("fs");
const { main } = require(process.env.HARNESS);

const settingsFile = process.env.SETTINGS_FILE;

/** In the open Settings editor, replace the Server Path field's `current` text by `value`. */
async function setServerPath(vs, current, value) {
  const marked = await vs.waitFor("the Server Path field", async () =>
    vs.page.evaluate((wanted) => {
      for (const input of document.querySelectorAll("input, textarea")) {
        if (input.value === wanted && input.offsetParent !== null) {
          input.setAttribute("data-lm-field", "1");
          return true;
        }
      }
      return false;
    }, current)
  );
  void marked;
  // Set the text and fire the input event the field listens to: typed keys can land in the
  // settings search box while the editor still moves the focus.
  await vs.page.evaluate((text) => {
    const field = document.querySelector("[data-lm-field]");
    field.focus();
    field.value = text;
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }, value);
  await vs.page.keyboard.press("Tab");
  await vs.waitFor(`luminamind.serverPath = ${value} in the settings file`, async () =>
    JSON.parse(fs.readFileSync(settingsFile, "utf8"))["luminamind.serverPath"] === value
  );
  await vs.page.evaluate(() => document.querySelector("[data-lm-field]")?.removeAttribute("data-lm-field"));
  await vs.page.keyboard.press("Escape");
  vs.note(`luminamind.serverPath = ${value}`);
}

main(async (vs) => {
  // 1. No such executable: one notification saying so, whose button opens the setting.
  const missing = /cannot find the luminamind executable \('\/nonexistent\/luminamind' is not an executable file\)/;
  await vs.waitForNotification(missing, 90000);
  await vs.waitFor("the status bar to say the server stopped", async () =>
    (await vs.statusBarTexts()).some((t) => t.includes("LuminaMind: server stopped"))
  );
  await vs.shot("no-executable");
  await vs.clickNotificationButton(missing, "Open Setting");
  await vs.waitFor("the Settings editor on luminamind.serverPath", async () =>
    vs.page.evaluate(() => !!document.querySelector(".settings-editor") && document.body.textContent.includes("Server Path"))
  );
  await vs.shot("setting-opened");
  check(vs.lspProcesses().length === 0, "no server should run");

  // 2. A server that exits at start: the user gets its reason, not "crashed 5 times".
  await setServerPath(vs, "/nonexistent/luminamind", process.env.EXITING_SERVER);
  await vs.runCommand("LuminaMind: Restart Language Server");
  const exited = /LuminaMind: the language server (exited at start|failed to start): .*no model for you/;
  await vs.waitForNotification(exited, 60000);
  await vs.shot("server-exits-at-start");
  const crashed = (await vs.notifications()).filter((n) => /crashed 5 times/.test(n.message));
  check(crashed.length === 0, "the user was told the server crashed 5 times");

  // 3. A wrong model setting: the server starts and the user gets its message.
  await vs.clickNotificationButton(exited, "Open Setting");
  await setServerPath(vs, process.env.EXITING_SERVER, process.env.MISCONFIGURED_SERVER);
  await vs.runCommand("LuminaMind: Restart Language Server");
  await vs.waitForNotification(/LUMINAMIND_MODEL__MAX_RETRIES: got 'lots'/, 60000);
  await vs.runCommand("LuminaMind: Run Task");
  await vs.answerInput("Task for LuminaMind", "anything");
  await vs.waitForNotification(/LuminaMind: LuminaMind's configuration is invalid/, 60000);
  await vs.shot("wrong-model-setting");

  // 4. No folder open: the commands say the agent works in a folder, with a button to open one.
  const empty = new URL(process.env.CS_URL);
  empty.search = "?ew=true";
  await vs.page.goto(empty.toString(), { waitUntil: "domcontentloaded", timeout: 90000 });
  await vs.page.waitForSelector(".monaco-workbench", { timeout: 90000 });
  await vs.waitFor("the LuminaMind status bar item", async () =>
    (await vs.statusBarTexts()).some((t) => t.includes("LuminaMind"))
  , 60000);
  await vs.runCommand("LuminaMind: Ask");
  await vs.waitForNotification(/LuminaMind works in a folder, and none is open/);
  await vs.shot("no-folder");
});

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}
