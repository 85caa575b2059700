// The one native messaging connection to the StoFlow host: connect, say hello, keep the
// JSON-RPC client, reconnect with back-off, and publish a status the popup can show.
//
// Browser specifics are injected (connectNative, readPortError, timers), so the whole state
// machine runs in node tests against an in-memory port.

import { Backoff } from "./backoff.js";
import { RpcClient, RpcUnavailable } from "./rpc.js";
import { defaultClearTimeout, defaultSetTimeout } from "./globals.js";

export const HOST_NAME = "com.stoflow.companion";

export const ConnectionState = Object.freeze({
  CONNECTING: "connecting",
  CONNECTED: "connected",
  NOT_INSTALLED: "not_installed",
  DISCONNECTED: "disconnected",
  ERROR: "error",
});

// Chrome: "Specified native messaging host not found."
// Firefox: "No such native application com.stoflow.companion"
const NOT_INSTALLED_PATTERN = /native messaging host not found|no such native application/i;
// Chrome says "Native host has exited."; Firefox gives no error at all when the host exits.
const EXITED_PATTERN = /native host has exited/i;

/** Maps the browser's disconnect reason to a connection state and a sentence for the seller. */
export function classifyDisconnect(reason) {
  const detail = reason || "";
  if (NOT_INSTALLED_PATTERN.test(detail)) {
    return { state: ConnectionState.NOT_INSTALLED, message: "The StoFlow host is not installed on this computer. Run the StoFlow installer, then reconnect.", detail };
  }
  if (detail === "" || EXITED_PATTERN.test(detail)) {
    return { state: ConnectionState.DISCONNECTED, message: "The StoFlow host stopped (it exited or crashed).", detail };
  }
  return { state: ConnectionState.ERROR, message: `Cannot talk to the StoFlow host: ${detail}`, detail };
}

export class NativeConnection {
  /**
   * @param {object} deps
   * @param {(name: string) => object} deps.connectNative runtime.connectNative
   * @param {(port: object) => string} deps.readPortError why a port closed ("" if no reason)
   * @param {() => object} deps.helloParams params for the hello request
   * @param {(status: object) => void} [deps.onStatus] called on every status change
   * @param {() => void} [deps.onReady] called after each successful hello
   * @param {(method: string, params: any) => void} [deps.onNotification]
   */
  constructor({
    connectNative,
    readPortError,
    helloParams,
    onStatus = () => {},
    onReady = () => {},
    onNotification = () => {},
    hostName = HOST_NAME,
    requestTimeoutMs,
    now = Date.now,
    setTimeout: setTimer = defaultSetTimeout,
    clearTimeout: clearTimer = defaultClearTimeout,
    backoff = new Backoff({ now }),
  }) {
    Object.assign(this, { connectNative, readPortError, helloParams, onStatus, onReady, onNotification, hostName, requestTimeoutMs, now, setTimer, clearTimer, backoff });
    this.port = null;
    this.rpc = null;
    this.retryTimer = null;
    this.status = null;
  }

  /** Connects unless a connection is already up or being set up. */
  start() {
    if (this.port) return;
    this.connect();
  }

  /** The seller asked to retry now (e.g. right after installing the host). */
  reconnectNow() {
    this.backoff.reset();
    if (this.port && this.status?.state === ConnectionState.CONNECTED) return;
    this.dropCurrentPort("reconnecting");
    this.connect();
  }

  /** Sends a request to the host; rejects with RpcUnavailable while not connected. */
  request(method, params, options) {
    if (!this.rpc || this.status?.state !== ConnectionState.CONNECTED) {
      return Promise.reject(new RpcUnavailable("not connected to the StoFlow host"));
    }
    return this.rpc.request(method, params, options);
  }

  get connected() {
    return this.status?.state === ConnectionState.CONNECTED;
  }

  /** Stops reconnecting and closes the port (tests, extension shutdown). */
  stop() {
    this.clearRetryTimer();
    this.dropCurrentPort("stopped");
  }

  connect() {
    this.clearRetryTimer();
    this.setStatus({ state: ConnectionState.CONNECTING, message: "Connecting to the StoFlow host…" });
    let port;
    try {
      port = this.connectNative(this.hostName);
    } catch (error) {
      // Chrome throws synchronously for a malformed host name or missing permission.
      this.scheduleReconnect(classifyDisconnect(error?.message || String(error)));
      return;
    }
    const rpc = new RpcClient({
      post: (message) => port.postMessage(message),
      onNotification: (method, params) => this.onNotification(method, params),
      timeoutMs: this.requestTimeoutMs,
      setTimeout: this.setTimer,
      clearTimeout: this.clearTimer,
    });
    this.port = port;
    this.rpc = rpc;
    port.onMessage.addListener((message) => {
      if (this.port === port) rpc.handleMessage(message);
    });
    port.onDisconnect.addListener((closedPort) => this.handleDisconnect(port, rpc, this.readPortError(closedPort ?? port)));
    this.sayHello(port, rpc);
  }

  async sayHello(port, rpc) {
    let result;
    try {
      result = await rpc.request("hello", this.helloParams());
    } catch (error) {
      if (this.port !== port) return; // the disconnect handler already reported why
      this.dropCurrentPort(error.message);
      this.scheduleReconnect({ state: ConnectionState.ERROR, message: `The StoFlow host did not accept hello: ${error.message}`, detail: error.message });
      return;
    }
    if (this.port !== port) return;
    this.backoff.markConnected();
    this.setStatus({
      state: ConnectionState.CONNECTED,
      message: "Connected to the StoFlow host.",
      host: result?.host ?? null,
      host_version: result?.version ?? null,
      protocol: result?.protocol ?? null,
    });
    try {
      this.onReady();
    } catch (error) {
      console.error("onReady failed", error);
    }
  }

  handleDisconnect(port, rpc, reason) {
    if (this.port !== port) return; // an old port we already replaced
    this.port = null;
    this.rpc = null;
    rpc.close(reason || "host disconnected");
    this.scheduleReconnect(classifyDisconnect(reason));
  }

  /** Closes our side. port.disconnect() does not fire our own onDisconnect, so clean up here. */
  dropCurrentPort(reason) {
    const { port, rpc } = this;
    this.port = null;
    this.rpc = null;
    rpc?.close(reason);
    try {
      port?.disconnect();
    } catch {
      // Already closed.
    }
  }

  scheduleReconnect(failure) {
    this.clearRetryTimer();
    const delay = this.backoff.nextDelay();
    this.setStatus({ ...failure, retry_in_ms: delay, retry_at: new Date(this.now() + delay).toISOString() });
    this.retryTimer = this.setTimer(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  clearRetryTimer() {
    if (this.retryTimer !== null) this.clearTimer(this.retryTimer);
    this.retryTimer = null;
  }

  setStatus(fields) {
    this.status = { host: null, host_version: null, protocol: null, ...fields, since: new Date(this.now()).toISOString() };
    try {
      this.onStatus(this.status);
    } catch (error) {
      console.error("onStatus failed", error);
    }
  }
}
