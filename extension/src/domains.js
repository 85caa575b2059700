// The Vinted domains a seller may use. This list is the single source of truth for the
// options page, the origin resolver and the session-cookie watcher; the manifest's
// host_permissions must match it exactly (tests/extension/manifest.test.mjs checks that),
// because the extension can only fetch from and read cookies of hosts it was granted.

export const VINTED_DOMAINS = Object.freeze([
  "www.vinted.fr",
  "www.vinted.de",
  "www.vinted.co.uk",
  "www.vinted.it",
  "www.vinted.es",
  "www.vinted.nl",
  "www.vinted.be",
  "www.vinted.pl",
  "www.vinted.at",
  "www.vinted.lu",
  "www.vinted.pt",
  "www.vinted.cz",
  "www.vinted.sk",
  "www.vinted.lt",
  "www.vinted.se",
  "www.vinted.dk",
  "www.vinted.fi",
  "www.vinted.ro",
  "www.vinted.hu",
  "www.vinted.hr",
  "www.vinted.gr",
  "www.vinted.ie",
  "www.vinted.com",
]);

export const DEFAULT_VINTED_DOMAIN = "www.vinted.fr";

export function isVintedDomain(domain) {
  return typeof domain === "string" && VINTED_DOMAINS.includes(domain);
}

/** The match patterns the manifest must request, in list order. */
export function vintedHostPermissions() {
  return VINTED_DOMAINS.map((domain) => `https://${domain}/*`);
}

/**
 * Whether a cookie's `domain` attribute belongs to one of the Vinted sites. Browsers report
 * host-only cookies as "www.vinted.fr" and domain cookies as ".vinted.fr", so both forms count.
 */
export function isVintedCookieDomain(cookieDomain) {
  if (typeof cookieDomain !== "string") return false;
  const host = cookieDomain.replace(/^\./, "").toLowerCase();
  return VINTED_DOMAINS.some((domain) => domain === host || domain === `www.${host}`);
}
