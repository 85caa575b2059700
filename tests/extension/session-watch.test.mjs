// Automatic resume after the seller logs in again.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isSessionCookieChange, SessionWatcher } from "../../extension/src/session-watch.js";
import { flush, ManualClock } from "./helpers.mjs";

const quietLog = { warn() {}, error() {} };
const sessionCookie = (value, extra = {}) => ({ removed: false, cause: "explicit", cookie: { name: "_vinted_fr_session", domain: ".vinted.fr", value, ...extra } });

function setup({ paused = [{ id: 4, platform: "vinted", status: "paused" }], existing = [] } = {}) {
  const clock = new ManualClock();
  const calls = [];
  const request = async (method, params) => {
    calls.push({ method, params });
    if (method === "queues.list") return paused;
    return { id: params.queue_id, status: "queued" };
  };
  const watcher = new SessionWatcher({ request, getSessionCookies: async () => existing, log: quietLog, now: clock.now, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout });
  return { clock, calls, watcher };
}

const expired = { success: false, error_kind: "session_expired" };
const vintedTask = { id: 1, platform: "vinted" };

test("recognises session cookies of Vinted domains only", () => {
  assert.equal(isSessionCookieChange(sessionCookie("v")), true);
  assert.equal(isSessionCookieChange(sessionCookie("v", { domain: "www.vinted.co.uk" })), true);
  assert.equal(isSessionCookieChange(sessionCookie("v", { domain: ".vinted.de", name: "_vinted_de_session" })), true);
  assert.equal(isSessionCookieChange({ ...sessionCookie("v"), removed: true }), false);
  assert.equal(isSessionCookieChange(sessionCookie("v", { name: "anon_id" })), false);
  assert.equal(isSessionCookieChange(sessionCookie("v", { domain: ".evil-vinted.fr" })), false);
  assert.equal(isSessionCookieChange(sessionCookie("v", { domain: ".vinted.fr.evil.com" })), false);
  assert.equal(isSessionCookieChange({}), false);
});

test("after session_expired, a new session cookie resumes the paused queues", async () => {
  const { clock, calls, watcher } = setup({ paused: [{ id: 4, platform: "vinted", status: "paused" }, { id: 5, platform: "vinted", status: "paused" }, { id: 6, platform: "ebay", status: "paused" }] });
  watcher.noteResult(vintedTask, expired);
  await flush();
  watcher.onCookieChanged(sessionCookie("logged-in"));
  watcher.onCookieChanged(sessionCookie("logged-in-2")); // bursts are debounced
  assert.deepEqual(calls, []);
  await clock.advance(2_000);
  assert.deepEqual(calls, [
    { method: "queues.list", params: { status: "paused", platform: "vinted" } },
    { method: "queues.resume", params: { queue_id: 4 } },
    { method: "queues.resume", params: { queue_id: 5 } },
  ]);
  assert.equal(watcher.armed, false);
});

test("cookie changes are ignored while not armed", async () => {
  const { clock, calls, watcher } = setup();
  watcher.onCookieChanged(sessionCookie("x"));
  watcher.noteResult(vintedTask, { success: false, error_kind: "http" });
  watcher.noteResult({ id: 2, platform: "ebay" }, expired);
  await flush();
  watcher.onCookieChanged(sessionCookie("y"));
  await clock.advance(10_000);
  assert.deepEqual(calls, []);
});

test("a cookie value that was already there (set by the 401 itself) does not count", async () => {
  const { clock, calls, watcher } = setup({ existing: [{ name: "_vinted_fr_session", domain: ".vinted.fr", value: "anonymous" }] });
  watcher.noteResult(vintedTask, expired);
  await flush();
  watcher.onCookieChanged(sessionCookie("anonymous"));
  await clock.advance(5_000);
  assert.deepEqual(calls, []);
  watcher.onCookieChanged(sessionCookie("fresh-login"));
  await clock.advance(2_000);
  assert.equal(calls[0].method, "queues.list");
});

test("futile resumes space out exponentially", async () => {
  const { clock, calls, watcher } = setup();
  const resumeTimes = [];
  const countResumes = () => calls.filter((c) => c.method === "queues.list").length;
  for (let round = 0; round < 3; round += 1) {
    watcher.noteResult(vintedTask, expired); // the resumed step failed again
    await flush();
    watcher.onCookieChanged(sessionCookie(`anon-${round}`));
    const before = countResumes();
    while (countResumes() === before) await clock.advance(1_000);
    resumeTimes.push(clock.now());
  }
  const gaps = [resumeTimes[1] - resumeTimes[0], resumeTimes[2] - resumeTimes[1]];
  assert.ok(gaps[0] >= 120_000 && gaps[0] < 125_000, `second gap ${gaps[0]}`);
  assert.ok(gaps[1] >= 240_000 && gaps[1] < 245_000, `third gap ${gaps[1]}`);
});

test("a success resets the spacing", async () => {
  const { clock, calls, watcher } = setup();
  watcher.noteResult(vintedTask, expired);
  await flush();
  watcher.onCookieChanged(sessionCookie("a"));
  await clock.advance(2_000);
  watcher.noteResult(vintedTask, { success: true });
  await clock.advance(60_000);
  watcher.noteResult(vintedTask, expired);
  await flush();
  watcher.onCookieChanged(sessionCookie("b"));
  await clock.advance(2_000);
  assert.equal(calls.filter((c) => c.method === "queues.list").length, 2);
});

test("a failed listing keeps the watcher armed", async () => {
  const clock = new ManualClock();
  let fail = true;
  const calls = [];
  const watcher = new SessionWatcher({
    request: async (method) => {
      calls.push(method);
      if (fail) throw new Error("not connected");
      return [];
    },
    log: quietLog, now: clock.now, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout,
  });
  await watcher.arm();
  watcher.onCookieChanged(sessionCookie("a"));
  await clock.advance(2_000);
  assert.equal(watcher.armed, true);
  fail = false;
  watcher.onCookieChanged(sessionCookie("b"));
  await clock.advance(60_000);
  assert.deepEqual(calls, ["queues.list", "queues.list"]);
});
