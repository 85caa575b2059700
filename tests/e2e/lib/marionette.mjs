// A tiny client for Marionette, the remote protocol built into every Firefox (the one geckodriver
// speaks). It lets the tests drive Firefox ESR as shipped by Debian, which Playwright cannot
// (Playwright needs its own patched Firefox build, and this machine is offline).
//
// Wire format: each message is `<byte length>:<JSON>`. The server greets with
// {"applicationType":"gecko","marionetteProtocol":3}; a command is [0, id, name, params] and its
// answer [1, id, error, result].

import net from 'node:net';

export class MarionetteClient {
  #socket = null;
  #buffer = Buffer.alloc(0);
  #nextId = 1;
  #pending = new Map();
  #greeting = null;
  #closed = false;

  static async connect({ port, host = '127.0.0.1', timeoutMs = 10_000 }) {
    const client = new MarionetteClient();
    await client.#open(port, host, timeoutMs);
    return client;
  }

  #open(port, host, timeoutMs) {
    return new Promise((resolveOpen, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no Marionette greeting on ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      const socket = net.connect({ port, host });
      this.#socket = socket;
      this.#greeting = (message) => {
        clearTimeout(timer);
        if (message?.applicationType !== 'gecko') reject(new Error(`unexpected greeting ${JSON.stringify(message)}`));
        else resolveOpen();
      };
      socket.on('data', (chunk) => this.#onData(chunk));
      socket.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
        this.#failAll(error);
      });
      socket.on('close', () => {
        this.#closed = true;
        this.#failAll(new Error('Marionette connection closed'));
      });
    });
  }

  #failAll(error) {
    for (const { reject, timer } of this.#pending.values()) {
      clearTimeout(timer);
      reject(error);
    }
    this.#pending.clear();
  }

  #onData(chunk) {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const colon = this.#buffer.indexOf(0x3a);
      if (colon < 0) return;
      const length = Number(this.#buffer.toString('ascii', 0, colon));
      if (!Number.isInteger(length)) {
        this.#socket.destroy(new Error('Marionette framing lost'));
        return;
      }
      if (this.#buffer.length < colon + 1 + length) return;
      const message = JSON.parse(this.#buffer.toString('utf8', colon + 1, colon + 1 + length));
      this.#buffer = this.#buffer.subarray(colon + 1 + length);
      this.#dispatch(message);
    }
  }

  #dispatch(message) {
    if (this.#greeting) {
      const greet = this.#greeting;
      this.#greeting = null;
      greet(message);
      return;
    }
    if (!Array.isArray(message) || message[0] !== 1) return;
    const [, id, error, result] = message;
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    if (error) {
      const failure = new Error(`${pending.name}: ${error.error ?? 'error'}: ${error.message ?? JSON.stringify(error)}`);
      failure.marionette = error;
      pending.reject(failure);
    } else {
      pending.resolve(result);
    }
  }

  /** Sends one command; rejects on a protocol error or after `timeoutMs`. */
  send(name, params = {}, { timeoutMs = 30_000 } = {}) {
    if (this.#closed) return Promise.reject(new Error(`${name}: Marionette connection closed`));
    const id = this.#nextId;
    this.#nextId += 1;
    const body = Buffer.from(JSON.stringify([0, id, name, params]), 'utf8');
    return new Promise((resolveSend, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${name}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolveSend, reject, timer, name });
      this.#socket.write(`${body.length}:`);
      this.#socket.write(body);
    });
  }

  newSession(capabilities = {}) {
    return this.send('WebDriver:NewSession', { capabilities: { alwaysMatch: capabilities } });
  }

  navigate(url, options) {
    return this.send('WebDriver:Navigate', { url }, options);
  }

  /** Runs `script` (a function body; `arguments` holds args) in the current context. */
  async execute(script, args = [], options) {
    const answer = await this.send('WebDriver:ExecuteScript', { script, args }, options);
    return answer?.value;
  }

  async executeAsync(script, args = [], options) {
    const answer = await this.send('WebDriver:ExecuteAsyncScript', { script, args }, options);
    return answer?.value;
  }

  setContext(value) {
    return this.send('Marionette:SetContext', { value });
  }

  installAddon(path, { temporary = true } = {}) {
    return this.send('Addon:Install', { path, temporary });
  }

  async screenshot() {
    const answer = await this.send('WebDriver:TakeScreenshot', { full: true });
    return Buffer.from(answer.value, 'base64');
  }

  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket?.destroy();
  }
}
