// What the language server tells the extension about runs (docs/lsp.md, "Notifications for
// clients that draw runs themselves"), as VS Code events the views subscribe to.
import * as vscode from "vscode";

export interface Todo {
  content: string;
  status: "pending" | "in_progress" | "completed";
}

export interface ActionRequest {
  id: string;
  tool: string;
  description?: string;
  path?: string | null;
  diff?: string | null;
}

// The agent event union of luminamind/agent/events.py, with the fields the extension reads.
export interface AgentEvent {
  type:
    | "run_started"
    | "text_delta"
    | "reasoning_delta"
    | "tool_started"
    | "tool_finished"
    | "todos_changed"
    | "subagent_started"
    | "subagent_finished"
    | "approval_requested"
    | "final_answer"
    | "error";
  thread_id: string;
  agent?: string;
  text?: string;
  tool?: string;
  tool_call_id?: string;
  arguments?: Record<string, unknown>;
  status?: string;
  duration_ms?: number | null;
  todos?: Todo[];
  subagent?: string;
  task?: string;
  requests?: ActionRequest[];
  message?: string;
  code?: string;
}

export interface EventParams {
  threadId: string;
  event: AgentEvent;
}

export interface RunEndedParams {
  threadId: string;
  title: string;
  outcome: string; // done | cancelled | waiting for approval | error: ...
}

export const EVENT_METHOD = "luminamind/event";
export const RUN_ENDED_METHOD = "luminamind/runEnded";

export const agentEvents = new vscode.EventEmitter<EventParams>();
export const runEnded = new vscode.EventEmitter<RunEndedParams>();

/** One line for a progress notification, or undefined for events not worth one. */
export function describeEvent(event: AgentEvent): string | undefined {
  switch (event.type) {
    case "run_started":
      return "started";
    case "todos_changed": {
      const todos = event.todos ?? [];
      const done = todos.filter((t) => t.status === "completed").length;
      const current = todos.find((t) => t.status === "in_progress");
      return `plan ${done}/${todos.length}` + (current ? `: ${current.content}` : "");
    }
    case "tool_started":
      return event.agent && event.agent !== "main" ? `${event.agent}: ${event.tool}…` : `${event.tool}…`;
    case "tool_finished":
      return `${event.tool} ${event.status === "ok" ? "done" : "failed"}`;
    case "subagent_started":
      return `delegating to ${event.subagent}`;
    case "subagent_finished":
      return `${event.subagent} finished`;
    case "approval_requested":
      return "waiting for your approval: " + (event.requests ?? []).map((r) => r.tool).join(", ");
    case "text_delta":
      return "writing the answer…";
    case "reasoning_delta":
      return event.agent && event.agent !== "main" ? `${event.agent}: thinking…` : "thinking…";
    case "final_answer":
      return "done";
    case "error":
      return `error: ${(event.message ?? "").slice(0, 120)}`;
  }
  return undefined;
}
