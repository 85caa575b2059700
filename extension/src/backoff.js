// Reconnect delays: 1 s, 2 s, 4 s ... capped at 60 s, back to 1 s once a connection has
// proved stable. No jitter: there is exactly one client per host process on this machine,
// so there is no herd to spread out, and a predictable schedule is easier to support.

export const BACKOFF_INITIAL_MS = 1_000;
export const BACKOFF_MAX_MS = 60_000;
// A connection that stayed up this long after hello counts as healthy again; shorter ones
// (a host that crashes right after start) keep growing the delay.
export const BACKOFF_STABLE_MS = 10_000;

/** The delay before reconnect attempt number `failures` (0-based). */
export function backoffDelay(failures, { initialMs = BACKOFF_INITIAL_MS, maxMs = BACKOFF_MAX_MS } = {}) {
  const exponent = Math.max(0, Math.min(failures, 30)); // 2^30 s is far beyond any cap
  return Math.min(initialMs * 2 ** exponent, maxMs);
}

export class Backoff {
  constructor({ initialMs = BACKOFF_INITIAL_MS, maxMs = BACKOFF_MAX_MS, stableMs = BACKOFF_STABLE_MS, now = Date.now } = {}) {
    this.options = { initialMs, maxMs };
    this.stableMs = stableMs;
    this.now = now;
    this.failures = 0;
    this.connectedAt = null;
  }

  /** Call when a connection became usable (hello answered). */
  markConnected() {
    this.connectedAt = this.now();
  }

  /** Call when a connection attempt failed or a connection dropped; returns the wait in ms. */
  nextDelay() {
    if (this.connectedAt !== null && this.now() - this.connectedAt >= this.stableMs) this.failures = 0;
    this.connectedAt = null;
    const delay = backoffDelay(this.failures, this.options);
    this.failures += 1;
    return delay;
  }

  /** Forget past failures (the seller asked to reconnect now). */
  reset() {
    this.failures = 0;
    this.connectedAt = null;
  }
}
