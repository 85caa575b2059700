// Task runner: one listing per burst, platforms in parallel, one platform in sequence,
// exactly one tasks.result per task.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RpcError, RpcUnavailable } from "../../extension/src/rpc.js";
import { TaskRunner } from "../../extension/src/task-runner.js";
import { flush } from "./helpers.mjs";

const quietLog = { warn() {}, error() {} };

function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

/** A fake host: tasks.list answers from a script, tasks.result is recorded. */
function fakeHost(listings) {
  const calls = [];
  const request = async (method, params) => {
    calls.push({ method, params });
    if (method === "tasks.list") return listings.shift() ?? [];
    if (method === "tasks.result") return { success: true, task_id: params.task_id, status: "success" };
    throw new Error(`unexpected ${method}`);
  };
  return { calls, request };
}

test("lists with limit 10 and sends one result per task", async () => {
  const host = fakeHost([[{ id: 1, platform: "vinted" }, { id: 2, platform: "ebay" }]]);
  const results = [];
  const runner = new TaskRunner({ request: host.request, execute: async (task) => ({ task_id: task.id, success: true, result: {} }), onResult: (task, result, answer) => results.push({ task: task.id, answer }), log: quietLog });
  await runner.pull();
  await runner.idle();
  assert.deepEqual(host.calls[0], { method: "tasks.list", params: { limit: 10 } });
  const sent = host.calls.filter((c) => c.method === "tasks.result").map((c) => c.params.task_id).sort();
  assert.deepEqual(sent, [1, 2]);
  assert.deepEqual(results.map((r) => r.answer.status), ["success", "success"]);
});

test("different platforms run concurrently, the same platform sequentially", async () => {
  const host = fakeHost([[{ id: 1, platform: "vinted" }, { id: 2, platform: "ebay" }], [{ id: 3, platform: "vinted" }]]);
  const gates = new Map([1, 2, 3].map((id) => [id, deferred()]));
  const started = [];
  const runner = new TaskRunner({
    request: host.request,
    execute: async (task) => {
      started.push(task.id);
      await gates.get(task.id).promise;
      return { task_id: task.id, success: true };
    },
    log: quietLog,
  });
  await runner.pull();
  await flush();
  assert.deepEqual(started.sort(), [1, 2], "vinted and ebay started together");
  await runner.pull(); // brings task 3 (vinted) while task 1 still runs
  await flush();
  assert.deepEqual(started.sort(), [1, 2], "task 3 waits for task 1");
  gates.get(1).resolve();
  await flush();
  assert.deepEqual(started.sort(), [1, 2, 3]);
  gates.get(2).resolve();
  gates.get(3).resolve();
  await runner.idle();
  const order = host.calls.filter((c) => c.method === "tasks.result").map((c) => c.params.task_id);
  assert.ok(order.indexOf(1) < order.indexOf(3));
});

test("a task listed again while in flight is not run twice", async () => {
  const task = { id: 5, platform: "vinted" };
  const host = fakeHost([[task], [task]]);
  const gate = deferred();
  let runs = 0;
  const runner = new TaskRunner({ request: host.request, execute: async () => { runs += 1; await gate.promise; return { task_id: 5, success: true }; }, log: quietLog });
  await runner.pull();
  await runner.pull();
  gate.resolve();
  await runner.idle();
  assert.equal(runs, 1);
  assert.equal(host.calls.filter((c) => c.method === "tasks.result").length, 1);
});

test("notifications during a listing are folded into one more listing", async () => {
  const gate = deferred();
  const calls = [];
  const request = async (method) => {
    calls.push(method);
    if (method === "tasks.list" && calls.length === 1) await gate.promise;
    return [];
  };
  const runner = new TaskRunner({ request, execute: async () => ({}), log: quietLog });
  const first = runner.pull();
  runner.pull();
  runner.pull();
  runner.pull();
  gate.resolve();
  await first;
  await runner.idle();
  assert.deepEqual(calls, ["tasks.list", "tasks.list"]);
});

test("a failed listing or undeliverable result does not break the runner", async () => {
  let failList = true;
  const calls = [];
  const request = async (method, params) => {
    calls.push(method);
    if (method === "tasks.list") {
      if (failList) throw new Error("not connected");
      return [{ id: 1, platform: "vinted" }, { id: 2, platform: "vinted" }];
    }
    if (params.task_id === 1) throw new Error("lease lost");
    return {};
  };
  const runner = new TaskRunner({ request, execute: async (task) => ({ task_id: task.id, success: true }), log: quietLog });
  await runner.pull();
  failList = false;
  await runner.pull();
  await runner.idle();
  assert.deepEqual(calls, ["tasks.list", "tasks.list", "tasks.result", "tasks.result"]);
});

