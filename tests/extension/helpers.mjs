// Shared test doubles: a real local HTTP server, an in-memory native port, storage areas
// and a manual clock. Not a test file itself (no .test. in the name).
import { createServer } from "node:http";

/**
 * Starts a node:http server on 127.0.0.1 with a random port. `handler(req, res, body)`
 * gets the whole request body as a Buffer. Every request is recorded in `requests`.
 */
export async function startServer(handler) {
  const requests = [];
  const sockets = new Set();
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    requests.push({ method: req.method, url: req.url, headers: req.headers, body });
    try {
      await handler(req, res, body);
    } catch (error) {
      res.writeHead(599).end(String(error));
    }
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

export function sendJson(res, status, value, headers = {}) {
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(value));
}

export function sendHtml(res, status, html, headers = {}) {
  res.writeHead(status, { "Content-Type": "text/html; charset=utf-8", ...headers });
  res.end(html);
}

/** A minimal event like runtime.Port's onMessage / onDisconnect. */
export class FakeEvent {
  constructor() {
    this.listeners = [];
  }
  addListener(listener) {
    this.listeners.push(listener);
  }
  removeListener(listener) {
    this.listeners = this.listeners.filter((l) => l !== listener);
  }
  emit(...args) {
    for (const listener of [...this.listeners]) listener(...args);
  }
}

/**
 * An in-memory native port. The test plays the host: `sent` holds what the extension posted,
 * `deliver` pushes a message to the extension, `hostDisconnect` closes from the host side.
 */
export class FakePort {
  constructor(name) {
    this.name = name;
    this.sent = [];
    this.onMessage = new FakeEvent();
    this.onDisconnect = new FakeEvent();
    this.connected = true;
    this.error = null;
    this.onPost = null;
  }
  postMessage(message) {
    if (!this.connected) throw new Error("Attempting to use a disconnected port object");
    // Copy, as the browser does (structured clone / JSON serialisation).
    const copy = JSON.parse(JSON.stringify(message));
    this.sent.push(copy);
    this.onPost?.(copy);
  }
  disconnect() {
    this.connected = false;
    this.disconnectedByExtension = true;
  }
  deliver(message) {
    this.onMessage.emit(message, this);
  }
  hostDisconnect(error = null) {
    this.connected = false;
    this.error = error ? { message: error } : null;
    this.onDisconnect.emit(this);
  }
}

/** A storage area with the promise API of browser.storage.local. */
export class FakeStorageArea {
  constructor(items = {}) {
    this.items = { ...items };
    this.failing = false;
  }
  async get(keys) {
    if (this.failing) throw new Error("storage unavailable");
    const wanted = keys === null || keys === undefined ? Object.keys(this.items) : [keys].flat();
    return Object.fromEntries(wanted.filter((key) => key in this.items).map((key) => [key, structuredClone(this.items[key])]));
  }
  async set(values) {
    if (this.failing) throw new Error("storage unavailable");
    Object.assign(this.items, structuredClone(values));
  }
}

/** Deterministic timers: nothing runs until the test advances the clock. */
export class ManualClock {
  constructor(start = 1_700_000_000_000) {
    this.time = start;
    this.timers = new Map();
    this.nextId = 1;
    this.now = () => this.time;
    this.setTimeout = (fn, ms) => {
      const id = this.nextId++;
      this.timers.set(id, { fn, at: this.time + Math.max(0, ms ?? 0) });
      return id;
    };
    this.clearTimeout = (id) => {
      this.timers.delete(id);
    };
  }
  /** Pending timer delays, relative to now, in order. */
  pendingDelays() {
    return [...this.timers.values()].map((timer) => timer.at - this.time).sort((a, b) => a - b);
  }
  /** Moves time forward, firing due timers in order (including ones they schedule). */
  async advance(ms) {
    const target = this.time + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, timer]) => timer.at <= target).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      const [id, timer] = due;
      this.timers.delete(id);
      this.time = timer.at;
      timer.fn();
      await flush();
    }
    this.time = target;
    await flush();
  }
}

/** Lets pending promise callbacks run. */
export async function flush(rounds = 10) {
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setImmediate(resolve));
}
