// Popup: connection state, host version and the queues, with Retry / Cancel / Resume.
// Everything the host knows comes through the background (src/messages.js); the popup never
// opens its own native port. All data is rendered with textContent, never as HTML.

import { getBrowserApi } from "./src/browser.js";
import { isVintedDomain } from "./src/domains.js";
import { callBackground, CONNECTION_STORAGE_KEY, MessageType } from "./src/messages.js";
import { loadVintedDomain, VINTED_DOMAIN_KEY } from "./src/settings.js";
import { ACTION_METHODS, describeConnection, describeQueue, loginUrl } from "./src/view-model.js";

const REFRESH_MS = 2_000;
const QUEUE_LIMIT = 50;
const ACTION_LABELS = { retry: "Retry", cancel: "Cancel", resume: "Resume" };

const api = getBrowserApi();
const $ = (id) => document.getElementById(id);
let vintedDomain = null;
let connected = false;
let refreshing = false;

function setTone(element, tone) {
  element.className = element.className.replace(/\btone-\w+/g, "").trim();
  element.classList.add(`tone-${tone}`);
}

function renderConnection(status) {
  const view = describeConnection(status);
  connected = view.connected;
  setTone($("connection-dot"), view.tone);
  $("connection-label").textContent = view.label;
  $("host-version").textContent = view.hostVersion ? `host ${view.hostVersion}` : "";
  $("connection-detail").textContent = view.detail;
  $("connection-detail").hidden = view.detail === "";
  $("reconnect").hidden = view.connected || view.state === "connecting";
}

async function loadConnection() {
  try {
    renderConnection((await callBackground(api.runtime, { type: MessageType.STATUS })).status);
  } catch {
    // Background not answering yet: show what it stored last.
    const stored = await api.storage.local.get(CONNECTION_STORAGE_KEY);
    renderConnection(stored[CONNECTION_STORAGE_KEY]);
  }
}

function renderProgress(element, progress) {
  const box = element.querySelector(".queue-progress");
  if (!progress) return;
  box.hidden = false;
  box.querySelector(".progress-text").textContent = progress.text;
  const bar = box.querySelector(".bar");
  if (progress.fraction === null) bar.hidden = true;
  else box.querySelector(".bar-fill").style.width = `${Math.round(progress.fraction * 100)}%`;
}

function renderActions(container, view) {
  for (const action of view.actions) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = ACTION_LABELS[action];
    button.addEventListener("click", () => runAction(button, action, view.id));
    container.append(button);
  }
}

function renderQueue(queue) {
  const view = describeQueue(queue);
  const element = $("queue-template").content.firstElementChild.cloneNode(true);
  element.querySelector(".queue-title").textContent = view.title;
  const badge = element.querySelector(".badge");
  badge.textContent = view.badge.label;
  setTone(badge, view.badge.tone);
  renderProgress(element, view.progress);
  if (view.error) {
    const error = element.querySelector(".queue-error");
    error.textContent = view.error;
    error.hidden = false;
  }
  if (view.pausedReason) {
    const paused = element.querySelector(".queue-paused");
    paused.querySelector(".paused-reason").textContent = view.pausedReason;
    paused.querySelector(".login-link").href = loginUrl(vintedDomain);
    paused.hidden = false;
  }
  renderActions(element.querySelector(".queue-actions"), view);
  return element;
}

function showQueuesMessage(text) {
  $("queues-message").textContent = text;
  $("queues-message").hidden = text === "";
}

async function refreshQueues() {
  if (refreshing) return;
  refreshing = true;
  try {
    if (!connected) {
      showQueuesMessage("Queues appear once the StoFlow host is connected.");
      $("queues").replaceChildren();
      return;
    }
    const { result } = await callBackground(api.runtime, { type: MessageType.CALL, method: "queues.list", params: { limit: QUEUE_LIMIT } });
    const queues = Array.isArray(result) ? result : [];
    showQueuesMessage(queues.length === 0 ? "Nothing queued." : "");
    $("queues").replaceChildren(...queues.map(renderQueue));
  } catch (error) {
    showQueuesMessage(`Could not load queues: ${error.message}`);
  } finally {
    refreshing = false;
  }
}

async function runAction(button, action, queueId) {
  button.disabled = true;
  try {
    await callBackground(api.runtime, { type: MessageType.CALL, method: ACTION_METHODS[action], params: { queue_id: queueId } });
  } catch (error) {
    showQueuesMessage(`${ACTION_LABELS[action]} failed: ${error.message}`);
    return;
  } finally {
    button.disabled = false;
  }
  await refreshQueues();
}

/** Firefox lets the seller revoke host access at any time; without it every request fails. */
async function checkHostPermission() {
  const origins = [`https://${vintedDomain}/*`];
  const granted = await api.permissions.contains({ origins }).catch(() => true);
  $("permission").hidden = granted;
  $("permission-domain").textContent = vintedDomain;
  $("grant-permission").onclick = () => {
    // permissions.request must run directly in the click handler (user gesture), no await before it.
    api.permissions.request({ origins }).then((ok) => {
      $("permission").hidden = ok;
    });
  };
}

function watchStorage() {
  api.storage.onChanged.addListener((changes, area) => {
    if (area === "local" && changes[CONNECTION_STORAGE_KEY]) {
      renderConnection(changes[CONNECTION_STORAGE_KEY].newValue);
      refreshQueues();
    }
    if (changes[VINTED_DOMAIN_KEY] && isVintedDomain(changes[VINTED_DOMAIN_KEY].newValue)) {
      vintedDomain = changes[VINTED_DOMAIN_KEY].newValue;
      $("vinted-domain").textContent = vintedDomain;
      checkHostPermission();
    }
  });
}

async function main() {
  vintedDomain = await loadVintedDomain(api.storage);
  $("vinted-domain").textContent = vintedDomain;
  $("reconnect").addEventListener("click", async () => {
    const reply = await callBackground(api.runtime, { type: MessageType.RECONNECT }).catch(() => null);
    if (reply) renderConnection(reply.status);
  });
  $("open-options").addEventListener("click", (event) => {
    event.preventDefault();
    api.runtime.openOptionsPage();
  });
  watchStorage();
  await Promise.all([loadConnection(), checkHostPermission()]);
  await refreshQueues();
  setInterval(refreshQueues, REFRESH_MS);
}

main();
