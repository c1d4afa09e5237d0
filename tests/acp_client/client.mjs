// A small ACP client on the official TypeScript SDK: spawns `luminamind acp`, opens a session in
// a workspace, sends one prompt, allows the permission request, serves fs/* from the disk (as an
// editor serves files it has not opened) and prints what happened as one JSON line.
// Usage: node client.mjs LUMINAMIND_BIN WORKSPACE PROMPT [SESSION_JSON]
// SESSION_JSON: extra session/new parameters (mcpServers, additionalDirectories).
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { Readable, Writable } from "node:stream";
import { client, methods, ndJsonStream, PROTOCOL_VERSION } from "@agentclientprotocol/sdk";

const [bin, workspace, promptText, sessionJson] = process.argv.slice(2);
const sessionExtra = sessionJson ? JSON.parse(sessionJson) : {};
const agent = spawn(bin, ["acp"], { cwd: workspace, stdio: ["pipe", "pipe", "inherit"] });
const stream = ndJsonStream(Writable.toWeb(agent.stdin), Readable.toWeb(agent.stdout));

const seen = { updates: [], permissions: [], reads: [], writes: [] };
const app = client({ name: "luminamind-e2e" })
  .onNotification(methods.client.session.update, ({ params }) => {
    seen.updates.push(params.update);
  })
  .onRequest(methods.client.session.requestPermission, ({ params }) => {
    seen.permissions.push({ toolCall: params.toolCall, options: params.options.map((o) => o.optionId) });
    return { outcome: { outcome: "selected", optionId: "allow_once" } };
  })
  .onRequest(methods.client.fs.readTextFile, async ({ params }) => {
    seen.reads.push(params.path);
    return { content: await readFile(params.path, "utf8") };
  })
  .onRequest(methods.client.fs.writeTextFile, async ({ params }) => {
    seen.writes.push(params.path);
    await writeFile(params.path, params.content, "utf8");
    return {};
  });

const result = await app.connectWith(stream, async (ctx) => {
  const init = await ctx.request(methods.agent.initialize, {
    protocolVersion: PROTOCOL_VERSION,
    clientCapabilities: { fs: { readTextFile: true, writeTextFile: true }, terminal: false },
    clientInfo: { name: "luminamind-e2e", version: "1.0.0" },
  });
  const session = await ctx.request(methods.agent.session.new, {
    cwd: workspace,
    mcpServers: [],
    ...sessionExtra,
  });
  const turn = await ctx.request(methods.agent.session.prompt, {
    sessionId: session.sessionId,
    prompt: [{ type: "text", text: promptText }],
  });
  const listed = await ctx.request(methods.agent.session.list, { cwd: workspace });
  return { init, session, turn, listed };
});
agent.stdin.end();
process.stdout.write(JSON.stringify({ ...result, ...seen }) + "\n");
await new Promise((resolve) => agent.on("exit", resolve));