test("a crashing execute does not stall the platform", async () => {
  const host = fakeHost([[{ id: 1, platform: "vinted" }], [{ id: 2, platform: "vinted" }]]);
  const runner = new TaskRunner({
    request: host.request,
    execute: async (task) => {
      if (task.id === 1) throw new Error("bug");
      return { task_id: task.id, success: true };
    },
    log: quietLog,
  });
  await runner.pull();
  await runner.pull();
  await runner.idle();
  assert.deepEqual(host.calls.filter((c) => c.method === "tasks.result").map((c) => c.params.task_id), [2]);
});

test("tasks without an id and non-array listings are ignored", async () => {
  const host = fakeHost([[null, { platform: "vinted" }, { id: 0, platform: "vinted" }], { not: "an array" }]);
  const ran = [];
  const runner = new TaskRunner({ request: host.request, execute: async (task) => { ran.push(task.id); return { task_id: task.id, success: true }; }, log: quietLog });
  await runner.pull();
  await runner.pull();
  await runner.idle();
  assert.deepEqual(ran, [0]);
});

test("a success the host never received is sent again, not executed again, when the step comes back", async () => {
  // The host restarts while the platform uploads: the step comes back as attempt 2.
  const listings = [[{ id: 5, platform: "vinted", attempt: 1 }], [{ id: 5, platform: "vinted", attempt: 2 }]];
  const sent = [];
  let hostUp = false;
  const request = async (method, params) => {
    if (method === "tasks.list") return listings.shift() ?? [];
    sent.push(params);
    if (!hostUp) throw new RpcUnavailable("not connected to the StoFlow host");
    return { success: true, task_id: params.task_id, status: "success" };
  };
  let executions = 0;
  const execute = async (task) => {
    executions += 1;
    return { task_id: task.id, success: true, http_status: 200, result: { id: 900 + executions } };
  };
  const runner = new TaskRunner({ request, execute, log: quietLog });
  await runner.pull();
  await runner.idle();
  hostUp = true;
  await runner.pull();
  await runner.idle();
  assert.equal(executions, 1, "the upload ran once");
  assert.equal(sent.length, 2);
  assert.deepEqual(sent[1], { task_id: 5, success: true, http_status: 200, result: { id: 901 }, attempt: 1, lease_next: true });
  assert.equal(runner.undelivered.size, 0);
});

test("the step leased with a result runs next, without a tasks.list", async () => {
  const calls = [];
  const request = async (method, params) => {
    calls.push(method === "tasks.list" ? "list" : `result ${params.task_id}${params.lease_next ? " +next" : ""}`);
    if (method === "tasks.list") return calls.length === 1 ? [{ id: 1, platform: "vinted", attempt: 1 }] : [];
    // Task 1 fails once (the host leases it again), then 2 follows, then nothing.
    const next = { 1: { id: 1, platform: "vinted", attempt: 2 }, 2: null }[params.task_id];
    if (params.task_id === 1 && !params.success) return { success: false, task_id: 1, status: "pending", next_task: next };
    return { success: true, task_id: params.task_id, status: "success", next_task: params.task_id === 1 ? { id: 2, platform: "vinted", attempt: 1 } : null };
  };
  const executed = [];
  const execute = async (task) => {
    executed.push(`${task.id}/${task.attempt}`);
    return { task_id: task.id, success: executed.length > 1, http_status: 200, result: {} };
  };
  const runner = new TaskRunner({ request, execute, log: quietLog });
  await runner.pull();
  await runner.idle();
  assert.deepEqual(executed, ["1/1", "1/2", "2/1"]);
  assert.deepEqual(calls, ["list", "result 1 +next", "result 1 +next", "result 2 +next"]);
});

test("failures and reports the host refused are not kept: the step runs again", async () => {
  const listings = [[{ id: 6, platform: "vinted", attempt: 1 }], [{ id: 6, platform: "vinted", attempt: 2 }], [{ id: 7, platform: "vinted", attempt: 1 }], [{ id: 7, platform: "vinted", attempt: 2 }]];
  const request = async (method, params) => {
    if (method === "tasks.list") return listings.shift() ?? [];
    if (params.task_id === 6) throw new RpcUnavailable("not connected");
    throw new RpcError({ code: -32001, message: "task 7 is not in flight" });
  };
  const executed = [];
  const execute = async (task) => {
    executed.push(`${task.id}/${task.attempt}`);
    return task.id === 6 ? { task_id: 6, success: false, error_kind: "network", error_message: "offline" } : { task_id: 7, success: true, result: {} };
  };
  const runner = new TaskRunner({ request, execute, log: quietLog });
  for (let i = 0; i < 4; i += 1) {
    await runner.pull();
    await runner.idle();
  }
  assert.deepEqual(executed, ["6/1", "6/2", "7/1", "7/2"]);
  assert.equal(runner.undelivered.size, 0);
});
