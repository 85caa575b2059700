// Validation of what the publish steps send, in the shape the design's "Vinted publish, step by
// step" fixes. Errors use Vinted's validation format, {field, value: message}, so the host's
// error reporting can be tested against something that looks like the real thing.
//
// The checks are stricter about types than the real site may be (ids must be JSON integers, the
// price a decimal string): the point is to catch a sender that drifts from the contract, e.g. a
// price sent as a number or in cents, before it reaches the real marketplace.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PRICE = /^\d{1,7}(\.\d{1,2})?$/;
const MAX_TITLE = 255;
const MAX_DESCRIPTION = 10_000;

export function isUuid(value) {
  return typeof value === 'string' && UUID.test(value);
}

/** Checks the non-file fields of a photo upload. */
export function validatePhotoFields(fields) {
  const errors = [];
  if (fields['photo[type]'] !== 'item') {
    errors.push(error('photo[type]', `must be "item", got ${show(fields['photo[type]'])}`));
  }
  if (!isUuid(fields['photo[temp_uuid]'])) {
    errors.push(error('photo[temp_uuid]', `must be a UUID, got ${show(fields['photo[temp_uuid]'])}`));
  }
  return errors;
}

/**
 * Checks the wrapper of a draft, completion or update request and pulls out the item.
 * @param {'draft'|'completion'|'update'} kind
 * @returns {{item: object|null, malformed: string|null, errors: object[]}}
 */
export function validateEnvelope(body, kind) {
  if (!isObject(body)) return { item: null, malformed: 'body must be a JSON object', errors: [] };
  // An update may wrap the item as `item` (the real update form) or `draft` (as the other steps do).
  const key = kind === 'update' && body.item !== undefined ? 'item' : 'draft';
  const item = body[key];
  if (!isObject(item)) return { item: null, malformed: `"${key}" must be an object`, errors: [] };
  const errors = [];
  if (body.parcel !== undefined && body.parcel !== null && !isObject(body.parcel)) {
    errors.push(error('parcel', 'must be null or an object'));
  }
  if (kind !== 'update' && (typeof body.upload_session_id !== 'string' || !body.upload_session_id)) {
    errors.push(error('upload_session_id', `must be a non-empty string, got ${show(body.upload_session_id)}`));
  }
  if (kind === 'completion') {
    if (body.push_up !== undefined && typeof body.push_up !== 'boolean') errors.push(error('push_up', 'must be a boolean'));
    if (body.feedback_id !== undefined && body.feedback_id !== null && !Number.isInteger(body.feedback_id)) {
      errors.push(error('feedback_id', 'must be null or an integer'));
    }
  }
  return { item, malformed: null, errors };
}

/**
 * Checks an ITEM object.
 * @param {object} item
 * @param {{expectedId?: number, photoProblem: (id: number) => string|null}} rules
 *   expectedId: the id the item may carry (a draft's or item's own id); without it, id must be null.
 *   photoProblem: why a photo id cannot be used by this seller, or null when it can.
 */
export function validateItem(item, { expectedId, photoProblem }) {
  const errors = [];
  const add = (field, message) => errors.push(error(field, message));
  checkId(item, expectedId, add);
  if (typeof item.currency !== 'string' || !/^[A-Z]{3}$/.test(item.currency)) add('currency', `must be an ISO 4217 code, got ${show(item.currency)}`);
  if (!isUuid(item.temp_uuid)) add('temp_uuid', `must be a UUID, got ${show(item.temp_uuid)}`);
  checkText(item, 'title', MAX_TITLE, add);
  checkText(item, 'description', MAX_DESCRIPTION, add);
  checkIdField(item, 'brand_id', { nullable: true }, add);
  checkIdField(item, 'size_id', { nullable: true }, add);
  checkIdField(item, 'catalog_id', { nullable: false }, add);
  checkIdField(item, 'status_id', { nullable: false }, add);
  checkIdField(item, 'package_size_id', { nullable: false }, add);
  checkPrice(item.price, add);
  checkColors(item.color_ids, add);
  checkPhotos(item.assigned_photos, photoProblem, add);
  if (typeof item.is_unisex !== 'boolean') add('is_unisex', `must be a boolean, got ${show(item.is_unisex)}`);
  if (!Array.isArray(item.item_attributes)) add('item_attributes', `must be an array, got ${show(item.item_attributes)}`);
  return errors;
}

function checkId(item, expectedId, add) {
  if (!('id' in item)) add('id', 'must be present (null for a new item)');
  else if (item.id !== null && item.id !== expectedId) add('id', `must be null${expectedId ? ` or ${expectedId}` : ''}, got ${show(item.id)}`);
}

function checkText(item, field, max, add) {
  const value = item[field];
  if (typeof value !== 'string' || !value.trim()) add(field, `can't be blank (got ${show(value)})`);
  else if (value.length > max) add(field, `is too long (${value.length} > ${max})`);
}

function checkIdField(item, field, { nullable }, add) {
  const value = item[field];
  if (nullable && value === null) return;
  if (!Number.isSafeInteger(value) || value <= 0) {
    add(field, `must be a positive integer${nullable ? ' or null' : ''}, got ${show(value)}`);
  }
}

function checkPrice(price, add) {
  if (typeof price !== 'string' || !PRICE.test(price)) {
    add('price', `must be a decimal string like "27.90", got ${show(price)}`);
  } else if (Number(price) <= 0) {
    add('price', 'must be greater than 0');
  }
}

function checkColors(colorIds, add) {
  if (!Array.isArray(colorIds)) add('color_ids', `must be an array, got ${show(colorIds)}`);
  else if (!colorIds.every((id) => Number.isSafeInteger(id) && id > 0)) add('color_ids', 'must hold positive integers');
}

function checkPhotos(photos, photoProblem, add) {
  if (!Array.isArray(photos) || photos.length === 0) {
    add('assigned_photos', `must be a non-empty array, got ${show(photos)}`);
    return;
  }
  const seen = new Set();
  for (const [index, photo] of photos.entries()) {
    const field = `assigned_photos[${index}]`;
    if (!isObject(photo) || !Number.isSafeInteger(photo.id)) {
      add(field, `must be {id, orientation}, got ${show(photo)}`);
      continue;
    }
    if (photo.orientation !== 0) add(`${field}.orientation`, `must be 0, got ${show(photo.orientation)}`);
    if (seen.has(photo.id)) add(`${field}.id`, `photo ${photo.id} is assigned twice`);
    seen.add(photo.id);
    const problem = photoProblem(photo.id);
    if (problem) add(`${field}.id`, problem);
  }
}

function error(field, value) {
  return { field, value };
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function show(value) {
  const text = JSON.stringify(value);
  if (text === undefined) return 'nothing';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
