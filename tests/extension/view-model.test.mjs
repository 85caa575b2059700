// What the popup shows for each queue and connection state.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ACTION_METHODS, describeConnection, describeQueue, loginUrl } from "../../extension/src/view-model.js";

const queue = (fields) => ({ id: 9, platform: "vinted", operation: "publish", product_id: 12, status: "processing", current_step: "upload_photo_2", error_message: null, progress: { done: 1, total: 4, current_step: "upload_photo_2" }, ...fields });

test("a running queue: badge, step k of n with the step name, cancel only", () => {
  const view = describeQueue(queue({}));
  assert.equal(view.title, "vinted · publish · product 12");
  assert.equal(describeQueue(queue({ product_title: "Levi's 501" })).title, "Levi's 501 · vinted");
  assert.deepEqual(view.badge, { label: "Running", tone: "info" });
  assert.deepEqual(view.progress, { text: "Step 2 of 4 · upload_photo_2", fraction: 0.25 });
  assert.deepEqual(view.actions, ["cancel"]);
  assert.equal(view.error, null);
  assert.equal(view.pausedReason, null);
});

test("a failed queue shows its error with Retry and Cancel", () => {
  const view = describeQueue(queue({ status: "failed", error_message: "HTTP 422: title too short" }));
  assert.equal(view.badge.tone, "error");
  assert.equal(view.error, "HTTP 422: title too short");
  assert.deepEqual(view.actions, ["retry", "cancel"]);
});

test("a paused queue shows why, with Resume", () => {
  const view = describeQueue(queue({ status: "paused", paused_reason: "Vinted session expired: log in again" }));
  assert.equal(view.pausedReason, "Vinted session expired: log in again");
  assert.deepEqual(view.actions, ["resume", "cancel"]);
});

test("a completed queue is full and has no actions", () => {
  const view = describeQueue(queue({ status: "completed", progress: { done: 4, total: 4, current_step: null } }));
  assert.deepEqual(view.progress, { text: "Step 4 of 4", fraction: 1 });
  assert.deepEqual(view.actions, []);
});

test("progress without totals falls back to the step name; odd values are clamped", () => {
  assert.deepEqual(describeQueue(queue({ progress: undefined })).progress, { text: "upload_photo_2", fraction: null });
  assert.equal(describeQueue(queue({ progress: undefined, current_step: null })).progress, null);
  assert.deepEqual(describeQueue(queue({ progress: { done: 9, total: 4 }, current_step: null })).progress, { text: "Step 4 of 4", fraction: 1 });
  assert.deepEqual(describeQueue(queue({ progress: { done: -3, total: 2 }, current_step: null })).progress, { text: "Step 1 of 2", fraction: 0 });
});

test("unknown statuses still render", () => {
  const view = describeQueue(queue({ status: "weird", product_id: null }));
  assert.equal(view.badge.label, "weird");
  assert.equal(view.title, "vinted · publish");
  assert.deepEqual(view.actions, []);
});

test("connection states", () => {
  assert.deepEqual(describeConnection({ state: "connected", host_version: "1.4.0", message: "Connected." }), { label: "Connected", tone: "ok", state: "connected", connected: true, detail: "", hostVersion: "1.4.0" });
  const missing = describeConnection({ state: "not_installed", message: "The StoFlow host is not installed.", retry_in_ms: 4000 });
  assert.equal(missing.label, "Host not installed");
  assert.equal(missing.detail, "The StoFlow host is not installed. Retrying in 4 s.");
  assert.equal(missing.connected, false);
  assert.equal(describeConnection(undefined).state, "connecting");
  assert.equal(describeConnection({ state: "disconnected" }).label, "Host stopped");
});

test("login link and action methods", () => {
  assert.equal(loginUrl("www.vinted.de"), "https://www.vinted.de/");
  assert.deepEqual(ACTION_METHODS, { retry: "queues.retry", cancel: "queues.cancel", resume: "queues.resume" });
});
