// Pulls tasks from the host and runs them: platforms in parallel, one platform's tasks one
// after the other (the host hands out at most one per platform, and the platform would not
// like two concurrent steps of the same seller anyway).

export const TASKS_LIST_LIMIT = 10;

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
    try {
      // Naming the attempt lets the host tell a resent report from a new one.
      const result = { ...(await this.execute(task)) };
      if (Number.isInteger(task.attempt)) result.attempt = task.attempt;
      let answer;
      try {
        answer = await this.request("tasks.result", result);
      } catch (error) {
        // Host gone or lease lost: the host recovers the lease and hands the step out again;
        // there is nobody else to tell.
        this.log.warn(`tasks.result for task ${task.id} not delivered:`, error.message);
        return;
      }
      this.notifyResult(task, result, answer);
    } finally {
      this.inFlight.delete(task.id);
    }
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
