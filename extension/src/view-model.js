// What the popup shows, computed from host data without touching the DOM (so it is tested
// in node). The popup only turns these plain objects into elements.

const QUEUE_BADGES = Object.freeze({
  queued: { label: "Queued", tone: "neutral" },
  processing: { label: "Running", tone: "info" },
  completed: { label: "Done", tone: "ok" },
  failed: { label: "Failed", tone: "error" },
  paused: { label: "Paused", tone: "warn" },
  cancelled: { label: "Cancelled", tone: "muted" },
});

const QUEUE_ACTIONS = Object.freeze({
  queued: ["cancel"],
  processing: ["cancel"],
  failed: ["retry", "cancel"],
  paused: ["resume", "cancel"],
});

const CONNECTION_LABELS = Object.freeze({
  connected: { label: "Connected", tone: "ok" },
  connecting: { label: "Connecting…", tone: "info" },
  not_installed: { label: "Host not installed", tone: "error" },
  disconnected: { label: "Host stopped", tone: "warn" },
  error: { label: "Connection error", tone: "error" },
});

function describeProgress(queue) {
  const progress = queue.progress;
  const total = Number(progress?.total);
  const stepName = progress?.current_step || queue.current_step || "";
  if (!Number.isFinite(total) || total <= 0) {
    return stepName ? { text: stepName, fraction: null } : null;
  }
  const done = Math.min(Math.max(Number(progress.done) || 0, 0), total);
  const finished = queue.status === "completed";
  const step = finished ? total : Math.min(done + 1, total);
  const text = `Step ${step} of ${total}${stepName && !finished ? ` · ${stepName}` : ""}`;
  return { text, fraction: finished ? 1 : done / total };
}

export function describeQueue(queue) {
  const status = String(queue?.status ?? "unknown");
  const product = queue.product_id !== undefined && queue.product_id !== null ? ` · product ${queue.product_id}` : "";
  // The seller recognises a title; older hosts send only the product id.
  const title = queue.product_title
    ? `${queue.product_title} · ${queue.platform ?? "?"}`
    : `${queue.platform ?? "?"} · ${queue.operation ?? "operation"}${product}`;
  return {
    id: queue.id,
    title,
    badge: QUEUE_BADGES[status] ?? { label: status, tone: "neutral" },
    progress: describeProgress(queue),
    error: status === "failed" ? queue.error_message || "Failed without a message." : null,
    pausedReason: status === "paused" ? queue.paused_reason || queue.error_message || "Waiting for you." : null,
    actions: QUEUE_ACTIONS[status] ?? [],
  };
}

export function describeConnection(status) {
  const state = status?.state ?? "connecting";
  const base = CONNECTION_LABELS[state] ?? { label: state, tone: "neutral" };
  const retry = status?.retry_in_ms ? ` Retrying in ${Math.ceil(status.retry_in_ms / 1000)} s.` : "";
  return {
    ...base,
    state,
    connected: state === "connected",
    detail: state === "connected" ? "" : `${status?.message ?? ""}${retry}`.trim(),
    hostVersion: status?.host_version ?? null,
  };
}

/** Where the seller logs in again: the site's home page, which offers the login. */
export function loginUrl(domain) {
  return `https://${domain}/`;
}

/** Host method for each popup action button. */
export const ACTION_METHODS = Object.freeze({
  retry: "queues.retry",
  cancel: "queues.cancel",
  resume: "queues.resume",
});
