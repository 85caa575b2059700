// Seller settings kept in extension storage.
//
// The Vinted domain is saved in storage.sync (so it follows the seller's browser profile)
// with storage.local as a fallback: storage.sync can be disabled by policy or, in Firefox,
// fail when sync storage is unavailable.

import { DEFAULT_VINTED_DOMAIN, isVintedDomain } from "./domains.js";

export const VINTED_DOMAIN_KEY = "vintedDomain";

async function readKey(area, key) {
  if (!area) return undefined;
  try {
    const items = await area.get(key);
    return items?.[key];
  } catch {
    return undefined;
  }
}

/** The seller's Vinted domain; anything not in the allowed list falls back to the default. */
export async function loadVintedDomain(storage) {
  for (const area of [storage?.sync, storage?.local]) {
    const value = await readKey(area, VINTED_DOMAIN_KEY);
    if (isVintedDomain(value)) return value;
  }
  return DEFAULT_VINTED_DOMAIN;
}

/** Saves the domain after validating it; returns the storage area name that took it. */
export async function saveVintedDomain(storage, domain) {
  if (!isVintedDomain(domain)) throw new Error(`Not a Vinted domain: ${domain}`);
  const item = { [VINTED_DOMAIN_KEY]: domain };
  try {
    await storage.sync.set(item);
    // Keep local in step so a later fallback read never sees a stale value.
    await storage.local.set(item);
    return "sync";
  } catch {
    await storage.local.set(item);
    return "local";
  }
}

/**
 * Maps a task's platform to the origin its requests go to. This is the only place that
 * knows which platform lives where; the executor stays generic. Unknown platform → null,
 * which the executor turns into a refusal.
 */
export function createOriginResolver(storage) {
  const resolvers = {
    vinted: async () => `https://${await loadVintedDomain(storage)}`,
  };
  return async function resolveOrigin(platform) {
    const resolve = Object.hasOwn(resolvers, platform) ? resolvers[platform] : null;
    return resolve ? resolve() : null;
  };
}

/** Platforms this extension can execute tasks for; sent in hello. */
export const SUPPORTED_PLATFORMS = Object.freeze(["vinted"]);
