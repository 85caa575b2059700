// HTML pages of the fake site. They only carry what a client reads from the real pages: the
// CSRF token (in a meta tag and in the inline config script, the two places tools scrape it
// from), the login button a browser test clicks, the shape of a bot challenge, and an item page
// for the demo.

import { escapeHtml } from './http-util.mjs';

export function homePage({ csrfToken, anonId, user }) {
  // The config object is JSON inside a script, as on the real site; `"CSRF_TOKEN":"..."` must
  // appear verbatim because clients find it with a plain string or regex search.
  const config = JSON.stringify({ CSRF_TOKEN: csrfToken, ANON_ID: anonId, USER: user ?? null })
    .replace(/</g, '\\u003c');
  const account = user
    ? `<span id="account" data-user="${escapeHtml(user)}">Connecté : ${escapeHtml(user)}</span>`
    : '<a id="login-link" href="/member/login">S\'inscrire | Se connecter</a>';
  return page('Vinted | Vends et achète des vêtements', `
  <meta name="csrf-param" content="authenticity_token">
  <meta name="csrf-token" content="${escapeHtml(csrfToken)}">`, `
  <header><a href="/">Vinted</a> ${account}</header>
  <main><h1>Prêt à faire du tri dans tes placards ?</h1><a href="/items/new">Vends maintenant</a></main>
  <script>window.__FAKE_VINTED__ = true; self.__vinted_config = ${config};</script>`);
}

export function loginPage({ refUrl }) {
  return page('Connexion | Vinted', '', `
  <main>
    <h1>Connecte-toi</h1>
    <form id="login-form" method="post" action="/member/login">
      <input type="hidden" name="ref_url" value="${escapeHtml(refUrl)}">
      <label>Utilisateur <input name="login" value="seller"></label>
      <button id="login-button" type="submit">Se connecter</button>
    </form>
  </main>`);
}

// Modelled on a DataDome interstitial: an HTML document where JSON was expected.
export function challengePage() {
  return page('vinted.fr', '', `
  <p id="cmsg">Please enable JS and disable any ad blocker</p>
  <script data-cfasync="false">var dd={'rt':'c','cid':'AHrlqAAAAAMA','hsh':'F8B0F04BEDF8D0A2','t':'fe','s':33125,'e':'fake','host':'geo.captcha-delivery.com'}</script>`);
}

export function itemPage(item) {
  const { title, description, price, currency } = item.fields;
  return page(`${title} | Vinted`, '', `
  <main>
    <h1 id="item-title">${escapeHtml(title)}</h1>
    <p id="item-price">${escapeHtml(price)} ${escapeHtml(currency)}</p>
    <p id="item-description">${escapeHtml(description)}</p>
    <p>${item.fields.assigned_photos.length} photo(s)</p>
  </main>`);
}

function page(title, head, body) {
  return `<!DOCTYPE html>
<html lang="fr">
<head>
  <meta charset="utf-8">
  <title>${escapeHtml(title)}</title>${head}
</head>
<body>${body}
</body>
</html>
`;
}
