// The dashboard: products, the queue with live progress, and the seller's
// actions. It talks only to this host's /api, with the session the one-time
// login link put in sessionStorage; it renders with textContent, never innerHTML.

const POLL_MS = 1000;
const state = { products: [], queues: [], listings: [], selected: new Set(), busy: false };

const $ = (selector) => document.querySelector(selector);

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
  }
}

const session = sessionStorage.getItem('stoflow-session') ?? '';

function headers(json) {
  return { 'X-StoFlow-Session': session, ...(json ? { 'Content-Type': 'application/json' } : {}) };
}

async function api(path, options = {}) {
  const response = await fetch(`/api${path}`, { ...options, headers: headers(Boolean(options.body)) });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function element(tag, { text, className, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, value);
  for (const child of children) if (child) node.append(child);
  return node;
}

function badge(status) {
  return element('span', { text: status, className: `badge status-${status}` });
}

function button(label, onClick, { secondary = false, testId } = {}) {
  const node = element('button', { text: label, className: secondary ? 'secondary' : '' });
  if (testId) node.dataset.testid = testId;
  node.addEventListener('click', onClick);
  return node;
}

function formatPrice(cents, currency) {
  return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(cents / 100);
}

function showMessage(text) {
  $('#message').textContent = text ?? '';
}

async function act(work) {
  try {
    showMessage('');
    await work();
  } catch (error) {
    showMessage(error.message);
  }
  await refresh();
}

function listingFor(productId, platform) {
  return state.listings.find((l) => l.product_id === productId && l.platform === platform);
}

// <img> cannot send the session header, so photos are fetched and shown
// from object URLs, each fetched once per page.
const thumbnails = new Map();

function thumbnail(image) {
  const img = element('img', { className: 'thumb', attrs: { alt: image.filename } });
  if (!thumbnails.has(image.blob)) {
    thumbnails.set(image.blob, fetch(`/api/blobs/${image.blob}`, { headers: headers(false) })
      .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then((blob) => URL.createObjectURL(blob))
      .catch(() => null));
  }
  thumbnails.get(image.blob).then((url) => { if (url) img.src = url; });
  return img;
}

function productRow(product) {
  const platform = $('#platform').value;
  const listing = listingFor(product.id, platform);
  const checkbox = element('input', { attrs: { type: 'checkbox', 'aria-label': `Select ${product.title}` } });
  checkbox.checked = state.selected.has(product.id);
  checkbox.addEventListener('change', () => {
    if (checkbox.checked) state.selected.add(product.id);
    else state.selected.delete(product.id);
    $('#publish-selected').disabled = state.selected.size === 0;
  });
  const photos = element('td', {}, product.images.slice(0, 4).map((image) => thumbnail(image)));
  const listingCell = element('td');
  if (listing) {
    listingCell.append(badge(listing.status));
    if (listing.url) listingCell.append(' ', element('a', { text: 'view', attrs: { href: listing.url, target: '_blank', rel: 'noopener' } }));
  }
  const canPublish = !listing || listing.status === 'failed';
  const publish = button('Publish', () => act(() => api(`/${platform}/publish`, {
    method: 'POST', body: JSON.stringify({ product_id: product.id }),
  })), { testId: `publish-${product.id}` });
  publish.disabled = !canPublish;
  return element('tr', { attrs: { 'data-product': product.id } }, [
    element('td', {}, [checkbox]), photos, element('td', { text: product.title }),
    element('td', { text: formatPrice(product.price_cents, product.currency) }), listingCell,
    element('td', {}, [publish]),
  ]);
}

function queueRow(queue) {
  const { done = 0, total = null, current_step: step } = queue.progress ?? {};
  const progress = element('progress', { attrs: { max: String(total ?? 1), value: String(done) } });
  progress.setAttribute('aria-label', `step ${done} of ${total ?? '?'}`);
  const progressCell = element('td', {}, [progress,
    element('span', { className: 'step', text: `${done}/${total ?? '?'}${step ? ` · ${step}` : ''}` })]);
  const message = queue.paused_reason
    ? element('span', { className: 'paused', text: queue.paused_reason })
    : queue.error_message ? element('span', { className: 'error', text: queue.error_message }) : null;
  const actions = element('td');
  const path = `/queues/${queue.id}`;
  if (queue.status === 'failed' || queue.status === 'cancelled') {
    actions.append(button('Retry', () => act(() => api(`${path}/retry`, { method: 'POST' })), { testId: `retry-${queue.id}` }));
  }
  if (queue.status === 'paused') {
    actions.append(button('Resume', () => act(() => api(`${path}/resume`, { method: 'POST' })), { testId: `resume-${queue.id}` }));
  }
  if (['queued', 'processing', 'paused'].includes(queue.status)) {
    actions.append(' ', button('Cancel', () => act(() => api(`${path}/cancel`, { method: 'POST' })), { secondary: true, testId: `cancel-${queue.id}` }));
  }
  return element('tr', { attrs: { 'data-queue': queue.id, 'data-status': queue.status } }, [
    element('td', { text: String(queue.id) }), element('td', { text: queue.product_title ?? `#${queue.product_id ?? '–'}` }),
    element('td', { text: queue.platform }), element('td', {}, [badge(queue.status)]),
    progressCell, element('td', {}, [message]), actions,
  ]);
}

function render() {
  $('#products tbody').replaceChildren(...state.products.map(productRow));
  $('#queues tbody').replaceChildren(...state.queues.map(queueRow));
  $('#publish-selected').disabled = state.selected.size === 0;
}

async function refresh() {
  if (state.busy) return;
  state.busy = true;
  try {
    const [products, queues, listings] = await Promise.all([
      api('/products?limit=500'), api('/queues?limit=100'), api('/listings'),
    ]);
    Object.assign(state, { products, queues, listings });
    $('#connection').textContent = 'live';
    $('#signed-out').hidden = true;
    render();
  } catch (error) {
    const signedOut = error.status === 401;
    $('#signed-out').hidden = !signedOut;
    $('#connection').textContent = signedOut ? 'signed out' : 'host unreachable';
  } finally {
    state.busy = false;
  }
}

$('#publish-selected').addEventListener('click', () => act(async () => {
  const results = await api('/products/publish', {
    method: 'POST',
    body: JSON.stringify({ platform: $('#platform').value, product_ids: [...state.selected] }),
  });
  state.selected.clear();
  const failures = results.filter((r) => r.error).map((r) => `#${r.product_id}: ${r.error.message}`);
  if (failures.length) throw new Error(failures.join(' · '));
}));

$('#select-all').addEventListener('change', (event) => {
  state.selected = event.target.checked ? new Set(state.products.map((p) => p.id)) : new Set();
  render();
});
$('#platform').addEventListener('change', render);

refresh();
setInterval(refresh, POLL_MS);
