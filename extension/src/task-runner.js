// Pulls tasks from the host and runs them: platforms in parallel, one platform's tasks one
// after the other (the host hands out at most one per platform, and the platform would not
// like two concurrent steps of the same seller anyway).

import { RpcError } from "./rpc.js";

export const TASKS_LIST_LIMIT = 10;
// Reports kept for a host that went away; a handful at most in practice (one per platform).
const MAX_UNDELIVERED = 50;

export class TaskRunner {
  /**
   * @param {object} deps
   * @param {(method: string, params: object) => Promise<any>} deps.request host RPC
   * @param {(task: object) => Promise<object>} deps.execute never rejects; returns tasks.result params
   * @param {(task: object, result: object, answer: any) => void} [deps.onResult] after the host took a result
   */
  constructor({ request, execute, onResult = () => {}, log = console }) {
    Object.assign(this, { request, execute, onResult, log });
    this.chains = new Map(); // platform → promise of its last queued task
    this.inFlight = new Set(); // task ids queued or running, so a repeated listing never runs a task twice
    this.undelivered = new Map(); // task id → a success report the host never received
    this.pulling = null;
    this.pullAgain = false;
  }

  /**
   * Asks the host for ready tasks. Calls that arrive while a listing is under way are folded
   * into one more listing afterwards, so bursts of tasks.available cost at most two calls.
   */
  pull() {
    if (this.pulling) {
      this.pullAgain = true;
      return this.pulling;
    }
    this.pulling = this.pullLoop().finally(() => {
      this.pulling = null;
    });
    return this.pulling;
  }

  async pullLoop() {
    do {
      this.pullAgain = false;
      let tasks;
      try {
        tasks = await this.request("tasks.list", { limit: TASKS_LIST_LIMIT });
      } catch (error) {
        // Not connected or the host failed: the next tasks.available or hello will pull again.
        this.log.warn("tasks.list failed:", error.message);
        return;
      }
      for (const task of Array.isArray(tasks) ? tasks : []) this.enqueue(task);
    } while (this.pullAgain);
  }

  enqueue(task) {
    if (task === null || typeof task !== "object" || task.id === undefined || task.id === null) {
      this.log.warn("ignoring a task without id", task);
      return;
    }
    if (this.inFlight.has(task.id)) return;
    this.inFlight.add(task.id);
    const platform = String(task.platform);
    const previous = this.chains.get(platform) ?? Promise.resolve();
    // The catch keeps one broken task from stalling its platform's chain.
    const current = previous.then(() => this.runOne(task)).catch((error) => this.log.error(`task ${task.id} crashed`, error));
    this.chains.set(platform, current);
    current.finally(() => {
      if (this.chains.get(platform) === current) this.chains.delete(platform);
    });
  }

  async runOne(task) {
    let next = null;
    try {
      const result = this.undelivered.get(task.id) ?? (await this.executeOnce(task));
      let answer;
      try {
        // The host leases the platform's next step in the same commit as this result and
        // returns it: one durable write per step, and no tasks.list in between.
        answer = await this.request("tasks.result", { ...result, lease_next: true });
      } catch (error) {
        this.keepIfUndelivered(task, result, error);
        return;
      }
      this.undelivered.delete(task.id);
      this.notifyResult(task, result, answer);
      next = answer?.next_task ?? null;
    } finally {
      this.inFlight.delete(task.id);
    }
    // After the finally: a retried step comes back with the same id.
    if (next !== null && typeof next === "object") this.enqueue(next);
  }

  async executeOnce(task) {
    // Naming the attempt lets the host tell a resent report from a new one.
    const result = { ...(await this.execute(task)) };
    if (Number.isInteger(task.attempt)) result.attempt = task.attempt;
    return result;
  }

  /**
   * The host went away (restarted, disconnected) after the platform did the work: the step
   * comes back as a later attempt, and the kept report, which names its own attempt, is sent
   * instead of doing the work twice (a second photo upload, a second draft). Failures are not
   * kept: running them again is the retry. A report the host answered with an error is not
   * kept either: it would be refused again.
   */
  keepIfUndelivered(task, result, error) {
    this.log.warn(`tasks.result for task ${task.id} not delivered:`, error.message);
    if (!result.success || error instanceof RpcError) return;
    this.undelivered.delete(task.id);
    this.undelivered.set(task.id, result);
    if (this.undelivered.size > MAX_UNDELIVERED) this.undelivered.delete(this.undelivered.keys().next().value);
  }

  notifyResult(task, result, answer) {
    try {
      this.onResult(task, result, answer);
    } catch (error) {
      this.log.error("onResult failed", error);
    }
  }

  /** Resolves when every queued task has finished (tests, diagnostics). */
  async idle() {
    while (this.pulling || this.chains.size > 0) {
      await Promise.allSettled([this.pulling, ...this.chains.values()]);
    }
  }
}
