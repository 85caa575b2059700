// Wires the background: one native connection, the task runner, the executor, the session
// watcher and the page message API. Takes the WebExtension API object as a parameter so a
// test can start the whole background against fakes.

import { blobReadingFor } from "./blobs.js";
import { readPortError, detectBrowser } from "./browser.js";
import { NativeConnection } from "./connection.js";
import { CsrfTokenProvider } from "./csrf.js";
import { createExecutor } from "./executor.js";
import { CONNECTION_STORAGE_KEY, createMessageHandler } from "./messages.js";
import { SessionWatcher } from "./session-watch.js";
import { createOriginResolver, SUPPORTED_PLATFORMS } from "./settings.js";
import { TaskRunner } from "./task-runner.js";
import { defaultClearTimeout, defaultFetch, defaultSetTimeout } from "./globals.js";

const CLIENT_NAME = "stoflow-extension";

async function readCookieValue(api, origin, name) {
  const cookie = await api.cookies.get({ url: `${origin}/`, name });
  return cookie?.value ?? null;
}

async function readSessionCookies(api, resolveOrigin) {
  const origin = await resolveOrigin("vinted");
  const cookies = await api.cookies.getAll({ url: `${origin}/` });
  return cookies.filter((cookie) => cookie.name.endsWith("_session"));
}

/**
 * After a (re)connect, paused queues may be waiting for a login that happened while the
 * background was not running; watching cookies covers a login that is still to come.
 */
async function armWatcherIfPaused(connection, watcher, log) {
  try {
    const paused = await connection.request("queues.list", { status: "paused", platform: watcher.platform, limit: 1 });
    if (Array.isArray(paused) && paused.length > 0) await watcher.arm();
  } catch (error) {
    log.warn("could not check for paused queues", error.message);
  }
}

/**
 * Starts the background. Listeners are registered synchronously: a Chrome service worker
 * woken by an event only sees listeners added during its first turn.
 */
export function startBackground({
  api,
  fetch: fetchFn = defaultFetch,
  subtle = globalThis.crypto.subtle,
  now = Date.now,
  setTimeout: setTimer = defaultSetTimeout,
  clearTimeout: clearTimer = defaultClearTimeout,
  log = console,
}) {
  const resolveOrigin = createOriginResolver(api.storage);
  const csrf = new CsrfTokenProvider({ fetch: fetchFn });
  const timers = { now, setTimeout: setTimer, clearTimeout: clearTimer };
  let connection = null;
  const request = (method, params, options) => connection.request(method, params, options);

  const browserName = detectBrowser(api);
  const executor = createExecutor({
    fetch: fetchFn,
    resolveOrigin,
    readBlobChunk: (params) => request("blobs.read", params),
    // The host serves photos on 127.0.0.1 (blobs.open); blobs.read when it cannot.
    openBlob: (params) => request("blobs.open", params),
    blobReading: blobReadingFor(browserName),
    csrf,
    getAnonId: (origin) => readCookieValue(api, origin, "anon_id"),
    subtle,
    now,
  });
  const watcher = new SessionWatcher({ request, getSessionCookies: () => readSessionCookies(api, resolveOrigin), log, ...timers });
  const runner = new TaskRunner({ request, execute: (task) => executor.execute(task), onResult: (task, result) => watcher.noteResult(task, result), log });

  const version = api.runtime.getManifest().version;
  connection = new NativeConnection({
    connectNative: (name) => api.runtime.connectNative(name),
    readPortError: (port) => readPortError(port, api),
    helloParams: () => ({ client: CLIENT_NAME, version, browser: browserName, platforms: [...SUPPORTED_PLATFORMS] }),
    onStatus: (status) => api.storage.local.set({ [CONNECTION_STORAGE_KEY]: status }).catch((error) => log.warn("could not store status", error.message)),
    onReady: () => {
      runner.pull(); // work may have been queued while we were away
      armWatcherIfPaused(connection, watcher, log);
    },
    onNotification: (method) => {
      if (method === "tasks.available") runner.pull();
    },
    ...timers,
  });

  api.runtime.onMessage.addListener(createMessageHandler({ connection, extensionId: api.runtime.id, extensionBaseUrl: api.runtime.getURL("") }));
  api.cookies.onChanged.addListener((changeInfo) => watcher.onCookieChanged(changeInfo));
  // These exist to wake the background when the browser starts or the extension updates;
  // the connection itself is opened below on every start.
  api.runtime.onStartup.addListener(() => connection.start());
  api.runtime.onInstalled.addListener(() => connection.start());
  connection.start();
  return { connection, runner, watcher, executor, csrf };
}
