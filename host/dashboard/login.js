// Trades the one-time code in the address for a session kept in this tab's
// sessionStorage (bound to this exact origin and port), then opens the
// dashboard. The code is removed from the address bar and history at once.
const code = new URLSearchParams(location.search).get('code') ?? '';
history.replaceState(null, '', '/login.html');

const response = await fetch('/api/dashboard/session', {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ code }),
}).catch(() => null);
const body = await response?.json().catch(() => null);
if (response?.ok && body?.session) {
  sessionStorage.setItem('stoflow-session', body.session);
  location.replace('/');
} else {
  document.querySelector('#status').textContent =
    body?.error?.message ?? 'The host did not answer. Is `stoflow-host serve` running?';
}
