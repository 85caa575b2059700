// In-memory state of the fake marketplace: login sessions, uploaded photos, drafts and items.
//
// Sessions belong to a user (a seller account). Photos, drafts and items belong to the user, not
// to one login session: a seller whose session expired mid-publish logs in again and the host
// resumes the same operation with the photo ids it already has, as it would on the real site.

import { randomInt, randomUUID } from 'node:crypto';

/**
 * Hands out increasing ids from a random start, with small random gaps (other sellers' uploads).
 * The starts are above 2^32 on purpose: real Vinted ids no longer fit 32 bits, and a consumer that
 * truncates them (a C++ `int`) must fail here rather than in production.
 */
class IdSequence {
  #next;

  constructor(base) {
    this.#next = base + randomInt(0, 1_000_000_000);
  }

  take() {
    const id = this.#next;
    this.#next += randomInt(1, 8);
    return id;
  }
}

// Separate ranges, so that a consumer mixing up a draft id and an item id is caught.
const PHOTO_ID_BASE = 20_000_000_000;
const DRAFT_ID_BASE = 6_000_000_000;
const ITEM_ID_BASE = 5_000_000_000;

export const DEFAULT_USER = 'seller';

export class VintedStore {
  #sessions = new Map();
  #photos = [];
  #drafts = [];
  #items = [];
  #ids = null;
  #sessionTtlMs;
  #now;

  constructor({ sessionTtlMs = null, now = Date.now } = {}) {
    this.#sessionTtlMs = sessionTtlMs;
    this.#now = now;
    this.#resetIds();
  }

  // Sessions ------------------------------------------------------------------------------

  /** Logs a user in: a new session with its own CSRF token (login rotates the token). */
  createSession({ user = DEFAULT_USER, anonId = randomUUID() } = {}) {
    const createdAt = this.#now();
    const session = {
      id: randomUUID().replaceAll('-', '') + randomUUID().replaceAll('-', ''),
      user,
      anonId,
      csrfToken: randomUUID(),
      createdAt,
      expiresAt: this.#sessionTtlMs === null ? null : createdAt + this.#sessionTtlMs,
      expired: false,
    };
    this.#sessions.set(session.id, session);
    return { ...session };
  }

  /** The session for a cookie value if it exists and has not expired, else null. */
  liveSession(sessionId) {
    const session = sessionId ? this.#sessions.get(sessionId) : undefined;
    if (!session || session.expired) return null;
    if (session.expiresAt !== null && this.#now() >= session.expiresAt) {
      session.expired = true;
      return null;
    }
    return { ...session };
  }

  /** Expires one session (by id) or, without an id, every session. Returns how many. */
  expireSessions(sessionId = null) {
    let count = 0;
    for (const session of this.#sessions.values()) {
      if (session.expired || (sessionId && session.id !== sessionId)) continue;
      session.expired = true;
      count += 1;
    }
    return count;
  }

  sessions() {
    return [...this.#sessions.values()].map((session) => ({ ...session }));
  }

  // Photos --------------------------------------------------------------------------------

  addPhoto({ user, sessionId, tempUuid, file, image }) {
    const id = this.#ids.photo.take();
    const photo = {
      id,
      user,
      sessionId,
      tempUuid,
      filename: file.filename,
      contentType: file.contentType,
      size: file.size,
      sha256: file.sha256,
      bytes: file.bytes,
      format: image.format,
      width: image.width,
      height: image.height,
      url: `https://images.fake-vinted.test/${id}.jpg`,
      uploadedAt: this.#now(),
    };
    this.#photos.push(photo);
    return photo;
  }

  photo(id) {
    return this.#photos.find((photo) => photo.id === id) ?? null;
  }

  photos() {
    return this.#photos.map((photo) => ({ ...photo }));
  }

  // Drafts and items ----------------------------------------------------------------------

  addDraft({ user, item, uploadSessionId }) {
    const draft = {
      id: this.#ids.draft.take(),
      user,
      item: structuredClone(item),
      uploadSessionId,
      itemId: null,
      createdAt: this.#now(),
    };
    draft.item.id = draft.id;
    this.#drafts.push(draft);
    return draft;
  }

  draft(id) {
    return this.#drafts.find((draft) => draft.id === id) ?? null;
  }

  drafts() {
    return this.#drafts.map((draft) => structuredClone(draft));
  }

  /** Publishes a draft as an item (`fields` are the item fields the completion sent). */
  completeDraft(draft, fields, origin) {
    const id = this.#ids.item.take();
    const item = {
      id,
      user: draft.user,
      draftId: draft.id,
      fields: structuredClone({ ...fields, id }),
      url: itemUrl(origin, id, fields.title),
      deleted: false,
      createdAt: this.#now(),
      updatedAt: this.#now(),
      updates: 0,
    };
    draft.itemId = id;
    this.#items.push(item);
    return item;
  }

  updateItem(item, fields, origin) {
    item.fields = structuredClone({ ...fields, id: item.id });
    item.url = itemUrl(origin, item.id, fields.title);
    item.updatedAt = this.#now();
    item.updates += 1;
    return item;
  }

  deleteItem(item) {
    item.deleted = true;
    item.updatedAt = this.#now();
  }

  item(id) {
    return this.#items.find((item) => item.id === id) ?? null;
  }

  items() {
    return this.#items.map((item) => structuredClone(item));
  }

  /** Forgets photos, drafts and items; sessions too when asked (a logged-in browser survives a
   * plain reset, as a seller account outlives one test). */
  reset({ sessions = false } = {}) {
    this.#photos = [];
    this.#drafts = [];
    this.#items = [];
    this.#resetIds();
    if (sessions) this.#sessions.clear();
  }

  #resetIds() {
    this.#ids = {
      photo: new IdSequence(PHOTO_ID_BASE),
      draft: new IdSequence(DRAFT_ID_BASE),
      item: new IdSequence(ITEM_ID_BASE),
    };
  }
}

/** Vinted-style slug: lower case ASCII words joined by dashes ("Levi's 501" -> "levis-501"). */
export function slugify(title) {
  const slug = String(title ?? '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/['’]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug || 'item';
}

function itemUrl(origin, id, title) {
  return `${origin}/items/${id}-${slugify(title)}`;
}
