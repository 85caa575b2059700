// Resumes paused queues once the seller has logged in again.
//
// After a task came back session_expired the host pauses its queue. Instead of making the
// seller find the popup and click Resume, we watch for the platform's session cookie
// (Rails-style "<name>_session") being set, then resume every paused queue of the platform.
//
// Care is needed because a 401 answer may itself set a fresh anonymous session cookie, and
// browsing the site logged-out keeps rewriting it. So: cookie values present when we arm are
// ignored, bursts are debounced, and resumes that lead straight back to session_expired
// space themselves out exponentially instead of hitting the platform in a loop.

import { isVintedCookieDomain } from "./domains.js";
import { defaultClearTimeout, defaultSetTimeout } from "./globals.js";

export const DEBOUNCE_MS = 2_000;
export const MIN_RESUME_INTERVAL_MS = 60_000;
export const MAX_RESUME_INTERVAL_MS = 30 * 60_000;
// A session_expired this soon after an automatic resume means the resume was futile.
const FUTILE_WINDOW_MS = 5 * 60_000;

export function isSessionCookieChange(changeInfo) {
  const cookie = changeInfo?.cookie;
  if (!cookie || changeInfo.removed) return false;
  return typeof cookie.name === "string" && cookie.name.endsWith("_session") && isVintedCookieDomain(cookie.domain);
}

const cookieKey = (cookie) => `${cookie.domain}|${cookie.name}`;

export class SessionWatcher {
  /**
   * @param {object} deps
   * @param {(method: string, params: object) => Promise<any>} deps.request host RPC
   * @param {() => Promise<object[]>} [deps.getSessionCookies] current session cookies (for the snapshot)
   */
  constructor({
    request,
    getSessionCookies = async () => [],
    platform = "vinted",
    now = Date.now,
    setTimeout: setTimer = defaultSetTimeout,
    clearTimeout: clearTimer = defaultClearTimeout,
    log = console,
  }) {
    Object.assign(this, { request, getSessionCookies, platform, now, setTimer, clearTimer, log });
    this.armed = false;
    this.arming = false;
    this.snapshot = new Map();
    this.timer = null;
    this.lastResumeAt = null;
    this.futileResumes = 0;
  }

  /** Start watching (idempotent). Armed only once the snapshot is taken, so cookies that
   *  were already there (e.g. set by the 401 itself) never count as a login. */
  async arm() {
    if (this.armed || this.arming) return;
    this.arming = true;
    const snapshot = new Map();
    try {
      for (const cookie of await this.getSessionCookies()) snapshot.set(cookieKey(cookie), cookie.value);
    } catch (error) {
      this.log.warn("could not read session cookies", error.message);
    }
    this.snapshot = snapshot;
    this.armed = true;
    this.arming = false;
  }

  /** Feed every tasks.result the extension sent for any platform. */
  noteResult(task, result) {
    if (task?.platform !== this.platform) return;
    if (result?.success) {
      // The session works again: the last resume was not futile, start spacing afresh.
      this.futileResumes = 0;
      this.lastResumeAt = null;
      return;
    }
    if (result?.error_kind !== "session_expired") return;
    if (this.lastResumeAt !== null && this.now() - this.lastResumeAt < FUTILE_WINDOW_MS) this.futileResumes += 1;
    this.arm();
  }

  /** cookies.onChanged listener. */
  onCookieChanged(changeInfo) {
    if (!this.armed || !isSessionCookieChange(changeInfo)) return;
    const { cookie } = changeInfo;
    if (this.snapshot.get(cookieKey(cookie)) === cookie.value) return;
    this.schedule(DEBOUNCE_MS);
  }

  /** When the next automatic resume may happen at the earliest. */
  nextAllowedAt() {
    if (this.lastResumeAt === null) return 0;
    const interval = Math.min(MIN_RESUME_INTERVAL_MS * 2 ** this.futileResumes, MAX_RESUME_INTERVAL_MS);
    return this.lastResumeAt + interval;
  }

  schedule(delayMs) {
    if (this.timer !== null) this.clearTimer(this.timer);
    const wait = Math.max(delayMs, this.nextAllowedAt() - this.now());
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.resumePaused();
    }, wait);
  }

  /** Resumes every paused queue of the platform; returns how many were resumed. */
  async resumePaused() {
    this.armed = false;
    this.lastResumeAt = this.now();
    let queues;
    try {
      queues = await this.request("queues.list", { status: "paused", platform: this.platform });
    } catch (error) {
      this.log.warn("queues.list failed, will retry on the next login cookie", error.message);
      this.armed = true;
      return 0;
    }
    let resumed = 0;
    for (const queue of Array.isArray(queues) ? queues : []) {
      if (queue?.status !== "paused" || queue.platform !== this.platform) continue;
      try {
        await this.request("queues.resume", { queue_id: queue.id });
        resumed += 1;
      } catch (error) {
        this.log.warn(`queues.resume ${queue.id} failed`, error.message);
      }
    }
    return resumed;
  }

  stop() {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    this.armed = false;
  }
}
