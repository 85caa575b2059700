// Safe defaults for browser globals that modules store and call later.
//
// Browsers throw "Illegal invocation" when setTimeout, clearTimeout or fetch are called with
// a `this` other than the global object, which is exactly what happens once they are stored
// on an object and called as `this.setTimer(...)`. Node does not care, so only a real
// browser shows the bug; these wrappers are safe to store anywhere.

export const defaultSetTimeout = (callback, ms) => globalThis.setTimeout(callback, ms);
export const defaultClearTimeout = (id) => globalThis.clearTimeout(id);
export const defaultFetch = (input, init) => globalThis.fetch(input, init);
