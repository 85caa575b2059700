// Reconnect back-off: 1 s doubling to 60 s, reset after a stable connection.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Backoff, backoffDelay } from "../../extension/src/backoff.js";

test("schedule doubles from 1 s and caps at 60 s", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 50, 1e9].map((n) => backoffDelay(n)), [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000]);
});

test("successive failures follow the schedule", () => {
  const backoff = new Backoff({ now: () => 0 });
  const delays = Array.from({ length: 9 }, () => backoff.nextDelay());
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
});

test("a connection that stayed up resets the schedule", () => {
  let time = 0;
  const backoff = new Backoff({ now: () => time, stableMs: 10_000 });
  backoff.nextDelay();
  backoff.nextDelay();
  backoff.nextDelay(); // next would be 8 s
  backoff.markConnected();
  time += 10_000;
  assert.equal(backoff.nextDelay(), 1000);
  assert.equal(backoff.nextDelay(), 2000);
});

test("a connection that dropped quickly keeps growing the delay", () => {
  let time = 0;
  const backoff = new Backoff({ now: () => time, stableMs: 10_000 });
  backoff.nextDelay();
  backoff.nextDelay();
  backoff.markConnected();
  time += 9_999;
  assert.equal(backoff.nextDelay(), 4000);
});

test("reset starts over", () => {
  const backoff = new Backoff({ now: () => 0 });
  for (let i = 0; i < 5; i += 1) backoff.nextDelay();
  backoff.reset();
  assert.equal(backoff.nextDelay(), 1000);
});
