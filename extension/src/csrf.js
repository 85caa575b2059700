// CSRF token for the platform's API, read from the platform's own HTML page.
//
// The site renders its token into the page for its own JavaScript. Open-source Vinted tools
// find it either in <meta name="csrf-token" content="…"> or in an inline script as
// "CSRF_TOKEN":"…" (sometimes inside a JSON string, so with escaped quotes). We fetch the
// origin's root page with the seller's cookies and look for both forms.

import { defaultFetch } from "./globals.js";

const META_TAG = /<meta\b[^>]*>/gi;
const ATTRIBUTE = /([a-z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/gi;
// The value stops at the first (possibly escaped) closing quote; "\/" escapes are undone.
const SCRIPT_TOKEN = /\\?"CSRF_TOKEN\\?"\s*:\s*\\?"([^"]+?)\\?"/;
const PAGE_TIMEOUT_MS = 30_000;

function decodeEntities(text) {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec) => String.fromCodePoint(parseInt(dec, 10)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

function readAttributes(tag) {
  const attributes = {};
  for (const match of tag.matchAll(ATTRIBUTE)) {
    attributes[match[1].toLowerCase()] = match[2] ?? match[3] ?? match[4] ?? "";
  }
  return attributes;
}

/** Returns the CSRF token found in an HTML page, or null. */
export function extractCsrfToken(html) {
  if (typeof html !== "string") return null;
  for (const [tag] of html.matchAll(META_TAG)) {
    const attributes = readAttributes(tag);
    if (attributes.name?.toLowerCase() === "csrf-token" && attributes.content) {
      return decodeEntities(attributes.content);
    }
  }
  const inScript = SCRIPT_TOKEN.exec(html);
  if (!inScript) return null;
  const token = inScript[1].replace(/\\+\//g, "/");
  return token.includes("\\") ? null : token;
}

/** Whether an error response complains about the CSRF token (worth one refresh + retry). */
export function isCsrfComplaint(status, bodyText) {
  return (status === 401 || status === 403) && /csrf|authenticity[ _-]?token/i.test(bodyText || "");
}

/**
 * Per-origin token cache. Concurrent callers share one page fetch. A failed read is not
 * cached, so the next task tries again (e.g. after the seller logged in).
 */
export class CsrfTokenProvider {
  constructor({ fetch: fetchFn = defaultFetch, timeoutMs = PAGE_TIMEOUT_MS } = {}) {
    this.fetch = fetchFn;
    this.timeoutMs = timeoutMs;
    this.tokens = new Map(); // origin → Promise<string|null>
  }

  /** The token for `origin`; `refresh` forces a new read of the page. Never throws. */
  get(origin, { refresh = false } = {}) {
    if (refresh) this.tokens.delete(origin);
    let pending = this.tokens.get(origin);
    if (!pending) {
      pending = this.readFromPage(origin).then((token) => {
        if (token === null && this.tokens.get(origin) === pending) this.tokens.delete(origin);
        return token;
      });
      this.tokens.set(origin, pending);
    }
    return pending;
  }

  /** Forget the token (the session changed, so the token did too). */
  invalidate(origin) {
    this.tokens.delete(origin);
  }

  async readFromPage(origin) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const response = await this.fetch(`${origin}/`, {
        method: "GET",
        credentials: "include",
        headers: { Accept: "text/html" },
        signal: controller.signal,
      });
      if (!response.ok) return null;
      return extractCsrfToken(await response.text());
    } catch {
      // Page unreachable: send without the header; the platform answers 401, which becomes
      // session_expired, which is the right thing to show the seller.
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
}
