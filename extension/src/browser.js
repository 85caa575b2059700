// Cross-browser access to the WebExtension API.
//
// Firefox exposes `browser` (promise based) and also a `chrome` alias; Chrome exposes only
// `chrome`, whose MV3 methods return promises when called without a callback. Every module
// uses the object returned here and only promise-style calls, so one code path serves both.

export function getBrowserApi(scope = globalThis) {
  if (scope.browser?.runtime) return scope.browser;
  if (scope.chrome?.runtime) return scope.chrome;
  throw new Error("No WebExtension API found (neither browser nor chrome)");
}

/**
 * "firefox" or "chrome", as the host's hello expects. Feature sniffing (`browser` defined)
 * is unreliable because Chromium is adopting the `browser` name too; the URL scheme of
 * our own pages is not.
 */
export function detectBrowser(api) {
  const base = api.runtime.getURL("");
  return base.startsWith("moz-extension:") ? "firefox" : "chrome";
}

/**
 * Reads why a native port closed. Firefox sets `port.error`; Chrome reports it through
 * `runtime.lastError`, which must be read inside onDisconnect (reading it also silences
 * Chrome's "Unchecked runtime.lastError" warning). Returns "" when the browser gave no reason,
 * which is what happens when the host process simply exits.
 */
export function readPortError(port, api) {
  const error = port?.error ?? api?.runtime?.lastError;
  if (!error) return "";
  return String(error.message ?? error);
}
